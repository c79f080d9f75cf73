import types
import warnings

import keras
import keras_tuner
import numpy as np
import pytest

from keras_smithing.tuners import (
    CoarseToFine,
    CoarseToFineOracle,
    MedianPruner,
    PercentilePruner,
    plot_search,
    read_records,
)
from tests import harness

# Loss curves by trial number. With a median pruner that waits for 3 finished
# trials and 1 warm-up step: trial 3 is below the median of trials 0-2 at step 1
# (0.75 < 0.8) but above it at step 2 (0.65 > 0.6), trial 4 above it at step 1
# (0.95 > 0.8), trial 5 never (the median now excludes the pruned trials).
CURVES = [
    [1.0, 0.8, 0.6, 0.5],
    [1.0, 0.7, 0.5, 0.4],
    [1.0, 0.9, 0.7, 0.6],
    [1.0, 0.75, 0.65, 0.9],
    [1.0, 0.95, 0.9, 0.9],
    [1.0, 0.6, 0.5, 0.3],
]
PRUNED_AT = {"3": 2, "4": 1}


def _scripted_oracle(pruner, objective="loss"):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    return CoarseToFineOracle(
        objective,
        max_trials=len(CURVES),
        trials_per_round=3,
        hyperparameters=hp,
        seed=0,
        pruner=pruner,
    )


def _run_curve(oracle, trial, sign=1.0):
    """Reports the trial's scripted curve epoch by epoch until it is stopped."""
    name = oracle.objective.name
    for step, value in enumerate(CURVES[int(trial.trial_id)]):
        reported = oracle.update_trial(trial.trial_id, {name: sign * value}, step)
        if reported.status == "STOPPED":
            break
    return "COMPLETED"


def test_median_pruner_stops_trials_below_the_median_at_the_right_epoch(tmp_path):
    oracle = harness.check_oracle(
        lambda: _scripted_oracle(MedianPruner(n_startup_trials=3, n_warmup_steps=1)),
        _run_curve,
        len(CURVES),
        tmp_path,
    )
    assert oracle.pruned_trials() == PRUNED_AT
    for trial_id, trial in oracle.trials.items():
        steps = trial.metrics.get_history("loss")
        ran = PRUNED_AT.get(trial_id, len(CURVES[0]) - 1) + 1
        assert [o.step for o in steps] == list(range(ran))
        # Pruned or not, a trial ends COMPLETED with the best value it reached.
        assert trial.status == "COMPLETED"
        assert trial.score == min(CURVES[int(trial_id)][:ran])
    # Pruned trials count as ended for the rounds: 6 trials, 3 per round.
    assert oracle.get_state()["coarse_to_fine"]["round_start"] == 3


def test_percentile_pruner_on_a_maximized_objective(tmp_path):
    # Accuracy = -loss: the same decisions as with the median. Keeping the best
    # 90 % spares trial 3 until its loss rises at step 3 (0.9 against 0.4-0.6).
    oracle = harness.check_oracle(
        lambda: _scripted_oracle(PercentilePruner(50.0, 3, 1), objective="accuracy"),
        lambda oracle, trial: _run_curve(oracle, trial, sign=-1.0),
        len(CURVES),
        tmp_path,
    )
    assert oracle.pruned_trials() == PRUNED_AT
    lenient = _scripted_oracle(PercentilePruner(90.0, n_startup_trials=3))
    lenient._set_project_dir(str(tmp_path), "lenient")
    harness._run_oracle(lenient, _run_curve, len(CURVES))
    assert lenient.pruned_trials() == {"3": 3, "4": 1}


@pytest.mark.parametrize("direction", ["min", "max"])
def test_percentile_matches_numpy(direction):
    rng = np.random.default_rng(0)
    reference = list(rng.normal(size=9))
    pruner = PercentilePruner(30.0, n_startup_trials=2)
    cut = np.percentile(reference, 30.0 if direction == "min" else 70.0)
    for value in rng.normal(size=20):
        expected = value > cut if direction == "min" else value < cut
        assert pruner.should_prune(value, 1, reference, 9, direction) == expected
    # Warm-up, startup and the minimum number of reported values.
    assert not pruner.should_prune(1e9, 0, reference, 9, "min")
    assert not pruner.should_prune(1e9, 1, reference, 1, "min")
    assert not PercentilePruner(30.0, n_min_trials=10).should_prune(
        1e9, 1, reference, 9, "min"
    )


@pytest.mark.parametrize(
    "pruner",
    [MedianPruner(n_startup_trials=2, n_warmup_steps=3), PercentilePruner(25.0)],
)
def test_pruner_config_round_trip(pruner):
    config = keras.saving.serialize_keras_object(pruner)
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(pruner)
    assert restored.get_config() == pruner.get_config()


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: MedianPruner(n_warmup_steps=0), "n_warmup_steps"),
        (lambda: MedianPruner(n_startup_trials=-1), "n_startup_trials"),
        (lambda: PercentilePruner(0.0), "percentile"),
        (lambda: PercentilePruner(100), "percentile"),
        (lambda: PercentilePruner(50.0, n_min_trials=0), "n_min_trials"),
        (lambda: CoarseToFineOracle("loss", pruner="median"), "pruner"),
        (
            lambda: CoarseToFineOracle(["loss", "val_loss"], pruner=MedianPruner()),
            "pruner",
        ),
    ],
)
def test_bad_arguments(make, argument):
    with pytest.raises(ValueError, match=f"argument `{argument}`"):
        make()


