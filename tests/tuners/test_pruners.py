import contextlib
import io
import json
import math
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


def optuna_prune(pruner, trial_values, completed, direction):
    """Optuna's `PercentilePruner.prune`, transcribed from
    optuna/pruners/_percentile.py (Optuna 4.x): `trial_values` and each of
    `completed` map step -> intermediate value."""
    n_trials = len(completed)
    if n_trials == 0 or n_trials < pruner.n_startup_trials:
        return False
    step = max(trial_values) if trial_values else None
    if step is None or step < pruner.n_warmup_steps:
        return False
    # _is_first_in_interval_step
    interval, warmup = pruner.interval_steps, pruner.n_warmup_steps
    nearest_lower_pruning_step = (step - warmup) // interval * interval + warmup
    second_last_step = -1
    for s in trial_values:
        if s > second_last_step and s != step:
            second_last_step = s
    if not second_last_step < nearest_lower_pruning_step:
        return False
    # _get_best_intermediate_result_over_steps
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.asarray(list(trial_values.values()), dtype=float)
        best = np.nanmax(values) if direction == "max" else np.nanmin(values)
        if math.isnan(best):
            return True
        # _get_percentile_intermediate_result_over_trials
        at_step = [t[step] for t in completed if step in t]
        if len(at_step) < pruner.n_min_trials:
            return False
        q = 100 - pruner.percentile if direction == "max" else pruner.percentile
        p = float(np.nanpercentile(np.array(at_step, dtype=float), q))
    if math.isnan(p):
        return False
    return best < p if direction == "max" else best > p


def _random_curve(rng, steps, nan_rate):
    """A curve over a random subset of `steps` (steps may be skipped), some NaN."""
    kept = [s for s in range(steps) if rng.uniform() < 0.8] or [0]
    values = rng.normal(size=len(kept))
    values[rng.uniform(size=len(kept)) < nan_rate] = np.nan
    return dict(zip(kept, values.tolist()))


def test_decisions_match_optunas_on_random_tables():
    rng = np.random.default_rng(0)
    pruned = 0
    for case in range(3000):
        pruner = PercentilePruner(
            float(rng.choice([0.0, 10.0, 25.0, 50.0, 75.0, 100.0])),
            n_startup_trials=int(rng.integers(0, 4)),
            n_warmup_steps=int(rng.integers(0, 3)),
            interval_steps=int(rng.integers(1, 4)),
            n_min_trials=int(rng.integers(1, 4)),
        )
        direction = ["min", "max"][case % 2]
        nan_rate = [0.0, 0.3][case % 3 == 0]
        completed = [
            _random_curve(rng, 6, nan_rate) for _ in range(int(rng.integers(0, 6)))
        ]
        trial = _random_curve(rng, int(rng.integers(1, 7)), nan_rate)
        expected = optuna_prune(pruner, trial, completed, direction)
        assert pruner.should_prune(trial, completed, direction) == expected, (
            pruner,
            trial,
            completed,
            direction,
        )
        pruned += expected
    # Both outcomes are well represented.
    assert 300 < pruned < 2700


# Three completed trials (losses by step) and hand-computed decisions.
COMPLETED = [
    {0: 1.0, 1: 0.5, 2: 0.4, 3: 0.3},
    {0: 1.0, 1: 0.6, 2: 0.5, 3: 0.4},
    {0: 1.0, 1: 0.7, 2: 0.6, 3: 0.5},
]


