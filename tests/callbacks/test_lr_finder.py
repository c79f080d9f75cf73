import inspect
import math

import keras
import matplotlib.figure
import numpy as np
import pytest

from keras_smithing import find_learning_rate
from keras_smithing.callbacks import LRFinderResult
from keras_smithing.callbacks.lr_finder import _steepest_descent
from keras_smithing.optimizers import Lookahead
from keras_smithing.optimizers.schedules import OneCycle, ScaledSchedule
from tests import harness

X = harness.random_data((256, 4))
Y = X @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")


def regression_model(optimizer="sgd"):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def state(model):
    return [np.array(v) for v in model.weights + model.optimizer.variables]


def test_leaves_the_callers_model_and_optimizer_untouched():
    model = regression_model(Lookahead(keras.optimizers.Adam(0.01), sync_period=3))
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0)  # Optimizer state exists.
    before, config = state(model), model.optimizer.get_config()
    result = find_learning_rate(model, X, Y, num_steps=30, seed=0)
    after = state(model)
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.get_config() == config
    assert len(result.losses) > 3


def test_sweep_smoothing_divergence_and_suggestion():
    result = find_learning_rate(
        regression_model(keras.optimizers.SGD()), X, Y, num_steps=100, seed=0
    )
    # Geometric sweep from min_lr to max_lr over num_steps.
    n = len(result.learning_rates)
    expected = 1e-7 * (10.0 / 1e-7) ** (np.arange(n) / 99)
    np.testing.assert_allclose(result.learning_rates, expected, rtol=1e-4)
    # Bias-corrected exponential moving average of the losses.
    average = 0.0
    for i, loss in enumerate(result.losses):
        average = 0.98 * average + 0.02 * loss
        assert result.smoothed_losses[i] == pytest.approx(
            average / (1 - 0.98 ** (i + 1))
        )
    # SGD on this quadratic (Hessian ~ 2 I) diverges above lr ~ 1: stopped early.
    assert result.diverged and n < 100
    assert 1e-3 < result.suggested_lr < 1.0
    assert isinstance(result.plot(), matplotlib.figure.Figure)
    # One-cycle peak: a tenth of the LR at the smoothed minimum after the warm-up.
    assert result.warmup_steps == 5
    best = result.learning_rates[5 + np.argmin(result.smoothed_losses[5:])]
    assert result.one_cycle_max_lr == pytest.approx(best / 10)
    schedule = result.one_cycle(200, warmup_fraction=0.25)
    assert isinstance(schedule, OneCycle)
    assert schedule.get_config()["warmup_fraction"] == 0.25
    assert float(schedule(50)) == pytest.approx(best / 10, rel=1e-5)


def test_a_lucky_first_batch_does_not_hide_the_suggestion():
    # CI once drew a first batch whose loss stayed below every later smoothed
    # value; the suggestion must come from the descent after the warm-up.
    rates = np.geomspace(1e-3, 0.5, 20)
    smoothed = np.concatenate([[10.0, 16.0], np.linspace(15.0, 10.5, 18)])
    suggested = _steepest_descent(rates, smoothed, window=1)
    assert rates[1] <= suggested <= rates[19]
    # The one-cycle peak comes from the same minimum, not from step 0.
    result = LRFinderResult(rates, smoothed, smoothed, suggested, False, 1)
    assert result.one_cycle_max_lr == pytest.approx(rates[19] / 10)
    # A curve that ended within its warm-up still gives a peak.
    short = LRFinderResult(rates[:2], smoothed[:2], smoothed[:2], math.nan, True, 5)
    assert short.one_cycle_max_lr == pytest.approx(rates[0] / 10)


def test_one_cycle_without_a_finite_loss():
    nan = np.array([np.nan])
    result = LRFinderResult(np.array([1e-3]), nan, nan, math.nan, True)
    assert math.isnan(result.one_cycle_max_lr)
    with pytest.raises(ValueError, match="`max_learning_rate`"):
        result.one_cycle(100)


def test_dataset_input_and_plot_file(tmp_path):
    for name, dataset in harness.batched_datasets(X, Y, batch_size=32).items():
        result = find_learning_rate(
            regression_model(), dataset, min_lr=1e-4, max_lr=1.0, num_steps=20
        )
        assert len(result.losses) == 20 and not result.diverged, name
    result.plot(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0


def test_bad_arguments():
    model = regression_model()
    cases = [
        ({"min_lr": 1.0, "max_lr": 1.0}, "`min_lr`.*max_lr=1.0"),
        ({"min_lr": 0.0}, "`min_lr`"),
        ({"max_lr": -1.0}, "`max_lr`"),
        ({"num_steps": 1}, "`num_steps`"),
        ({"smoothing": 1.0}, "`smoothing`"),
        ({"divergence_threshold": 0.5}, "`divergence_threshold`"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            find_learning_rate(model, X, Y, **kwargs)
    uncompiled = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="`model`.*compiled"):
        find_learning_rate(uncompiled, X, Y)


class Halving(keras.optimizers.schedules.LearningRateSchedule):
    """A user's schedule that is deliberately NOT registered."""

    def __call__(self, step):
        return 0.1 * keras.ops.power(0.5, keras.ops.cast(step, "float32"))

    def get_config(self):
        return {}


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: keras.optimizers.SGD(Halving()),
        lambda: Lookahead(keras.optimizers.SGD(Halving())),
        lambda: keras.optimizers.SGD(ScaledSchedule(Halving(), 0.5)),
        lambda: keras.optimizers.SGD(
            keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
        ),
    ],
    ids=["sgd", "lookahead", "scaled", "registered"],
)
def test_schedules(make_optimizer):
    # Issue #18 bug 8: plain fit trains with an unregistered schedule, so must this.
    model = regression_model(make_optimizer())
    result = find_learning_rate(
        model, X, Y, min_lr=1e-3, max_lr=0.5, num_steps=20, seed=0
    )
    assert len(result.losses) == 20 and math.isfinite(result.suggested_lr)
    assert isinstance(model.optimizer.get_config(), dict)


def test_one_cycle_takes_the_schedule_arguments_by_name():
    # `result.one_cycle` names what `OneCycle` takes after its peak, with its
    # defaults (no `**kwargs` that `help()` cannot show).
    ours = list(inspect.signature(LRFinderResult.one_cycle).parameters.values())
    schedule = list(inspect.signature(OneCycle).parameters.values())
    assert ours[1:] == schedule[1:]
