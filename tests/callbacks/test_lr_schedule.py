import keras
import numpy as np
import pytest

from keras_smithing import callbacks
from keras_smithing.callbacks import ReduceLROnPlateau
from keras_smithing.optimizers import Lookahead
from keras_smithing.optimizers.schedules import ScaledSchedule
from tests import harness

X, Y = np.ones((4, 1), "float32"), np.zeros((4, 1), "float32")


def constant_schedule(lr=0.1):
    return keras.optimizers.schedules.PiecewiseConstantDecay([10**6], [lr, lr])


def one_weight_model(optimizer):
    """loss = w^2 on the data above, so an SGD step is w <- w (1 - 2 lr)."""
    inputs = keras.Input((1,))
    layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=optimizer, loss="mse")
    return model


def plateau(**kwargs):
    # min_delta=10: no epoch after the first counts as an improvement.
    return ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=1, min_delta=10, **kwargs
    )


def test_harness_float_learning_rate():
    history = harness.check_callback(
        ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10),
        epochs=3,
    )
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.01, 0.005])


def test_harness_scaled_schedule():
    assert callbacks.ScaledSchedule is ScaledSchedule  # Its former home.
    harness.check_optimizer(
        lambda: keras.optimizers.SGD(ScaledSchedule(constant_schedule(), 0.5))
    )


@pytest.mark.distributed
def test_distributed_scaled_schedule():
    x, y = harness.random_data((32, 5)), harness.random_data((32, 2), seed=1)
    model = harness.check_distributed_fit(
        lambda: keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)]),
        x,
        y,
        optimizer_fn=lambda: keras.optimizers.SGD(
            ScaledSchedule(constant_schedule(), 0.5)
        ),
    )
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: keras.optimizers.SGD(constant_schedule()),
        lambda: Lookahead(
            keras.optimizers.SGD(constant_schedule()), sync_period=1, slow_step_size=1.0
        ),
        lambda: keras.optimizers.LossScaleOptimizer(
            keras.optimizers.SGD(constant_schedule())
        ),
    ],
    ids=["sgd", "lookahead", "loss_scale"],
)
def test_reduces_a_schedule(make_optimizer):
    model = one_weight_model(make_optimizer())
    history = model.fit(X, Y, batch_size=4, epochs=4, verbose=0, callbacks=[plateau()])
    # Reductions after epochs 2 and 3; the steps of epochs 3 and 4 use them.
    np.testing.assert_allclose(
        history.history["learning_rate"], [0.1, 0.1, 0.05, 0.025]
    )
    w = model.get_weights()[0].item()
    assert w == pytest.approx(0.8 * 0.8 * 0.9 * 0.95, rel=1e-5)


def test_min_lr_bounds_the_schedule():
    model = one_weight_model(keras.optimizers.SGD(constant_schedule()))
    history = model.fit(
        X, Y, batch_size=4, epochs=5, verbose=0, callbacks=[plateau(min_lr=0.04)]
    )
    np.testing.assert_allclose(
        history.history["learning_rate"], [0.1, 0.1, 0.05, 0.04, 0.04]
    )


def test_schedule_shape_is_kept_and_saved(tmp_path):
    schedule = keras.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=1, decay_rate=0.5
    )
    model = one_weight_model(keras.optimizers.SGD(schedule))
    model.fit(X, Y, batch_size=4, epochs=3, verbose=0, callbacks=[plateau()])
    # 3 steps taken; scale 0.5 after epoch 2 and 0.25 after epoch 3.
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 * 0.5**3 * 0.25)
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(0.1 * 0.5**3 * 0.25)


def test_bad_arguments():
    for factor in (1.0, 0.0, 2.0):
        with pytest.raises(ValueError, match="`factor`.*Received: factor="):
            ReduceLROnPlateau(factor=factor)
    with pytest.raises(ValueError, match="`scale`"):
        ScaledSchedule(constant_schedule(), scale=0.0)
    with pytest.raises(ValueError, match="`schedule`"):
        ScaledSchedule(0.1)


class Halving(keras.optimizers.schedules.LearningRateSchedule):
    """A user's schedule that is deliberately NOT registered: lr * 0.5**step."""

    def __init__(self, lr=0.1):
        self.lr = lr

    def __call__(self, step):
        return self.lr * keras.ops.power(0.5, keras.ops.cast(step, "float32"))

    def get_config(self):
        return {"lr": self.lr}


def test_reduces_an_unregistered_schedule():
    # Issue #18 bug 8: plain fit trains with an unregistered schedule, so must this.
    model = one_weight_model(keras.optimizers.SGD(Halving()))
    history = model.fit(X, Y, batch_size=4, epochs=3, verbose=0, callbacks=[plateau()])
    # Logged after each epoch's step: 0.1 * 0.5**step, scaled by 0.5 after epoch 2.
    np.testing.assert_allclose(
        history.history["learning_rate"], [0.05, 0.025, 0.0125 * 0.5], rtol=1e-6
    )