@pytest.mark.parametrize(
    "pruner, trial, expected",
    [
        # The best value so far decides, not the last one: 0.55 at step 2 is
        # worse than the median 0.5, but the trial reached 0.45 at step 1.
        (MedianPruner(n_startup_trials=3), {0: 1.0, 1: 0.45, 2: 0.55}, False),
        (MedianPruner(n_startup_trials=3), {0: 1.0, 1: 0.65, 2: 0.55}, True),
        # No warm-up by default: step 0 is decided (median 1.0).
        (MedianPruner(n_startup_trials=3), {0: 1.5}, True),
        (MedianPruner(n_startup_trials=3, n_warmup_steps=1), {0: 1.5}, False),
        # Equal to the median: kept (the comparison is strict).
        (MedianPruner(n_startup_trials=3), {0: 1.0, 1: 0.6}, False),
        # interval_steps=2 after 1 warm-up step: checks at steps 1 and 3 ...
        (MedianPruner(3, 1, 2), {0: 1.0, 1: 0.45, 2: 0.9}, False),
        (MedianPruner(3, 1, 2), {0: 1.0, 1: 0.45, 2: 0.9, 3: 0.9}, True),
        # ... and a skipped check step is made up at the next report.
        (MedianPruner(3, 1, 2), {0: 1.0, 2: 0.9}, True),
        # The percentile bounds are closed: 0 keeps only trials as good as the
        # best completed one, 100 prunes only trials worse than the worst.
        (PercentilePruner(0.0, 3), {0: 1.0, 1: 0.55}, True),
        (PercentilePruner(0.0, 3), {0: 1.0, 1: 0.5}, False),
        (PercentilePruner(100.0, 3), {0: 1.0, 1: 0.7}, False),
        (PercentilePruner(100.0, 3), {0: 1.0, 1: 0.71}, True),
        # The 25th percentile of 0.5, 0.6, 0.7 is 0.55 (linear interpolation).
        (PercentilePruner(25.0, 3), {0: 1.0, 1: 0.56}, True),
        (PercentilePruner(25.0, 3), {0: 1.0, 1: 0.55}, False),
        # Startup and minimum number of trials at the step.
        (MedianPruner(n_startup_trials=4), {0: 1.0, 1: 0.9}, False),
        (MedianPruner(n_startup_trials=3, n_min_trials=4), {0: 1.0, 1: 0.9}, False),
        (MedianPruner(n_startup_trials=3), {0: 1.0, 4: 0.9}, False),
        # NaN values are skipped; a trial with only NaN is pruned.
        (MedianPruner(n_startup_trials=3), {0: 1.0, 1: 0.45, 2: math.nan}, False),
        (MedianPruner(n_startup_trials=3), {0: math.nan}, True),
    ],
)
def test_hand_computed_decisions(pruner, trial, expected):
    assert pruner.should_prune(trial, COMPLETED, "min") == expected
    assert optuna_prune(pruner, trial, COMPLETED, "min") == expected
    # A maximized objective, negated, gets the same decisions.
    negated = [{s: -v for s, v in t.items()} for t in COMPLETED]
    flipped = {s: -v for s, v in trial.items()}
    assert pruner.should_prune(flipped, negated, "max") == expected


# Two trials pruned at step 1, one still running at step 2.
OTHERS = [{0: 1.2, 1: 0.95}, {0: 1.1, 1: 0.9}, {0: 1.0, 1: 0.8, 2: 0.75}]


@pytest.mark.parametrize(
    "trial, completed_only, reached",
    [
        # Step 1: the completed median is 0.6; with the pruned and running
        # trials (0.5, 0.6, 0.7, 0.95, 0.9, 0.8) it is 0.75.
        ({0: 1.0, 1: 0.7}, True, False),
        ({0: 1.0, 1: 0.76}, True, True),
        # Step 2: the two completed trials that reached it give 0.55; with the
        # running trial's 0.75 too, 0.6.
        ({0: 1.0, 1: 0.9, 2: 0.58}, True, False),
    ],
)
def test_the_reached_reference_counts_every_trial_at_the_step(
    trial, completed_only, reached
):
    completed = [dict(t) for t in COMPLETED]
    completed[0] = {0: 1.0, 1: 0.5}  # A completed trial that stopped at step 1.
    optunas = MedianPruner(n_startup_trials=3)
    ashas = MedianPruner(n_startup_trials=3, reference="reached")
    # Optuna's rule ignores the other trials.
    assert optunas.should_prune(trial, completed, "min", OTHERS) == completed_only
    assert optunas.should_prune(trial, completed, "min") == completed_only
    assert ashas.should_prune(trial, completed, "min", OTHERS) == reached
    # Startup still counts completed trials only.
    assert not MedianPruner(4, reference="reached").should_prune(
        trial, completed, "min", OTHERS * 3
    )