class CurveTuner(CoarseToFine):
    """Trains nothing: `run_trial` plays a loss curve of x through the epoch hooks."""

    def __init__(self, *args, kill_at=None, epochs=6, **kwargs):
        super().__init__(*args, **kwargs)
        self.kill_at, self.epochs, self.calls = kill_at, epochs, 0

    def run_trial(self, trial, *args, **kwargs):
        self.calls += 1
        if self.calls == self.kill_at:
            raise KeyboardInterrupt()
        x = trial.hyperparameters.Float("x", 0.0, 1.0)
        model = types.SimpleNamespace(stop_training=False)
        history = keras.callbacks.History()
        history.history = {"loss": []}
        for epoch in range(self.epochs):
            logs = {"loss": (x - 0.3) ** 2 + 1.0 / (epoch + 1)}
            self.on_epoch_begin(trial, model, epoch, logs=logs)
            self.on_epoch_end(trial, model, epoch, logs=logs)
            history.history["loss"].append(logs["loss"])
            if model.stop_training:
                break
        return history


def _curve_search(directory, name, **kwargs):
    tuner = CurveTuner(
        objective="loss",
        max_trials=12,
        trials_per_round=4,
        seed=0,
        pruner=MedianPruner(n_startup_trials=2),
        directory=str(directory),
        project_name=name,
        **kwargs,
    )
    tuner.search(verbose=0)
    return tuner


def test_resumed_search_keeps_pruned_statuses(tmp_path):
    reference = _curve_search(tmp_path, "reference")
    pruned = reference.oracle.pruned_trials()
    assert 3 <= len(pruned) < 12
    with pytest.raises(KeyboardInterrupt):
        _curve_search(tmp_path, "resumed", kill_at=9)
    resumed = _curve_search(tmp_path, "resumed", overwrite=False)
    assert resumed.calls == 12 - 8
    assert resumed.oracle.pruned_trials() == pruned
    for tuner in (reference, resumed):
        records, _ = read_records(tuner.project_dir)
        statuses = {r["trial_id"]: r["status"] for r in records}
        assert {t for t, s in statuses.items() if s == "PRUNED"} == set(pruned)
        assert set(statuses.values()) == {"COMPLETED", "PRUNED"}
        for r in records:
            epochs = len(r["epoch_metrics"]["loss"])
            assert epochs == (
                pruned[r["trial_id"]] + 1 if r["status"] == "PRUNED" else 6
            )
            assert r["score"] == pytest.approx(min(r["epoch_metrics"]["loss"]))
    figure = plot_search(resumed.project_dir)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert "pruned" in labels


def test_warns_once_when_nothing_can_be_pruned(tmp_path):
    with pytest.warns(UserWarning, match="`pruner` is set but `objective` is None"):
        CoarseToFineOracle(pruner=MedianPruner())
    tuner = CurveTuner(
        objective="val_loss",  # Not in the logs the curve tuner writes.
        max_trials=3,
        seed=0,
        pruner=MedianPruner(n_startup_trials=1),
        directory=str(tmp_path),
        project_name="no_val",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="consecutive failures"):
            tuner.search(verbose=0)
    messages = [str(w.message) for w in caught if "`pruner`" in str(w.message)]
    assert len(messages) == 1
    assert "no `val_loss`" in messages[0]


def _build(hp):
    # Trial 0 learns (lr 0.5); trial 1 does not (lr 0) and is pruned at epoch 1.
    learning_rate = hp.Choice("learning_rate", [0.5, 0.0])
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(2, "softmax")])
    model.compile(
        keras.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy"
    )
    return model


def test_a_pruned_keras_trial_stops_training(tmp_path):
    x = harness.random_data((64, 12))
    y = (x[:, 0] > 0).astype("int32")
    hp = keras_tuner.HyperParameters()
    hp.Choice("learning_rate", [0.5, 0.0])
    tuner = CoarseToFine(
        _build,
        "loss",
        max_trials=2,
        seed=0,
        hyperparameters=hp,
        pruner=MedianPruner(n_startup_trials=1),
        directory=str(tmp_path),
        project_name="keras",
    )
    # Draw trial 0 with lr 0.5 and trial 1 with lr 0.
    values = iter([{"learning_rate": 0.5}, {"learning_rate": 0.0}])
    tuner.oracle.populate_space = lambda trial_id: {
        "status": "RUNNING",
        "values": next(values),
    }
    tuner.search(x, y, epochs=4, batch_size=32, verbose=0)
    records, _ = read_records(tuner.project_dir)
    assert [r["status"] for r in records] == ["COMPLETED", "PRUNED"]
    assert [len(r["epoch_metrics"]["loss"]) for r in records] == [4, 2]
    assert tuner.oracle.pruned_trials() == {"1": 1}
