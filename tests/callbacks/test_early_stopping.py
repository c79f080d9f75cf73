import keras
import numpy as np
import pytest

from keras_smithing.callbacks import PrecheltEarlyStopping
from tests import harness


def tiny_model():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def replay(callback, val, train=None):
    """Feeds scripted epoch logs; returns the 1-based epoch it stopped after.

    Before epoch t's logs the model's weights are set to t, so the restored
    weights show which epoch they come from.
    """
    model = tiny_model()
    callback.set_model(model)
    callback.on_train_begin()
    stopped = None
    for epoch, value in enumerate(val):
        model.set_weights([np.full(w.shape, epoch + 1.0) for w in model.get_weights()])
        logs = {"val_loss": value}
        if train is not None:
            logs["loss"] = train[epoch]
        callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            stopped = epoch + 1
            break
    callback.on_train_end()
    return stopped, model.get_weights()[0].flat[0]


VAL = [1.0, 0.8, 0.7, 0.72, 0.73, 0.74, 0.75, 0.69, 0.70, 0.8, 0.9]


def test_harness():
    x, y = harness.random_data((32, 4)), harness.random_data((32, 1), seed=1)
    history = harness.check_callback(
        callback := PrecheltEarlyStopping("UP", threshold=1, strip_length=1),
        epochs=3,
        validation_data=(x, y),
        shuffle=False,
    )
    val = history.history["val_loss"]
    # UP with s=1, k=1 stops at the first epoch whose error rose.
    rose = [t for t in range(1, len(val)) if val[t] > val[t - 1]]
    assert len(val) == (rose[0] + 1 if rose else 3)
    assert callback.stopped == bool(rose)


@pytest.mark.parametrize(
    "threshold, stop_epoch, best_epoch",
    # E_opt = 0.7 from t=3: GL(6) = 100 (0.74/0.7 - 1) = 5.7 > 5; then E_opt =
    # 0.69 from t=8 and GL(10) = 100 (0.8/0.69 - 1) = 15.9 is the first > 10.
    [(5.0, 6, 3), (10.0, 10, 8), (50.0, None, 8)],
)
def test_generalization_loss(threshold, stop_epoch, best_epoch):
    callback = PrecheltEarlyStopping("GL", threshold=threshold)
    stopped, restored = replay(callback, VAL)
    assert stopped == stop_epoch
    assert restored == best_epoch  # Weights of the E_opt epoch, stopped or not.
    assert callback.history[5] == pytest.approx(100 * (0.74 / 0.7 - 1))


def test_successive_increasing_strips():
    # Strip ends (k=2): E(2)=.9, E(4)=.85, E(6)=.75, E(8)=.9 (up), E(10)=1.0 (up).
    # The rise from t=4 to t=5 is inside a strip and does not count.
    val = [1.0, 0.9, 0.8, 0.85, 0.95, 0.75, 0.8, 0.9, 0.95, 1.0, 1.1, 1.2]
    assert replay(PrecheltEarlyStopping("UP", 1, strip_length=2), val)[0] == 8
    assert replay(PrecheltEarlyStopping("UP", 2, strip_length=2), val)[0] == 10
    # A decrease between two increases restarts the count.
    val = [1.0, 0.9, 0.8, 0.95, 0.9, 0.85, 0.8, 0.9, 0.8, 0.95]
    assert replay(PrecheltEarlyStopping("UP", 2, strip_length=2), val)[0] == 10


def test_progress_quotient():
    train = [1.0, 0.8, 0.6, 0.5, 0.45, 0.44, 0.43, 0.43, 0.42, 0.42]
    train += [0.419, 0.418, 0.418, 0.417, 0.417]
    val = [1.0, 0.9, 0.8, 0.75, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75]
    val += [0.9, 0.9, 0.9, 0.9, 0.76]
    callback = PrecheltEarlyStopping("PQ", threshold=0.5)
    stopped, restored = replay(callback, val, train)
    # t=10: GL = 100 (0.75/0.7 - 1) = 7.14, P_5 = 1000 (2.14 / (5 * 0.42) - 1) =
    # 19.05, PQ = 0.375 <= 0.5. t=11..14 are not strip ends (GL 28.6 ignored).
    # t=15: GL = 8.57, P_5 = 1000 (2.089 / 2.085 - 1) = 1.92, PQ = 4.47 > 0.5.
    assert stopped == 15
    assert restored == 5
    assert callback.history[9] == pytest.approx(
        (100 * (0.75 / 0.7 - 1)) / (1000 * (2.14 / 2.1 - 1))
    )
    assert callback.history[14] == pytest.approx(
        (100 * (0.76 / 0.7 - 1)) / (1000 * (2.089 / 2.085 - 1))
    )
    assert replay(PrecheltEarlyStopping("GL", 5.0), val)[0] == 9


def test_progress_quotient_warns_without_training_error():
    with pytest.warns(UserWarning, match="`loss`"):
        assert replay(PrecheltEarlyStopping("PQ"), VAL)[0] is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="`criterion`.*Received: criterion='XX'"):
        PrecheltEarlyStopping("XX")
    for criterion, threshold in [("GL", 0), ("GL", -1.0), ("PQ", 0.0), ("UP", 1.5)]:
        with pytest.raises(ValueError, match="`threshold`.*Received: threshold="):
            PrecheltEarlyStopping(criterion, threshold)
    with pytest.raises(ValueError, match="`strip_length`"):
        PrecheltEarlyStopping("UP", strip_length=0)
    for monitor in ("val_accuracy", "val_sparse_categorical_accuracy", "val_auc"):
        with pytest.raises(
            ValueError, match=f"`monitor`.*Received: monitor='{monitor}'"
        ):
            PrecheltEarlyStopping(monitor=monitor)


def test_non_finite_epochs_are_never_the_best():
    # A NaN first epoch: not the best; GL is infinite, so GL stops at once.
    callback = PrecheltEarlyStopping("GL")
    stopped, _ = replay(callback, [float("nan"), 0.5, 0.4])
    assert stopped == 1 and callback.best is None
    # A divergence later stops and restores the best finite epoch (2).
    callback = PrecheltEarlyStopping("GL")
    stopped, restored = replay(callback, [1.0, 0.8, float("inf"), 0.7])
    assert (stopped, restored, callback.best) == (3, 2.0, 0.8)
    # UP counts strips; a NaN epoch is never the best it restores.
    callback = PrecheltEarlyStopping("UP", threshold=1, strip_length=1)
    stopped, restored = replay(callback, [1.0, float("nan"), 0.9, 0.95])
    assert callback.best == 0.9 and restored == 3.0


def test_verbose_says_when_it_stopped_and_what_it_restored(capsys):
    replay(PrecheltEarlyStopping("GL", threshold=5.0, verbose=1), VAL)
    out = capsys.readouterr().out
    assert "Epoch 6: PrecheltEarlyStopping stops training (GL = 5.714 > 5.0)" in out
    assert "Restoring the weights of epoch 3 (val_loss = 0.7)" in out