def test_defaults_are_optunas():
    assert MedianPruner().get_config() == {
        "n_startup_trials": 5,
        "n_warmup_steps": 0,
        "interval_steps": 1,
        "n_min_trials": 1,
        "reference": "completed",
    }
    assert PercentilePruner(25.0).get_config() == {
        "percentile": 25.0,
        **MedianPruner().get_config(),
    }
    # As in Optuna, `n_min_trials` is keyword-only.
    with pytest.raises(TypeError):
        PercentilePruner(25.0, 5, 0, 1, 1)


# Loss curves by trial number. With a median pruner that waits for 3 completed
# trials and 1 warm-up step: trial 3's best is below the median of trials 0-2 at
# step 1 (0.75 < 0.8) but above it at step 2 (0.65 > 0.6), trial 4's above it at
# step 1 (0.95 > 0.8), trial 5's never (the median leaves out the pruned trials).
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
        # A pruned trial ends with KerasTuner's STOPPED status, scored by the
        # best value it reached.
        assert trial.status == ("STOPPED" if trial_id in PRUNED_AT else "COMPLETED")
        assert trial.score == min(CURVES[int(trial_id)][:ran])
    # Pruned trials count as ended for the rounds: 6 trials, 3 per round.
    assert oracle.get_state()["coarse_to_fine"]["round_start"] == 3


def test_percentile_pruner_on_a_maximized_objective(tmp_path):
    # Accuracy = -loss: the same decisions as with the median. Keeping the best
    # 90 % spares trial 3 until step 3, where its best (0.65) trails them all.
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


@pytest.mark.parametrize(
    "pruner",
    [
        MedianPruner(n_startup_trials=2, n_warmup_steps=3, interval_steps=2),
        PercentilePruner(25.0, n_min_trials=3),
        MedianPruner(3, reference="reached"),
    ],
)
def test_pruner_config_round_trip(pruner):
    config = keras.saving.serialize_keras_object(pruner)
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(pruner)
    assert restored.get_config() == pruner.get_config()


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: MedianPruner(n_warmup_steps=-1), "n_warmup_steps"),
        (lambda: MedianPruner(n_startup_trials=-1), "n_startup_trials"),
        (lambda: MedianPruner(interval_steps=0), "interval_steps"),
        (lambda: MedianPruner(interval_steps=1.5), "interval_steps"),
        (lambda: PercentilePruner(-0.5), "percentile"),
        (lambda: PercentilePruner(100.5), "percentile"),
        (lambda: PercentilePruner(float("nan")), "percentile"),
        (lambda: PercentilePruner(50.0, n_min_trials=0), "n_min_trials"),
        (lambda: MedianPruner(reference="all"), "reference"),
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

    def curve(self, trial):
        x = trial.hyperparameters.Float("x", 0.0, 1.0)
        return [(x - 0.3) ** 2 + 1.0 / (epoch + 1) for epoch in range(self.epochs)]

    def run_trial(self, trial, *args, **kwargs):
        self.calls += 1
        if self.calls == self.kill_at:
            raise KeyboardInterrupt()
        model = types.SimpleNamespace(stop_training=False)
        history = keras.callbacks.History()
        history.history = {"loss": []}
        for epoch, loss in enumerate(self.curve(trial)):
            logs = {"loss": loss}
            self.on_epoch_begin(trial, model, epoch, logs=logs)
            self.on_epoch_end(trial, model, epoch, logs=logs)
            history.history["loss"].append(logs["loss"])
            if model.stop_training:
                break
        return history


