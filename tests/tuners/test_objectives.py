import keras
import keras_tuner
import numpy as np
import pytest

from keras_smithing.tuners import CostAwareObjective, TrialTimer
from tests import harness


def test_trial_timer_harness():
    history = harness.check_callback(TrialTimer(), epochs=3)
    seconds = history.history["trial_seconds"]
    assert len(seconds) == 3
    assert 0 < seconds[0] < seconds[1] < seconds[2]


@pytest.mark.parametrize(
    "direction, expected", [("min", 0.5 + 0.01 * 20), ("max", 0.5 - 0.01 * 20)]
)
def test_score_prices_each_second(direction, expected):
    objective = CostAwareObjective("val_metric", time_weight=0.01, direction=direction)
    assert objective.name == "cost_aware_val_metric"
    logs = {"val_metric": 0.5, "trial_seconds": 20.0}
    assert objective.has_value(logs)
    assert objective.get_value(logs) == pytest.approx(expected)
    # A better score is lower when minimizing, higher when maximizing.
    assert objective.better_than(0.0, 1.0) == (direction == "min")


def test_missing_time_is_an_error_that_says_how_to_fix_it():
    objective = CostAwareObjective("val_loss")
    assert not objective.has_value({"val_loss": 1.0})
    with pytest.raises(ValueError, match="TrialTimer"):
        objective.get_value({"val_loss": 1.0})


def _build(hp):
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(hp.Int("units", 2, 64, sampling="log"), "relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(keras.optimizers.SGD(0.05), "mse", run_eagerly=True)
    return model


def test_works_with_a_stock_kerastuner_tuner(tmp_path):
    objective = CostAwareObjective("val_loss", time_weight=0.5)
    tuner = keras_tuner.RandomSearch(
        _build,
        objective=objective,
        max_trials=1,
        seed=1,
        directory=str(tmp_path),
        project_name="stock",
    )
    x, y = harness.random_data((64, 4)), harness.random_data((64, 1), seed=1)
    tuner.search(
        x, y, validation_split=0.25, epochs=2, verbose=0, callbacks=[TrialTimer()]
    )
    for trial in tuner.oracle.trials.values():
        assert trial.status == "COMPLETED"
        metrics = trial.metrics
        val_loss = metrics.get_last_value("val_loss")
        seconds = metrics.get_last_value("trial_seconds")
        assert seconds > 0
        # The trial's score is its best epoch's val_loss plus 0.5 per second.
        assert trial.score == pytest.approx(val_loss + 0.5 * seconds)
        np.testing.assert_allclose(metrics.get_last_value(objective.name), trial.score)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"time_weight": -1.0}, "time_weight"),
        ({"time_weight": float("inf")}, "time_weight"),
        ({"direction": "up"}, "direction"),
        ({"metric": ""}, "metric"),
        ({"metric": None}, "metric"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        CostAwareObjective(**kwargs)
