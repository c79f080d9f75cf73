import math
import warnings

import keras_tuner
import numpy as np
import pytest

from keras_smithing.tuners import (
    CoarseToFine,
    CoarseToFineOracle,
    plot_search,
    read_records,
)

BRANIN_MIN = 0.397887


def branin(x1, x2):
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


class Killed(BaseException):
    """Stands for the process being killed mid-trial."""


class BraninTuner(CoarseToFine):
    """A hypermodel-free tuner: `run_trial` declares x1, x2 and returns Branin."""

    def __init__(self, *args, kill_at=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kill_at = kill_at
        self.calls = 0

    def run_trial(self, trial, *args, **kwargs):
        self.calls += 1
        if self.calls == self.kill_at:
            raise Killed()
        hp = trial.hyperparameters
        return branin(hp.Float("x1", -5.0, 10.0), hp.Float("x2", 0.0, 15.0))


def _search(directory, name, **kwargs):
    kwargs = {"max_trials": 30, "seed": 0, **kwargs}
    tuner = BraninTuner(directory=str(directory), project_name=name, **kwargs)
    tuner.search(verbose=0)
    return tuner


def _values(tuner):
    trials = tuner.oracle.trials
    return [trials[i].hyperparameters.values for i in sorted(trials)]


@pytest.mark.filterwarnings("ignore:The best value")
def test_branin_reaches_the_minimum_within_the_budget(tmp_path):
    tuner = _search(tmp_path, "branin", max_trials=80)
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score - BRANIN_MIN < 0.05
    # Later rounds draw in narrower windows around the best trials (a restart,
    # once the minimum is found, widens them again).
    windows = tuner.oracle.get_state()["coarse_to_fine"]["windows"]
    widths = [
        high - low for window in windows.values() for low, high in window.values()
    ]
    assert min(widths) <= 0.5**3
    # By default a round is 5 trials (one per hyperparameter, at least 5).
    assert tuner.oracle.round_of("00") == 0
    assert tuner.oracle.round_of("79") == 15
    records, meta = read_records(tuner.project_dir)
    assert [r["trial_id"] for r in records] == sorted(tuner.oracle.trials)
    assert all(r["status"] == "COMPLETED" for r in records)
    np.testing.assert_allclose(
        [r["score"] for r in records],
        [tuner.oracle.trials[r["trial_id"]].score for r in records],
    )
    assert meta["objective"]["direction"] == "min"


@pytest.mark.filterwarnings("ignore:The best value")
def test_resume_after_interruption_loses_and_repeats_nothing(tmp_path):
    reference = _search(tmp_path, "reference")
    with pytest.raises(Killed):
        _search(tmp_path, "resumed", kill_at=17)
    tuner = _search(tmp_path, "resumed")
    # 16 trials completed before the kill; trial 17 is re-run, then 18..30.
    assert tuner.calls == 30 - 16
    assert len(tuner.oracle.trials) == 30
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    # The resumed search is the uninterrupted one: same trials, same rounds.
    assert _values(tuner) == _values(reference)
    assert (
        tuner.oracle.get_state()["coarse_to_fine"]
        == reference.oracle.get_state()["coarse_to_fine"]
    )
    records, _ = read_records(tuner.project_dir)
    assert len(records) == 30
    assert {r["status"] for r in records} == {"COMPLETED"}


def test_log_sampling_in_the_first_round(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("lr", 1e-5, 1e-1, sampling="log")
    oracle = CoarseToFineOracle(
        max_trials=300, trials_per_round=300, hyperparameters=hp, seed=0
    )
    oracle._set_project_dir(str(tmp_path), "log")
    lrs = [
        oracle.create_trial(f"tuner{i}").hyperparameters.values["lr"]
        for i in range(300)
    ]
    exponents = np.log10(lrs)
    assert np.all((exponents >= -5) & (exponents <= -1))
    # Log-uniform: each decade holds a quarter of the draws.
    counts = np.histogram(exponents, bins=[-5, -4, -3, -2, -1])[0]
    assert np.all(np.abs(counts / 300 - 0.25) < 0.08), counts


def test_fixed_hyperparameters_do_not_lengthen_a_round(tmp_path):
    # A round is one trial per tuned hyperparameter (at least 5). The constants
    # a hypermodel declares with `hp.Fixed` (SmithingHyperModel's fixed search
    # space entries) draw nothing: counted, they made the mnist1d search's
    # random first round 11 trials for its 7 tuned hyperparameters.
    hp = keras_tuner.HyperParameters()
    for name in "abcdef":
        hp.Float(name, 0.0, 1.0)
    for name in ("skip", "initializer", "l2", "dropconnect"):
        hp.Fixed(name, "none")
    oracle = CoarseToFineOracle(
        keras_tuner.Objective("score", "min"), max_trials=20, hyperparameters=hp, seed=0
    )
    oracle._set_project_dir(str(tmp_path), "fixed")
    _drive(oracle, lambda values: values["a"], 8)
    assert [oracle.round_of(t) for t in sorted(oracle.trials)] == [0] * 6 + [1] * 2


def _one_dimensional_oracle(directory, **kwargs):
    """A seeded oracle over x in [0, 1], one trial per round, driven by hand."""
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = CoarseToFineOracle(
        "loss", trials_per_round=1, top_k=1, hyperparameters=hp, seed=0, **kwargs
    )
    oracle._set_project_dir(str(directory), "manual")
    return oracle


def _run(oracle, loss, value=None):
    """Runs one trial (at `value`, if given); returns its x and the window of x."""
    trial = oracle.create_trial("tuner0")
    window = oracle.get_state()["coarse_to_fine"]["windows"][trial.trial_id]
    if value is not None:
        trial.hyperparameters.values["x"] = value
    oracle.update_trial(trial.trial_id, {"loss": loss})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    return trial.hyperparameters.values["x"], window["x"]


@pytest.mark.parametrize(
    "value, next_window",
    [
        (0.62, [0.37, 0.87]),  # At the edge: re-centred and widened.
        (0.5, [0.4375, 0.5625]),  # Inside: narrowed around it.
    ],
)
def test_window_recentres_and_widens_when_the_best_is_at_its_edge(
    tmp_path, value, next_window
):
    oracle = _one_dimensional_oracle(tmp_path, max_trials=4, shrink=0.5)

    def window(value, loss):
        return _run(oracle, loss, value)[1]

    assert window(0.5, 3.0) == [0.0, 1.0]
    np.testing.assert_allclose(window(0.5, 2.0), [0.25, 0.75])
    np.testing.assert_allclose(window(value, 1.0), [0.375, 0.625])
    np.testing.assert_allclose(window(0.5, 5.0), next_window)


@pytest.mark.parametrize("restart_patience", [2, None])
def test_a_stalled_search_restarts_with_full_windows_and_new_parents(
    tmp_path, restart_patience
):
    oracle = _one_dimensional_oracle(
        tmp_path,
        max_trials=10,
        restart_patience=restart_patience,
        restart_tolerance=0.03,
    )
    losses = (10, 9, 8, 1.0, 0.999, 0.998)
    widths = [np.diff(_run(oracle, loss)[1])[0] for loss in losses]
    assert widths[0] == 1.0 and max(widths[1:]) < 1.0
    # Over the last 2 rounds the best improved by 0.002, less than 3 % of the
    # median-to-best gap (4.5 - 0.998): the 7th trial starts a new run.
    value, window = _run(oracle, 5.0, value=0.9)
    if restart_patience is None:
        assert np.diff(window)[0] < 0.1
        return
    assert window == [0.0, 1.0]
    # The new run's parent is its own best trial (loss 5), not the overall best.
    _, window = _run(oracle, 4.0)
    assert window[0] < value < window[1] and np.diff(window)[0] == 0.5
    assert oracle.get_best_trials(1)[0].score == 0.998


class ConditionalTuner(CoarseToFine):
    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        kind = hp.Choice("kind", ["good", "bad", "ugly"])
        score = 0.0 if kind == "good" else 2.0
        with hp.conditional_scope("kind", ["good"]):
            if kind == "good":
                score += (hp.Float("a", 0.0, 1.0) - 0.3) ** 2
        score += (math.log10(hp.Float("lr", 1e-5, 1e-1, sampling="log")) + 3) ** 2
        score += (math.log2(hp.Int("units", 8, 256, sampling="log")) - 6) ** 2 / 10
        return score


@pytest.mark.filterwarnings("ignore:The best value")
def test_categorical_and_conditional_hyperparameters(tmp_path):
    # No restarts: the last round then shows the categorical preference.
    tuner = ConditionalTuner(
        max_trials=50,
        seed=3,
        restart_patience=None,
        directory=str(tmp_path),
        project_name="cond",
    )
    tuner.search(verbose=0)
    trials = [tuner.oracle.trials[i] for i in sorted(tuner.oracle.trials)]
    for trial in trials[1:]:
        values = trial.hyperparameters.values
        assert ("a" in values) == (values["kind"] == "good")
        assert isinstance(values["units"], int)
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.hyperparameters.values["kind"] == "good"
    assert best.score < 0.2
    last_round = [t.hyperparameters.values["kind"] for t in trials[-10:]]
    assert last_round.count("good") >= 6

    path = tmp_path / "search.png"
    figure = plot_search(tuner.project_dir, path=str(path))
    assert path.stat().st_size > 0
    panels = {ax.get_xlabel(): ax for ax in figure.axes if ax.get_visible()}
    assert {"trial", "kind", "a", "lr", "units", "round"} <= set(panels) | {
        ax.get_ylabel() for ax in figure.axes
    }
    assert panels["lr"].get_xscale() == "log"
    assert panels["units"].get_xscale() == "log"
    assert panels["a"].get_xscale() == "linear"
    # Every completed trial is a point of the first panel.
    points = panels["trial"].collections[0].get_offsets()
    assert len(points) == 50


@pytest.mark.filterwarnings("ignore:The best value")
def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path):
    class Flaky(BraninTuner):
        def run_trial(self, trial, *args, **kwargs):
            if trial.trial_id in ("03", "11"):
                raise FloatingPointError("NaN loss")
            return super().run_trial(trial, *args, **kwargs)

    tuner = Flaky(max_trials=20, seed=1, directory=str(tmp_path), project_name="f")
    tuner.search(verbose=0)
    records, _ = read_records(tuner.project_dir)
    assert len(records) == 20
    failed = {r["trial_id"]: r for r in records if r["status"] == "FAILED"}
    assert sorted(failed) == ["03", "11"]
    assert failed["03"]["error"] == "FloatingPointError: NaN loss"
    assert "Traceback" in failed["03"]["traceback"]
    assert failed["03"]["score"] is None


def test_seed_zero_is_a_seed(tmp_path):
    assert CoarseToFineOracle(seed=0).seed == 0
    first = _search(tmp_path, "a", seed=0, max_trials=15)
    second = _search(tmp_path, "b", seed=0, max_trials=15)
    assert _values(first) == _values(second)
    other = _search(tmp_path, "c", seed=1, max_trials=15)
    assert _values(other) != _values(first)
    records, _ = read_records(first.project_dir)
    assert [r["seed"] for r in records] == list(range(15))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"max_trials": 0}, "max_trials"),
        ({"shrink": 0.0}, "shrink"),
        ({"shrink": 1.0}, "shrink"),
        ({"shrink": float("nan")}, "shrink"),
        ({"top_k": 11, "trials_per_round": 10}, "top_k"),
        ({"trials_per_round": 0}, "trials_per_round"),
        ({"rounds": 0}, "rounds"),
        ({"restart_patience": 0}, "restart_patience"),
        ({"restart_tolerance": 1.5}, "restart_tolerance"),
        ({"objective": "no_such_metric"}, "objective"),
        ({"objective": 3}, "objective"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        CoarseToFine(hypermodel=lambda hp: None, **kwargs)


@pytest.mark.parametrize(
    "kwargs, says",
    [
        (
            {"alpha": 1e-4, "beta": 2.6},
            [
                "`alpha`, `beta`",
                "marginal likelihood",
                "expected improvement",
                "larger `shrink`",
                "larger `top_k`",
                "`candidates=1`",
                "Received: alpha=0.0001, beta=2.6",
            ],
        ),
        ({"num_initial_points": 8}, ["becomes `trials_per_round`"]),
    ],
)
def test_bayesian_optimization_arguments_say_what_to_use_instead(kwargs, says):
    # A script that swapped `keras_tuner.BayesianOptimization` for CoarseToFine.
    with pytest.raises(ValueError, match="BayesianOptimization") as error:
        CoarseToFine(lambda hp: None, "val_accuracy", max_trials=30, **kwargs)
    for phrase in says:
        assert phrase in str(error.value)


def test_bad_range(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 1.0, 1.0)
    with pytest.raises(ValueError, match="`min_value`.*'x'"):
        CoarseToFineOracle(hyperparameters=hp)

    class Empty(CoarseToFine):
        def run_trial(self, trial, *args, **kwargs):
            return trial.hyperparameters.Int("n", 5, 2 + 3)

    tuner = Empty(max_trials=3, directory=str(tmp_path), project_name="empty")
    with pytest.raises(ValueError, match="`min_value`.*'n'"):
        tuner.search(verbose=0)


@pytest.mark.filterwarnings("ignore:The best value")
def test_defaults_reach_the_branin_minimum_in_few_trials(tmp_path):
    # Seeds the benchmark (benchmarks/bench_tuners.py) never uses.
    hp = keras_tuner.HyperParameters()
    hp.Float("x1", -5.0, 10.0)
    hp.Float("x2", 0.0, 15.0)
    counts = []
    for seed in (1001, 1002, 1003, 1004, 1005):
        oracle = CoarseToFineOracle(
            "loss", max_trials=100, hyperparameters=hp, seed=seed
        )
        oracle._set_project_dir(str(tmp_path), f"smoke{seed}")
        oracle.verbose = 0
        for _ in range(100):
            trial = oracle.create_trial("tuner0")
            values = trial.hyperparameters.values
            loss = branin(values["x1"], values["x2"])
            oracle.update_trial(trial.trial_id, {"loss": loss})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
            if loss - BRANIN_MIN < 0.05:
                break
        counts.append(len(oracle.trials))
    # Plain random search needs about 1000 trials; the surrogate-ranked windows
    # need a few dozen.
    assert np.median(counts) <= 40, counts


def _drive(oracle, score, trials, values=None):
    """Runs `trials` trials of `oracle` by hand; returns their values.

    `score(values)` gives each trial's objective; `values(i)`, if given,
    overrides some of trial i's values before it is scored.
    """
    drawn = []
    for i in range(trials):
        trial = oracle.create_trial("tuner0")
        if values is not None:
            trial.hyperparameters.values.update(values(i))
        current = dict(trial.hyperparameters.values)
        oracle.update_trial(trial.trial_id, {"score": score(current)})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        drawn.append(current)
    return drawn


@pytest.mark.parametrize("seed", range(5))
def test_the_second_ten_trials_favour_the_better_half(tmp_path, seed):
    # KerasTuner's oracle tests' shape: maximize `a` over [-100, 100]; after ten
    # trials, the next ten should mostly land in the better half (a > 0).
    hp = keras_tuner.HyperParameters()
    hp.Int("a", -100, 100)
    oracle = CoarseToFineOracle(
        keras_tuner.Objective("score", "max"),
        max_trials=20,
        hyperparameters=hp,
        seed=seed,
    )
    oracle._set_project_dir(str(tmp_path), "ints")
    oracle.verbose = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # The best value lies at the edge.
        drawn = [v["a"] for v in _drive(oracle, lambda v: v["a"], 20)]
    assert len(set(drawn)) == 20
    assert sum(a > 0 for a in drawn[10:]) >= 8, drawn


def _oracle_with_x(tmp_path, seed, declare):
    """A minimizing oracle over `declare(hp)`'s hyperparameter and x in [0, 1]."""
    hp = keras_tuner.HyperParameters()
    declare(hp)
    hp.Float("x", 0.0, 1.0)
    oracle = CoarseToFineOracle(
        keras_tuner.Objective("score", "min"),
        max_trials=100,
        hyperparameters=hp,
        seed=seed,
        restart_patience=None,  # Parents stay among the thirty trials driven.
    )
    oracle._set_project_dir(str(tmp_path), "search")
    oracle.verbose = 0
    return oracle


@pytest.mark.parametrize("seed", range(3))
def test_a_choice_that_keeps_failing_is_drawn_less_than_an_untried_one(tmp_path, seed):
    oracle = _oracle_with_x(
        tmp_path,
        seed,
        lambda hp: hp.Choice("kind", ["fails", "good", "fine", "untried"]),
    )

    def score(values):
        failed = 5.0 if values["kind"] == "fails" else 0.0
        return failed + (values["x"] - 0.5) ** 2

    # Ten failures of "fails", "good" and "fine" tried ten times each.
    kinds = ["fails", "good", "fine"]
    _drive(oracle, score, 30, values=lambda i: {"kind": kinds[i % 3]})
    proposed = [oracle.populate_space(f"probe{i}")["values"] for i in range(60)]
    counts = {
        kind: sum(v["kind"] == kind for v in proposed) for kind in kinds + ["untried"]
    }
    assert counts["fails"] < counts["untried"], counts
    assert counts["fails"] <= 3, counts


@pytest.mark.parametrize("seed", range(3))
def test_an_int_of_few_values_keeps_every_value_in_reach(tmp_path, seed):
    # An index over four batch sizes; the best, 3, was never tried. In a window
    # narrowed around the best tried value (2) every proposal drew 2; drawn as a
    # choice, with its values in order, the surrogate reaches for 3.
    oracle = _oracle_with_x(tmp_path, seed, lambda hp: hp.Int("batch_size", 0, 3))

    def score(values):
        return 3 - values["batch_size"] + (values["x"] - 0.5) ** 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # The best value lies at the edge.
        _drive(oracle, score, 30, values=lambda i: {"batch_size": i % 3})
    proposed = [oracle.populate_space(f"probe{i}")["values"] for i in range(30)]
    counts = np.bincount([v["batch_size"] for v in proposed], minlength=4)
    assert counts[3] >= 20, counts
    space = {hp.name: hp for hp in oracle.hyperparameters.space}
    x, _ = oracle._surrogate_data(["batch_size"], space)
    np.testing.assert_allclose(np.unique(x[:, 0]), [0.125, 0.375, 0.625])


def test_pruned_trials_enter_the_surrogate_among_the_worst(tmp_path):
    oracle = _one_dimensional_oracle(tmp_path, max_trials=10, restart_patience=None)
    for value, loss in [(0.1, 3.0), (0.5, 1.0), (0.9, 2.0), (0.7, 1.5)]:
        _run(oracle, loss, value)
    # A trial pruned early with the best score so far (its training was cut
    # short: the score is not a final one).
    trial = oracle.create_trial("tuner0")
    trial.hyperparameters.values["x"] = 0.3
    oracle.update_trial(trial.trial_id, {"loss": 0.2})
    oracle._pruned[trial.trial_id] = 0  # As a pruner's decision at step 0.
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    assert trial.status == "STOPPED" and trial.score == 0.2
    ranked = oracle._ranked_trials(current_run=False)
    assert ranked[-1].trial_id == trial.trial_id  # After every completed trial.
    space = {hp.name: hp for hp in oracle.hyperparameters.space}
    x, y = oracle._surrogate_data(["x"], space)
    np.testing.assert_allclose(x[:, 0], [0.5, 0.7, 0.9, 0.1, 0.3])
    np.testing.assert_allclose(y, [1.0, 1.5, 2.0, 3.0, 3.0])


def test_the_ranking_follows_the_trials_scores(tmp_path):
    oracle = _one_dimensional_oracle(tmp_path, max_trials=10)
    for value, loss in [(0.1, 3.0), (0.5, 1.0), (0.9, 2.0)]:
        _run(oracle, loss, value)
    best = oracle._ranked_trials()[0]
    assert best.score == 1.0
    # A score changed without a new trial ending (as a reloaded state can).
    best.score = 4.0
    assert [t.score for t in oracle._ranked_trials()] == [2.0, 3.0, 4.0]