def _curve_search(directory, name, **kwargs):
    kwargs = {"pruner": MedianPruner(n_startup_trials=2), **kwargs}
    tuner = CurveTuner(
        objective="loss",
        max_trials=12,
        trials_per_round=4,
        candidates=1,  # Plain random draws: the pruning, not the surrogate, is tested.
        seed=0,
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
        statuses = {t: trial.status for t, trial in tuner.oracle.trials.items()}
        assert {t for t, s in statuses.items() if s == "STOPPED"} == set(pruned)
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


@pytest.mark.parametrize(
    "pruner", [MedianPruner(n_startup_trials=3), PercentilePruner(25.0, 2)]
)
def test_a_search_resumes_only_with_the_pruner_it_was_saved_with(tmp_path, pruner):
    _curve_search(tmp_path, "saved")  # MedianPruner(n_startup_trials=2).
    with pytest.raises(ValueError, match=r"saved with pruner=MedianPruner\(n_startup"):
        CurveTuner(
            objective="loss",
            max_trials=12,
            pruner=pruner,
            directory=str(tmp_path),
            project_name="saved",
        )
    # The same settings resume, whatever the class that holds them.
    resumed = _curve_search(tmp_path, "saved", overwrite=False)
    assert resumed.calls == 0
    same = _curve_search(
        tmp_path,
        "saved",
        overwrite=False,
        pruner=PercentilePruner(50.0, n_startup_trials=2),
    )
    assert same.calls == 0
    # A search saved before `interval_steps` (when `MedianPruner` warmed up for
    # one step by default) resumes with those settings, not with the new defaults.
    path = tmp_path / "saved" / "oracle.json"
    state = json.loads(path.read_text())
    state["pruning"]["pruner"] = {
        "n_startup_trials": 2,
        "n_warmup_steps": 1,
        "n_min_trials": 1,
    }
    path.write_text(json.dumps(state))
    with pytest.raises(ValueError, match="n_warmup_steps=1"):
        _curve_search(tmp_path, "saved", overwrite=False)
    old = _curve_search(
        tmp_path, "saved", overwrite=False, pruner=MedianPruner(2, n_warmup_steps=1)
    )
    assert old.calls == 0


def test_a_search_resumed_without_a_pruner_restores_it(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _curve_search(tmp_path, "saved", pruner=PercentilePruner(40.0, 2), kill_at=7)
    resumed = _curve_search(tmp_path, "saved", pruner=None, overwrite=False)
    for pruner in (resumed.pruner, resumed.oracle.pruner):
        assert type(pruner) is PercentilePruner
        assert pruner.get_config() == PercentilePruner(40.0, 2).get_config()
    # The restored pruner prunes the resumed trials: the same search as one
    # that was never interrupted.
    reference = _curve_search(tmp_path, "reference", pruner=PercentilePruner(40.0, 2))
    assert resumed.oracle.pruned_trials() == reference.oracle.pruned_trials()
    assert any(int(t) >= 6 for t in resumed.oracle.pruned_trials())


class ScriptedTuner(CurveTuner):
    """Plays `SCRIPT[trial number]` as the loss curve."""

    def curve(self, trial):
        trial.hyperparameters.Float("x", 0.0, 1.0)
        return SCRIPT[int(trial.trial_id)]


# Trial 3's best loss at step 1 (0.6) trails the completed trials' median (0.3):
# it is pruned, with a better score than trial 2, which completed at 0.7.
SCRIPT = [[1.0, 0.2, 0.2], [1.0, 0.3, 0.3], [0.7, 0.9, 0.9], [0.6, 0.6, 0.6]]


def test_pruned_trials_end_stopped_for_keras_tuner(tmp_path):
    tuner = ScriptedTuner(
        objective="loss",
        max_trials=4,
        candidates=1,
        epochs=3,
        seed=0,
        pruner=MedianPruner(n_startup_trials=3),
        directory=str(tmp_path),
        project_name="scripted",
    )
    tuner.search(verbose=0)
    trials = tuner.oracle.trials
    statuses = [trials[t].status for t in sorted(trials)]
    assert statuses == ["COMPLETED", "COMPLETED", "COMPLETED", "STOPPED"]
    assert [trials[t].score for t in sorted(trials)] == [0.2, 0.3, 0.7, 0.6]
    # Only completed trials are the best ones; the pruned trial comes last.
    best = tuner.get_best_hyperparameters(4)
    order = [trials[t].hyperparameters.values for t in sorted(trials)]
    assert [hp.values for hp in best] == order
    assert [t.trial_id for t in tuner.oracle.get_best_trials(3)] == sorted(trials)[:3]
    summary = io.StringIO()
    with contextlib.redirect_stdout(summary):
        tuner.results_summary(4)
    sections = summary.getvalue().split("Trial ")[1:]
    assert [section.split()[0] for section in sections] == sorted(trials)
    assert "Pruned at step 1 (epoch 2) by MedianPruner(" in sections[3]
    assert not any("Pruned" in section for section in sections[:3])
    records, _ = read_records(tuner.project_dir)
    assert [r["status"] for r in records] == ["COMPLETED"] * 3 + ["PRUNED"]
    assert records[3]["score"] == 0.6 and records[3]["error"] is None


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
        pruner=MedianPruner(n_startup_trials=1, n_warmup_steps=1),
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
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED", "STOPPED"]
    assert tuner.get_best_hyperparameters(2)[0].values == {"learning_rate": 0.5}


# Loss curves for promotion. Trial 0 completes (the elite); trials 1-5 trail its
# 0.5 at step 1 and are pruned there (MedianPruner(1, 1)). Among the six trials
# that reached step 1, trial 3 (0.6) ranks second: in the best third (6 // 3 =
# 2), so once 6 of the 8 trials have ended (promote_after=0.75) trial 6
# continues it from epoch 2; trial 2 (third) is not continued.
PROMOTION_CURVES = {
    "0": [1.0, 0.5, 0.3, 0.2],
    "1": [1.0, 0.9, 0.9, 0.9],
    "2": [1.0, 0.8, 0.8, 0.8],
    "3": [1.0, 0.6, 0.28, 0.15],
    "4": [1.0, 0.95, 0.9, 0.9],
    "5": [1.0, 0.99, 0.9, 0.9],
    "6": [1.0, 0.7, 0.6, 0.5],
    "7": [1.0, 0.7, 0.6, 0.5],
}


def _promotion_oracle(promote_after=0.75):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    return CoarseToFineOracle(
        "loss",
        max_trials=8,
        trials_per_round=4,
        hyperparameters=hp,
        seed=0,
        pruner=MedianPruner(n_startup_trials=1, n_warmup_steps=1),
        promote_after=promote_after,
    )


def _run_promotion_curve(oracle, trial, curves=PROMOTION_CURVES):
    """A continued trial reports its parent's curve from its initial epoch."""
    values = trial.hyperparameters.values
    curve = curves[values.get("tuner/trial_id", trial.trial_id)]
    for step in range(values.get("tuner/initial_epoch", 0), len(curve)):
        reported = oracle.update_trial(trial.trial_id, {"loss": curve[step]}, step)
        if reported.status == "STOPPED":
            break
    return "COMPLETED"


def test_a_pruned_trial_in_the_best_third_of_its_step_is_continued(tmp_path):
    oracle = harness.check_oracle(
        _promotion_oracle, _run_promotion_curve, 8, tmp_path, interrupt_after=6
    )
    values = oracle.trials["6"].hyperparameters.values
    assert values == {
        "x": oracle.trials["3"].hyperparameters.values["x"],
        "tuner/trial_id": "3",
        "tuner/initial_epoch": 2,
    }
    # It ran epochs 2 and 3 only, completed, and scores as the full curve.
    steps = oracle.trials["6"].metrics.get_history("loss")
    assert [o.step for o in steps] == [2, 3]
    assert oracle.trials["6"].status == "COMPLETED"
    assert oracle.get_best_trials(1)[0].trial_id == "6"
    # The third-ranked trial 2 is not continued: trial 7 is a new draw.
    assert "tuner/trial_id" not in oracle.trials["7"].hyperparameters.values
    assert oracle.get_state()["pruning"]["promoted"] == {"3": "6"}
    assert sorted(oracle.pruned_trials()) == ["1", "2", "3", "4", "5", "7"]


def test_no_trial_is_continued_before_promote_after_or_with_none(tmp_path):
    for promote_after in (None, 1.0):
        oracle = _promotion_oracle(promote_after)
        oracle._set_project_dir(str(tmp_path), f"p{promote_after}")
        for _ in range(8):
            trial = oracle.create_trial("tuner0")
            trial.status = _run_promotion_curve(oracle, trial)
            oracle.end_trial(trial)
        assert not any(
            "tuner/trial_id" in t.hyperparameters.values for t in oracle.trials.values()
        )


def test_a_continued_trial_is_judged_again_at_three_times_its_epochs(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = CoarseToFineOracle(
        "loss",
        max_trials=3,
        hyperparameters=hp,
        seed=0,
        pruner=MedianPruner(n_startup_trials=1, n_warmup_steps=1),
    )
    oracle._set_project_dir(str(tmp_path), "rung")
    # Trial 1 trails trial 0 from step 1 and is pruned there (2 epochs); trial 2
    # continues it from epoch 2, trails as much, and is pruned at step 5, once
    # it has trained 6 epochs (ASHA's next rung), not at its first step.
    values = iter(
        [
            {"x": 0.1},
            {"x": 0.9},
            {"x": 0.9, "tuner/trial_id": "1", "tuner/initial_epoch": 2},
        ]
    )
    oracle.populate_space = lambda trial_id: {
        "status": "RUNNING",
        "values": next(values),
    }
    curves = {"0": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01], "1": [1.0] + [0.9] * 7}
    for _ in range(3):
        trial = oracle.create_trial("tuner0")
        trial.status = _run_promotion_curve(oracle, trial, curves)
        oracle.end_trial(trial)
    assert oracle.pruned_trials() == {"1": 1, "2": 5}
    steps = [o.step for o in oracle.trials["2"].metrics.get_history("loss")]
    assert steps == [2, 3, 4, 5]


def _continued_build(hp):
    # Trial 0 learns (lr 0.5); trial 1 does not (lr 0) and is pruned at epoch 1.
    hp.Choice("learning_rate", [0.5, 0.0])
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(2, "softmax")])
    model.compile(
        keras.optimizers.SGD(hp.get("learning_rate")), "sparse_categorical_crossentropy"
    )
    return model


def test_a_continued_keras_trial_starts_from_the_pruned_trials_weights(tmp_path):
    x = harness.random_data((64, 12))
    y = (x[:, 0] > 0).astype("int32")
    tuner = CoarseToFine(
        _continued_build,
        "loss",
        max_trials=3,
        seed=0,
        pruner=MedianPruner(n_startup_trials=1, n_warmup_steps=1),
        directory=str(tmp_path),
        project_name="keras",
    )
    # Trial 2 continues trial 1 (lr 0: its weights never change, so a trial
    # that starts from them has trial 1's loss, and one that starts afresh,
    # with another seed, does not).
    values = iter(
        [
            {"learning_rate": 0.5},
            {"learning_rate": 0.0},
            {"learning_rate": 0.0, "tuner/trial_id": "1", "tuner/initial_epoch": 2},
        ]
    )
    tuner.oracle.populate_space = lambda trial_id: {
        "status": "RUNNING",
        "values": next(values),
    }
    tuner.search(x, y, epochs=4, batch_size=64, shuffle=False, verbose=0)
    records, _ = read_records(tuner.project_dir)
    # Trial 2 trails trial 0 too, but is not judged before epoch 6 (three
    # times its parent's 2 epochs): it runs epochs 2 and 3.
    assert [r["status"] for r in records] == ["COMPLETED", "PRUNED", "COMPLETED"]
    losses = [r["epoch_metrics"]["loss"] for r in records]
    pruned = tuner.oracle.pruned_trials()
    assert list(pruned) == ["1"]
    assert [len(loss) for loss in losses] == [4, pruned["1"] + 1, 2]
    np.testing.assert_allclose(losses[2], losses[1][:2], rtol=1e-5)
    fresh = _continued_build(keras_tuner.HyperParameters()).evaluate(x, y, verbose=0)
    assert abs(fresh - losses[1][0]) > 1e-3


def test_a_continued_trial_whose_fit_ignores_initial_epoch_raises(tmp_path):
    tuner = CoarseToFine(
        _continued_build,
        "loss",
        max_trials=1,
        pruner=MedianPruner(),
        directory=str(tmp_path),
        project_name="keras",
    )
    hp = keras_tuner.HyperParameters()
    hp.values = {"learning_rate": 0.0, "tuner/trial_id": "1", "tuner/initial_epoch": 2}
    trial = keras_tuner.engine.trial.Trial(hp, trial_id="2")
    with pytest.raises(ValueError, match="does not pass `initial_epoch`"):
        tuner.on_epoch_begin(trial, _continued_build(hp), 0)
    with pytest.raises(ValueError, match="saved no checkpoint"):
        tuner.on_epoch_begin(trial, _continued_build(hp), 2)
