"""Coarse-to-fine random search: a KerasTuner Oracle and the Tuner that wires it."""

import copy
import math
import warnings

import keras_tuner
import numpy as np
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine.trial import TrialStatus

from keras_smithing.tuners import surrogate
from keras_smithing.tuners.pruners import (
    MedianPruner,
    PercentilePruner,
    best_value_until,
)
from keras_smithing.tuners.records import INITIAL_EPOCH, RESUMED_FROM, TrialRecorder
from keras_smithing.utils.compat import load_trial_checkpoint, oracle_has_tried
from keras_smithing.utils.validation import (
    check_float,
    check_int,
    check_objective,
    check_ranges,
    invalid_argument,
)

# A best value within this fraction of its range's width from an edge of the
# range it was drawn from "sits at the boundary": the optimum may lie beyond.
_EDGE = 0.1
# Prior weight of every value of a categorical hyperparameter, next to one count
# per appearance among the `top_k` best trials.
_CHOICE_PRIOR = 0.5
_NUMERIC = (hp_module.Int, hp_module.Float)
_CATEGORICAL = (hp_module.Choice, hp_module.Boolean)
# An integer range of at most this many values (an ordinal: HPOLib's batch sizes
# and dropout rates, a depth of 1 to 4) is drawn as a choice is, and the
# surrogate sees its values in order (one coordinate, not one-hot). In a window
# it soon drew its parent's value only: a window narrower than two values holds
# one, and the end values were rarely reached. Chosen on the tabular benchmark's
# tuning seeds (0-19; 4 and 6 tried, and windows rounded to whole values).
_FEW_VALUES = 4
# A candidate redraws a categorical value uniformly with this probability (it
# keeps its parent-favouring draw otherwise); the surrogate then ranks the
# candidates. Chosen on the tabular benchmark's tuning seeds (0-4; 0.25, 0.5,
# 0.75 and 1 tried): 0.75 was at or below TPE's median regret on the most
# datasets after 30 and after 100 trials.
_CHOICE_MUTATION = 0.75
# One-hot coordinate of a choice: two different values are at squared distance
# 2 * _ONE_HOT**2 = 1, the distance across a numeric range.
_ONE_HOT = math.sqrt(0.5)
# The statuses of ended trials that hold a score: completed and pruned.
_SCORED = (TrialStatus.COMPLETED, TrialStatus.STOPPED)
# The surrogate ranks candidates once this many trials (at least one more than
# the hyperparameters it models) have completed.
_MIN_FIT = 4
# The default round: as many trials as hyperparameters, and at least this many.
# Short rounds let the surrogate take over early; on the benchmark functions (2-D
# to 6-D) they reached the minimum in fewer trials than rounds of 10 or 15.
_MIN_ROUND = 5
# A pruned trial continues (ASHA's promotion, Li et al. 2020) when its best value
# at the step it was pruned ranks in the best 1 / _PROMOTION_FACTOR of every
# trial that reached that step (ASHA's and Hyperband's default reduction, 3).
# The continued trial is judged again once it has trained this many times the
# epochs it had (ASHA's next rung): judged at its next epoch against the
# completed trials, the best few late in a search, it was pruned again at once
# (in the mnist1d ladder's trial files: of 9 continued trials, 7 stopped after
# one more epoch and none completed).
_PROMOTION_FACTOR = 3
# Draws of an already-tried configuration before a trial gives up (as KerasTuner's
# oracles): the first half inside the windows, the rest anywhere.
_MAX_COLLISIONS = 20


def _is_ordinal(hp):
    """Whether `hp` is an integer range of at most `_FEW_VALUES` evenly spaced values."""
    return (
        isinstance(hp, hp_module.Int)
        and hp.sampling == "linear"
        and (hp.max_value - hp.min_value) // (hp.step or 1) < _FEW_VALUES
    )


def _is_drawn_as_choice(hp):
    """Whether `hp` is drawn from a list of values rather than in a window."""
    return isinstance(hp, _CATEGORICAL) or _is_ordinal(hp)


def _choices(hp):
    """The values of a `Choice`, `Boolean` or ordinal `Int`, as a list."""
    if isinstance(hp, hp_module.Int):
        return list(range(hp.min_value, hp.max_value + 1, hp.step or 1))
    return list(hp.values) if isinstance(hp, hp_module.Choice) else [False, True]


def check_pruner(pruner, objective):
    """Validates `pruner` against the objective it would prune on; returns it."""
    if pruner is None:
        return None
    if not isinstance(pruner, PercentilePruner):
        raise invalid_argument(
            "pruner", pruner, "a `MedianPruner`, a `PercentilePruner` or None"
        )
    if isinstance(objective, list) and len(objective) > 1:
        raise invalid_argument(
            "pruner",
            pruner,
            f"None with several objectives ({len(objective)}): a pruner compares "
            "one objective across trials",
        )
    if objective is None:
        warnings.warn(
            "`pruner` is set but `objective` is None: `run_trial` returns one "
            "value per trial and reports no intermediate values, so nothing can "
            "be pruned.",
            stacklevel=3,
        )
    return pruner


def _pruner_state(pruner):
    """A pruner's settings as the oracle saves them (None without a pruner)."""
    if pruner is None:
        return None
    return {
        "class_name": type(pruner).__name__,
        "percentile": pruner.percentile,
        **pruner.get_config(),
    }


def _pruner_from_state(state):
    """The pruner `_pruner_state` saved (None for None)."""
    if state is None:
        return None
    state = dict(state)
    # Searches saved before the class name was stored: a median pruner saved
    # no percentile, or 50 (the same decisions either way).
    name = state.pop("class_name", None)
    percentile = state.pop("percentile", 50.0)
    if name == "MedianPruner" or (name is None and percentile == 50.0):
        return MedianPruner(**state)
    return PercentilePruner(percentile, **state)


def _same_rule(a, b):
    """Whether two pruners (or None) take the same decisions."""
    a, b = _pruner_state(a), _pruner_state(b)
    if a is None or b is None:
        return a is b
    a.pop("class_name")
    b.pop("class_name")
    return a == b


# `keras_tuner.BayesianOptimization` arguments that CoarseToFine does not take,
# and what it offers instead: a script that swaps the class keeps them.
_BAYESIAN_ARGUMENTS = {
    "num_initial_points": "`num_initial_points` becomes `trials_per_round`: the "
    "first round, drawn at random before the surrogate ranks candidates, has "
    "`trials_per_round` trials",
    "alpha": "`alpha` (the Gaussian process's noise) has no counterpart: "
    "CoarseToFine's surrogate chooses its noise and length scale by marginal "
    "likelihood, so drop it",
    "beta": "`beta` (the upper-confidence-bound exploration weight) has no "
    "counterpart: CoarseToFine ranks candidates by expected improvement; "
    "explore more with a larger `shrink` (slower narrowing), a larger `top_k` "
    "(more parents), `candidates=1` (no surrogate) or a smaller "
    "`restart_patience` (earlier restarts), or drop it",
}


def check_no_bayesian_arguments(kwargs):
    """Raises when `kwargs` holds arguments of KerasTuner's BayesianOptimization."""
    found = [name for name in _BAYESIAN_ARGUMENTS if name in kwargs]
    if found:
        names = ", ".join(f"`{name}`" for name in found)
        remedies = "; ".join(_BAYESIAN_ARGUMENTS[name] for name in found)
        received = ", ".join(f"{name}={kwargs[name]!r}" for name in found)
        raise ValueError(
            f"CoarseToFine does not take {names} (`keras_tuner.BayesianOptimization`"
            f" arguments): {remedies}. Received: {received}"
        )


class CoarseToFineOracle(keras_tuner.Oracle):
    """Random search that narrows its ranges round by round (coarse to fine).

    The first round samples every hyperparameter at random over its declared
    range (log-uniformly where it is declared with `sampling="log"`). Each
    later round starts when `trials_per_round` more trials have ended and
    draws its trials around the `top_k` best trials so far, in ranges that
    narrow by `shrink` per round; among `candidates` draws, a model fit on the
    trials so far picks the most promising one. A range follows the optimum
    when the best value lies at its edge, and a warning says once when the
    best value lies at the edge of the *declared* range, which may be too
    narrow. When the search stalls (`restart_patience` rounds of too little
    progress), it restarts over the full ranges, keeping its best trial.
    Choices, booleans and conditional hyperparameters are searched too
    (conditional ones only when active, as in KerasTuner's random search); a
    choice that keeps failing is drawn less and less. An `Int` of at most four
    values (a batch-size index, a depth of 1 to 4) is drawn as a choice is, its
    values kept in order: a narrowing range would soon hold only one of them.

    A search killed mid-way resumes with `overwrite=False` where it stopped,
    and a chief oracle serves distributed workers as any KerasTuner oracle
    does.

    Args:
        objective: A metric name, a `keras_tuner.Objective` (such as
            `CostAwareObjective`) or a list of them; optional when `run_trial`
            returns a single float to minimize.
        max_trials: Integer >= 1, the trial budget.
        rounds: Integer >= 1 or None, the number of rounds; the last one
            continues until the budget is spent. None (default): as many
            rounds of `trials_per_round` as `max_trials` allows.
        trials_per_round: Integer >= 1 or None, trials per round. None
            (default): one per tuned hyperparameter, and at least 5.
        top_k: Integer in [1, trials_per_round], how many best trials parent
            the next round. Defaults to 3.
        shrink: Float in (0, 1), the factor by which windows narrow per round.
            Defaults to 0.5.
        candidates: Integer >= 1, how many candidates each trial draws
            around its parent (numeric values in the parent's windows, choices
            kept or redrawn); a Gaussian process fit on the ended trials picks
            the untried one with the highest expected improvement. Defaults to
            200. 1 draws the trial uniformly in the windows (plain
            coarse-to-fine random search).
        restart_patience: Integer >= 1, rounds of too little progress before a
            restart, or None for no restarts. Defaults to 3.
        restart_tolerance: Float in (0, 1), progress below this fraction of the
            run's median-to-best gap counts as too little. Defaults to 0.03.
        seed: Integer, the random seed (0 is a seed, unlike in KerasTuner's
            oracles).
        pruner: Optional `MedianPruner` or `PercentilePruner`. With a pruner,
            `update_trial(trial_id, metrics, step)` returns the trial with
            status `"STOPPED"` when the pruner stops it at that `step` (what
            `CoarseToFine` turns into `model.stop_training`). A pruned trial
            ends with KerasTuner's `"STOPPED"` status, scored by the best value
            it reached, so `get_best_trials()` ranks it after every completed
            trial; it counts for the rounds like any ended trial, parents a
            round only after every completed trial, and the surrogate counts
            it among the worst trials (its score is that of a shortened
            training, never taken as a final one); `pruned_trials()` lists it.
            A search resumed with `overwrite=False` restores the pruner it was
            saved with (passing another one raises a `ValueError`).
        promote_after: Float in [0, 1] or None. With a pruner, once this
            fraction of `max_trials` has ended, a new trial first looks for a
            pruned trial worth continuing: one whose best value at the step it
            was pruned ranks in the best third of every trial that reached
            that step (pruned, running and completed ones: ASHA's promotion
            rule, which a late search's completed trials alone, the elite,
            would not give). The new trial then carries the pruned trial's
            values plus `"tuner/trial_id"` (the trial it continues) and
            `"tuner/initial_epoch"` (the epoch after the one it was pruned
            at), as KerasTuner's Hyperband names them, and `CoarseToFine`
            trains it from that trial's checkpoint for the remaining epochs
            only. The pruner judges it again once it has trained three times
            the epochs it had (ASHA's next rung), not at its next epoch.
            Defaults to 0: from the first trial on, as ASHA (the rule needs a
            completed trial and a third of the trials at the step, so it
            continues nothing early; a fraction of `max_trials` would never
            be reached by a search stopped by time, whose `max_trials` is a
            mere cap). None: never continue a pruned trial.
        hyperparameters: Optional `HyperParameters` declaring (part of) the
            search space.
        allow_new_entries: Whether the hypermodel may declare hyperparameters
            missing from `hyperparameters`.
        tune_new_entries: Whether such new hyperparameters are tuned.
        max_retries_per_trial: Integer, retries of a trial that crashed.
        max_consecutive_failed_trials: Integer, failed trials in a row that
            stop the search.

    Reference:
        Bergstra & Bengio, "Random Search for Hyper-Parameter Optimization",
        JMLR 2012; Bengio, "Practical Recommendations for Gradient-Based
        Training of Deep Architectures", 2012 (ranges that move when the best
        value is at their border); Eriksson et al., "Scalable Global
        Optimization via Local Bayesian Optimization", NeurIPS 2019 (a
        surrogate ranking candidates in a local window).

    Example:

    >>> import keras_tuner
    >>> from keras_smithing.tuners import CoarseToFineOracle
    >>> hp = keras_tuner.HyperParameters()
    >>> _ = hp.Float("x", -5.0, 5.0)
    >>> oracle = CoarseToFineOracle(max_trials=15, hyperparameters=hp, seed=0)
    >>> class Quadratic(keras_tuner.Tuner):
    ...     def run_trial(self, trial, **kwargs):
    ...         return (trial.hyperparameters.get("x") - 1.0) ** 2
    >>> tuner = Quadratic(oracle, directory="oracle_demo", overwrite=True)
    >>> tuner.search(verbose=0)
    >>> len(oracle.trials)
    15
    >>> best = tuner.get_best_hyperparameters()[0]["x"]
    >>> abs(best - 1.0) < 0.5
    True
    """

    def __init__(
        self,
        objective=None,
        max_trials=50,
        rounds=None,
        trials_per_round=None,
        top_k=3,
        shrink=0.5,
        candidates=200,
        restart_patience=3,
        restart_tolerance=0.03,
        seed=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        pruner=None,
        promote_after=0.0,
    ):
        self.pruner = check_pruner(pruner, objective)
        self.promote_after = (
            None
            if promote_after is None
            else check_float(
                "promote_after", promote_after, minimum=0, maximum=1, strict=False
            )
        )
        max_trials = check_int("max_trials", max_trials, minimum=1)
        if trials_per_round is not None:
            trials_per_round = check_int(
                "trials_per_round", trials_per_round, minimum=1
            )
        self.rounds = None if rounds is None else check_int("rounds", rounds, minimum=1)
        self.top_k = check_int("top_k", top_k, minimum=1, maximum=trials_per_round)
        self.candidates = check_int("candidates", candidates, minimum=1)
        self.shrink = check_float("shrink", shrink, minimum=0, maximum=1)
        self.restart_patience = (
            None
            if restart_patience is None
            else check_int("restart_patience", restart_patience, minimum=1)
        )
        self.restart_tolerance = check_float(
            "restart_tolerance", restart_tolerance, minimum=0, maximum=1
        )
        self.trials_per_round = trials_per_round
        if seed is not None:
            seed = check_int("seed", seed, minimum=0)
        if hyperparameters is not None:
            check_ranges(hyperparameters)
        super().__init__(
            objective=check_objective(objective),
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        if seed is not None:  # KerasTuner replaces a seed of 0 by a random one.
            self.seed = seed
        self._draws = 0  # Trials drawn: each draws from its own RNG stream.
        self._round = 0
        self._round_start = 0  # Number of ended trials when the round began.
        self._widths = {}  # hp name -> window width in sampling space [0, 1].
        self._windows = {}  # trial_id -> {hp name: [low, high]} it was drawn in.
        self._trial_rounds = {}  # trial_id -> round.
        self._warned = set()
        self._best_id = None  # The best trial at the last round start.
        self._run_start = 0  # The round of the last restart.
        self._run_bests = []  # The run's best score at each of its round starts.
        self._pruned = {}  # trial_id -> the step at which it was pruned.
        self._promoted = {}  # Pruned trial_id -> the trial_id that continues it.

        self._prob_cache = {}  # (hp name, value) -> value in sampling space [0, 1].
        # The ranked trials by run start, valid while no further trial has ended.
        self._ranked_after, self._ranked = None, {}

    def update_space(self, hyperparameters):
        check_ranges(hyperparameters)
        super().update_space(hyperparameters)

    def populate_space(self, trial_id):
        self._maybe_start_rounds()
        self._trial_rounds[trial_id] = self._round
        if not self.hyperparameters.space:
            # A `run_trial` that declares its hyperparameters: nothing to draw
            # until the first trial has ended and declared them.
            return {"status": TrialStatus.RUNNING, "values": {}}
        promotion = self._promotion()
        if promotion is not None:
            parent_id, step = promotion
            self._promoted[parent_id] = trial_id
            self._windows[trial_id] = {}
            values = dict(self.trials[parent_id].hyperparameters.values)
            values.update({RESUMED_FROM: parent_id, INITIAL_EPOCH: step + 1})
            return {"status": TrialStatus.RUNNING, "values": values}
        rng = np.random.default_rng([self.seed, self.seed + self._draws])
        self._draws += 1
        for attempt in range(_MAX_COLLISIONS + 1):
            # After half the attempts, ignore the windows: the neighbourhood of
            # the parents may hold no configuration left to try.
            values, windows = self._sample(rng, local=attempt < _MAX_COLLISIONS // 2)
            if not self._tried(values):
                self._windows[trial_id] = windows
                return {"status": TrialStatus.RUNNING, "values": values}
        return {"status": TrialStatus.STOPPED, "values": None}

    def _tried(self, values):
        return oracle_has_tried(self, values)

    def _promotion(self):
        """The pruned trial to continue and the step it was pruned at, or None.

        The pruned trial (not yet continued, pruned before the last step any
        trial completed) whose best value up to its pruning step ranks best,
        as a fraction of the trials that reached that step, among those in
        the best `1 / _PROMOTION_FACTOR` of them.
        """
        if self.pruner is None or self.promote_after is None or not self._pruned:
            return None
        if len(self.end_order) < self.promote_after * self.max_trials:
            return None
        candidates = {
            trial_id: step
            for trial_id, step in self._pruned.items()
            if trial_id not in self._promoted
            and self.trials[trial_id].status == TrialStatus.STOPPED
        }
        if not candidates:
            return None
        live = (TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.RUNNING)
        curves = {
            trial_id: self._intermediate_values(trial)
            for trial_id, trial in self.trials.items()
            if trial.status in live
        }
        last_step = max(
            (
                max(curve)
                for trial_id, curve in curves.items()
                if curve and self.trials[trial_id].status == TrialStatus.COMPLETED
            ),
            default=None,
        )
        if last_step is None:
            return None
        direction = self.objective.direction
        sign = -1.0 if direction == "max" else 1.0
        best = None
        for trial_id, step in candidates.items():
            if step >= last_step:
                continue
            reached = [
                sign * best_value_until(curve, step, direction)
                for curve in curves.values()
                if step in curve
            ]
            own = sign * best_value_until(curves[trial_id], step, direction)
            if math.isnan(own):
                continue
            rank = sum(value < own for value in reached)
            if rank >= len(reached) // _PROMOTION_FACTOR:
                continue
            key = (rank / len(reached), own)
            if best is None or key < best[0]:
                best = (key, trial_id, step)
        return None if best is None else best[1:]

    def _maybe_start_rounds(self):
        size = self._round_size()
        while len(self.end_order) - self._round_start >= size and (
            self.rounds is None or self._round < self.rounds - 1
        ):
            self._round += 1
            self._round_start += size
            self._narrow()

    def _round_size(self):
        """`trials_per_round`, or by default one per tuned hyperparameter (at least 5)."""
        if self.trials_per_round is not None:
            return self.trials_per_round
        # `Fixed` values are declared but not tuned: they draw nothing.
        tuned = [
            hp
            for hp in self.hyperparameters.space
            if isinstance(hp, _NUMERIC + _CATEGORICAL)
        ]
        return max(_MIN_ROUND, len(tuned))

    def _ranked_trials(self, current_run=True):
        """The scored trials of the current run (since the last restart), best first."""
        start = self._run_start if current_run else 0
        # Asked several times per trial: cached on what the ranking reads, the
        # trials' ids, statuses and scores (a resumed or edited search changes
        # them without a new trial ending).
        key = tuple(
            (trial_id, trial.status, trial.score)
            for trial_id, trial in self.trials.items()
        )
        if self._ranked_after != key:
            self._ranked_after, self._ranked = key, {}
        if start in self._ranked:
            return self._ranked[start]
        scored = [
            self.trials[trial_id]
            for trial_id in sorted(self.trials)
            if self.trials[trial_id].status in _SCORED
            and self.trials[trial_id].score is not None
            and math.isfinite(self.trials[trial_id].score)
            and self._trial_rounds.get(trial_id, 0) >= start
        ]
        # Completed trials by score, then pruned ones (as `get_best_trials`):
        # a pruned trial's score is that of a shortened training, not a final
        # one, so it parents a round only when no completed trial is left.
        sign = -1.0 if self.objective.direction == "max" else 1.0
        ranked = sorted(
            scored,
            key=lambda t: (t.status != TrialStatus.COMPLETED, sign * t.score),
        )
        self._ranked[start] = ranked
        return ranked

    def _narrow(self):
        ranked = self._ranked_trials()
        if not ranked:
            return
        best = ranked[0]
        if self._stalled(ranked):
            self._run_start = self._round
            self._run_bests, self._widths, self._best_id = [], {}, None
            return
        # Only a new best is evidence about the edges; an old one narrows.
        is_new = best.trial_id != self._best_id
        self._best_id = best.trial_id
        for hp in self.hyperparameters.space:
            if (
                isinstance(hp, _NUMERIC)
                and not _is_ordinal(hp)
                and hp.name in best.hyperparameters.values
            ):
                self._narrow_one(hp, best, is_new)

    def _stalled(self, ranked):
        """Whether the run's best improved too little in `restart_patience` rounds."""
        scores = [t.score for t in ranked]
        self._run_bests.append(scores[0])
        patience = self.restart_patience
        if patience is None or len(self._run_bests) <= patience:
            return False
        progress = abs(self._run_bests[-1 - patience] - scores[0])
        return progress < self.restart_tolerance * abs(np.median(scores) - scores[0])

    def _narrow_one(self, hp, best, is_new):
        width = self._widths.get(hp.name, 1.0)
        prob = hp.value_to_prob(best.hyperparameters.values[hp.name])
        low, high = self._windows.get(best.trial_id, {}).get(hp.name, (0.0, 1.0))
        margin = _EDGE * (high - low)
        at_edge = (low > 0 and prob - low < margin) or (
            high < 1 and high - prob < margin
        )
        if at_edge:
            self._widths[hp.name] = min(1.0, width / self.shrink)
        else:
            self._widths[hp.name] = width * self.shrink
        if (prob < _EDGE / 5 or prob > 1 - _EDGE / 5) and hp.name not in self._warned:
            self._warned.add(hp.name)
            warnings.warn(
                f"The best value of '{hp.name}' so far, "
                f"{best.hyperparameters.values[hp.name]}, lies at the edge of its "
                f"declared range [{hp.min_value}, {hp.max_value}]; the optimum may "
                "lie outside it.",
                stacklevel=2,
            )

    # How a trial is drawn: its parent is one of the `top_k` best trials of the
    # current run (the best most often). Each numeric hyperparameter is drawn
    # in a window of the current width centred on the parent's value, in the
    # hyperparameter's sampling space (so log ranges narrow in decades). With
    # `candidates > 1`, a Gaussian process fit on the trials nearest to the
    # parent ranks the candidates by expected improvement (a local surrogate,
    # as in trust-region Bayesian optimization, Eriksson et al. 2019).
    # `_narrow` shrinks a window by `shrink` per round, or widens it by
    # `1 / shrink` when the best value sits at its edge; `_stalled` decides a
    # restart (the run's best improved by less than `restart_tolerance` times
    # the run's median-to-best gap in `restart_patience` rounds).
    def _sample(self, rng, local=True):
        """Draws values for the active hyperparameters, and the numeric windows."""
        completed = self._ranked_trials(current_run=False)
        parents = [
            t.trial_id
            for t in completed
            if self._trial_rounds.get(t.trial_id, 0) >= self._run_start
        ][: self.top_k]
        parent = None
        if local and self._round > 0 and parents:
            weights = np.arange(len(parents), 0, -1, dtype=float)
            parent_id = parents[rng.choice(len(parents), p=weights / weights.sum())]
            parent = self.trials[parent_id].hyperparameters.values
        hps = hp_module.HyperParameters()
        windows = {}
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            if isinstance(hp, _NUMERIC) and not _is_ordinal(hp):
                width = (
                    self._widths.get(hp.name, 1.0)
                    if parent and hp.name in parent
                    else 1.0
                )
                centre = hp.value_to_prob(parent[hp.name]) if width < 1 else 0.5
                low = min(max(centre - width / 2, 0.0), 1.0 - width)
                windows[hp.name] = [low, low + width]
                hps.values[hp.name] = hp.prob_to_value(rng.uniform(low, low + width))
            elif _is_drawn_as_choice(hp):
                choices = _choices(hp)
                weights = np.full(len(choices), _CHOICE_PRIOR if local else 1.0)
                for parent_id in parents if local and self._round > 0 else ():
                    value = self.trials[parent_id].hyperparameters.values.get(hp.name)
                    if value in choices:
                        weights[choices.index(value)] += 1
                hps.values[hp.name] = choices[
                    rng.choice(len(choices), p=weights / weights.sum())
                ]
            else:
                hps.values[hp.name] = hp.random_sample(int(rng.integers(2**31)))
        if parent is not None and self.candidates > 1:
            self._pick_by_surrogate(rng, hps.values, windows, parent)
        return hps.values, windows

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        """Records a trial's metrics at `step`; with a pruner, may stop it.

        Returns:
            The `Trial`; its status is `"STOPPED"` when the trial is pruned (at
            this step or before), else as it was.
        """
        seen = self._intermediate_values(self.trials[trial_id])
        trial = super().update_trial(trial_id, metrics, step)
        if self.pruner is None:
            return trial
        # Decide once per step: a second execution of the trial, or the final
        # report at the best epoch, repeats a step already decided.
        if (
            trial_id not in self._pruned
            and self.objective.name in metrics
            and (not seen or step > max(seen))
            and not self._before_next_rung(trial, step)
            and self._should_prune(trial)
        ):
            self._pruned[trial_id] = step
            self.save()
        if trial_id in self._pruned:
            # A copy: the stored trial stays RUNNING until it ends, so a search
            # resumed mid-trial does not take the status for the end of search.
            trial = copy.copy(trial)
            trial.status = TrialStatus.STOPPED
        return trial

    @staticmethod
    def _before_next_rung(trial, step):
        """Whether `trial` continues a pruned trial and, at `step`, has not yet
        trained `_PROMOTION_FACTOR` times the epochs that trial had."""
        values = trial.hyperparameters.values
        if RESUMED_FROM not in values:
            return False
        return step + 1 < _PROMOTION_FACTOR * values[INITIAL_EPOCH]

    def _intermediate_values(self, trial):
        """The trial's objective by step, as a dict `step -> value`."""
        name = self.objective.name
        if not trial.metrics.exists(name):
            return {}
        return {o.step: o.mean() for o in trial.metrics.get_history(name)}

    def _should_prune(self, trial):
        completed, others = [], []
        for other in self.trials.values():
            if other.status == TrialStatus.COMPLETED:
                completed.append(self._intermediate_values(other))
            elif other.trial_id != trial.trial_id and other.status in (
                TrialStatus.RUNNING,
                TrialStatus.STOPPED,
            ):
                # Pruned and running trials: the reference of a pruner with
                # `reference="reached"` (the others ignore them).
                others.append(self._intermediate_values(other))
        return self.pruner.should_prune(
            self._intermediate_values(trial),
            completed,
            self.objective.direction,
            others,
        )

    @keras_tuner.synchronized
    def end_trial(self, trial):
        """Ends a trial; one the pruner stopped ends `"STOPPED"`, scored."""
        step = self._pruned.get(trial.trial_id)
        if step is not None and trial.status == TrialStatus.COMPLETED:
            # The tuner ends every trial whose `run_trial` returned COMPLETED;
            # KerasTuner's status for a trial stopped early is STOPPED, which
            # `get_best_trials` ranks after every completed trial. KerasTuner
            # scores COMPLETED trials only: score this one by its best epoch.
            trial.status = TrialStatus.STOPPED
            trial.message = (
                f"Pruned at step {step} (epoch {step + 1}) by {self.pruner!r}: "
                f"its best `{self.objective.name}` so far trailed the completed "
                "trials at that step."
            )
            self.score_trial(self.trials[trial.trial_id])
        super().end_trial(trial)

    def pruned_trials(self):
        """The pruned trials: a dict `trial_id -> the step (epoch) it stopped at`."""
        return dict(self._pruned)

    def _pick_by_surrogate(self, rng, values, windows, parent):
        """Replaces `values` by the best untried of many candidates around `parent`.

        Numeric candidates are drawn uniformly in their windows; a categorical
        or ordinal keeps its draw or, with probability `_CHOICE_MUTATION`, is
        redrawn uniformly. A Gaussian process fit on the trials nearest to the parent
        ranks the candidates by expected improvement; choices enter its kernel
        by their overlap (one-hot columns: two values that differ add 1 to the
        squared distance, as Optuna's GPSampler's Hamming distance), so a value
        that keeps failing is predicted to fail and drawn less. Hyperparameters
        that condition others keep their draw.
        """
        conditioning = self._condition_parents()
        space = {hp.name: hp for hp in self.hyperparameters.space}
        names = [
            name
            for name in values
            if name not in conditioning
            and (name in windows or _is_drawn_as_choice(space.get(name)))
        ]
        if not names:
            return
        x, y = self._surrogate_data(names, space)
        if len(y) < max(_MIN_FIT, len(names) + 1):
            return
        if len(x) > surrogate.MAX_POINTS:
            centre = self._encode([parent], names, space)[0]
            nearest = np.argsort(np.sum((x - centre) ** 2, 1))[: surrogate.MAX_POINTS]
            x, y = x[nearest], y[nearest]
        columns = {}
        for name in names:
            hp = space[name]
            if name in windows:
                low, high = windows[name]
                columns[name] = low + (high - low) * rng.uniform(size=self.candidates)
            else:
                n_choices = len(_choices(hp))
                keep = rng.uniform(size=self.candidates) >= _CHOICE_MUTATION
                drawn = rng.integers(n_choices, size=self.candidates)
                columns[name] = np.where(keep, _choices(hp).index(values[name]), drawn)
        # The first candidate is the draw itself.
        for name in names:
            if name in windows:
                columns[name][0] = space[name].value_to_prob(values[name])
            else:
                columns[name][0] = _choices(space[name]).index(values[name])
        candidates = self._encode_columns(columns, names, space)
        ranking = np.argsort(
            -surrogate.expected_improvement(x, y, candidates, dimension=len(names)),
            kind="stable",
        )
        for index in ranking:
            proposal = dict(values)
            for name in names:
                hp = space[name]
                if name in windows:
                    proposal[name] = hp.prob_to_value(float(columns[name][index]))
                else:
                    proposal[name] = _choices(hp)[int(columns[name][index])]
            if not self._tried(proposal):
                values.update(proposal)
                return

    def _surrogate_data(self, names, space):
        """The surrogate's training data: trials' coordinates and scores (minimized).

        Completed trials with every one of `names` active. A pruned trial never
        enters with its score, that of a shortened training: it joins the bad
        set, with the worst completed score (as Optuna's TPE ranks pruned
        trials after completed ones).
        """
        sign = -1.0 if self.objective.direction == "max" else 1.0
        trials, scores, pruned = [], [], []
        for trial in self._ranked_trials(current_run=False):
            if not all(name in trial.hyperparameters.values for name in names):
                continue
            if trial.status == TrialStatus.COMPLETED:
                trials.append(trial.hyperparameters.values)
                scores.append(sign * trial.score)
            elif trial.trial_id not in self._promoted:
                # A continued trial's values enter once, with its continuation.
                pruned.append(trial.hyperparameters.values)
        if not scores:
            return np.zeros((0, 0)), np.zeros(0)
        scores += [max(scores)] * len(pruned)
        return self._encode(trials + pruned, names, space), np.array(scores)

    def _encode(self, rows, names, space):
        """Hyperparameter values (dicts) as the surrogate's coordinates."""
        columns = {}
        for name in names:
            hp = space[name]
            if _is_drawn_as_choice(hp):
                choices = _choices(hp)
                columns[name] = np.array([choices.index(r[name]) for r in rows])
            else:
                columns[name] = np.array([self._prob(hp, r[name]) for r in rows])
        return self._encode_columns(columns, names, space)

    def _prob(self, hp, value):
        """`hp.value_to_prob(value)`, cached: every decision encodes every trial."""
        key = (hp.name, value)
        prob = self._prob_cache.get(key)
        if prob is None:
            prob = self._prob_cache[key] = hp.value_to_prob(value)
        return prob

    @staticmethod
    def _encode_columns(columns, names, space):
        """Numeric columns in [0, 1] kept; an ordinal's index becomes its value's
        place in [0, 1] (`value_to_prob`), a choice's index a one-hot block."""
        parts = []
        for name in names:
            hp = space[name]
            if _is_ordinal(hp):
                index = np.asarray(columns[name], dtype=float)
                parts.append(((index + 0.5) / len(_choices(hp)))[:, None])
            elif isinstance(hp, _NUMERIC):
                parts.append(np.asarray(columns[name], dtype=float)[:, None])
            else:
                index = np.asarray(columns[name], dtype=int)
                one_hot = np.zeros((len(index), len(_choices(hp))))
                one_hot[np.arange(len(index)), index] = _ONE_HOT
                parts.append(one_hot)
        return np.concatenate(parts, axis=1)

    def _condition_parents(self):
        return {
            condition.name
            for hp in self.hyperparameters.space
            for condition in hp.conditions
        }

    def round_of(self, trial_id):
        """The round in which trial `trial_id` was drawn."""
        return self._trial_rounds[trial_id]

    def _forget_windows(self):
        """Drops the windows no narrowing reads again: those of ended trials other
        than the current run's best (a later best is a later trial). They were
        most of the saved state, written again after every trial."""
        ranked = self._ranked_trials()
        keep = ranked[0].trial_id if ranked else None
        ended = (*_SCORED, TrialStatus.INVALID, TrialStatus.FAILED)
        for trial_id in list(self._windows):
            trial = self.trials.get(trial_id)
            if trial_id != keep and trial is not None and trial.status in ended:
                del self._windows[trial_id]

    def get_state(self):
        self._forget_windows()
        state = super().get_state()
        # KerasTuner's "seed_state" is the seed of the next draw, as it is for its
        # own oracles (whose counter this oracle does not use).
        state["seed_state"] = self.seed + self._draws
        state["coarse_to_fine"] = {
            "round": self._round,
            "round_start": self._round_start,
            "widths": self._widths,
            "windows": self._windows,
            "trial_rounds": self._trial_rounds,
            "warned": sorted(self._warned),
            "best_id": self._best_id,
            "run_start": self._run_start,
            "run_bests": self._run_bests,
        }
        state["pruning"] = {
            "pruner": _pruner_state(self.pruner),
            "pruned": self._pruned,
            "promoted": self._promoted,
        }
        return state

    def set_state(self, state):
        super().set_state(state)
        self._ranked_after, self._ranked = None, {}
        own = state["coarse_to_fine"]
        self._draws = state["seed_state"] - self.seed
        self._round = own["round"]
        self._round_start = own["round_start"]
        self._widths = own["widths"]
        self._windows = own["windows"]
        self._trial_rounds = own["trial_rounds"]
        self._warned = set(own["warned"])
        self._best_id = own["best_id"]
        self._run_start = own.get("run_start", 0)  # Absent in older searches.
        self._run_bests = own.get("run_bests", [])
        pruning = state.get("pruning", {})
        self._restore_pruner(pruning.get("pruner"))
        self._pruned = pruning.get("pruned", {})
        self._promoted = pruning.get("promoted", {})  # Absent in older searches.

    def _restore_pruner(self, saved):
        """Restores the pruner a search was saved with; raises on another one."""
        saved = _pruner_from_state(saved)
        if self.pruner is None and saved is not None:
            # Resumed without naming a pruner: the rest of the search prunes by
            # the rule of its first trials.
            self.pruner = saved
        elif not _same_rule(saved, self.pruner):
            raise ValueError(
                f"This search was saved with pruner={saved!r} and resumes with "
                f"pruner={self.pruner!r}: its remaining trials would be pruned "
                "by another rule than its first ones. Pass the pruner it was "
                "saved with (or none: it is restored), or `overwrite=True` (or "
                "a new `project_name`) to start a new search."
            )


class CoarseToFine(TrialRecorder, keras_tuner.Tuner):
    """KerasTuner tuner running a `CoarseToFineOracle`, with run records.

    Trials are seeded, timed and recorded (`trials.csv`, `trials.sqlite` in
    the project directory) by the `TrialRecorder` mixin; `plot_search` draws
    them. It runs distributed like every KerasTuner tuner: set
    `KERASTUNER_TUNER_ID` (`"chief"` for the process that serves the oracle),
    `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`, and run the same script
    in every process.

    Args:
        hypermodel: A `keras_tuner.HyperModel` (such as `SmithingHyperModel`) or
            a function `hp -> compiled model`. May be None in a subclass that
            overrides `run_trial`.
        objective: A metric name, a `keras_tuner.Objective` (such as
            `CostAwareObjective`) or a list of them.
        max_trials: Integer >= 1, the trial budget.
        rounds: Integer >= 1 or None; see `CoarseToFineOracle`.
        trials_per_round: Integer >= 1 or None (one per tuned
            hyperparameter, at least 5), trials per round.
        top_k: Integer in [1, trials_per_round], parents of the next round.
        shrink: Float in (0, 1), window narrowing per round.
        candidates: Integer >= 1, candidates per trial ranked by the
            surrogate; 1 for plain coarse-to-fine random search.
        restart_patience, restart_tolerance: When a stalled search restarts;
            see `CoarseToFineOracle`.
        seed: Integer, the random seed of the search and, plus the trial
            number, of each trial.
        pruner: Optional `MedianPruner` or `PercentilePruner`: each epoch's
            objective is reported to the oracle, and a trial it prunes stops
            training at that epoch (`model.stop_training`) and ends with
            KerasTuner's `"STOPPED"` status (in `oracle.trials`,
            `results_summary()` and after every completed trial in
            `get_best_hyperparameters()`); its records show the status
            `"PRUNED"`. The objective must be in the epoch logs (a `val_*`
            metric needs validation data); a warning says so once when it is
            not. For searches of more than a few rounds, prefer
            `MedianPruner(reference="reached")`: the later rounds draw near
            the best trials, and the completed trials' median (the default
            reference) stops many of them before they show what they reach.
        promote_after: Float in [0, 1] or None; with a pruner, when pruned
            trials that rank in the best third at their pruning step are
            continued (see `CoarseToFineOracle`). A continued trial's model
            is built from its hyperparameters, loads the weights of the
            pruned trial's best epoch (its checkpoint, as Hyperband's trials
            do; the optimizer starts afresh) and trains from the epoch after
            the one it was pruned at (`initial_epoch`). A `HyperModel.fit`
            must pass `initial_epoch` on to `model.fit` (`SmithingHyperModel`
            does). The pruner judges a continued trial again once it has
            trained three times the epochs it had. Defaults to 0 (from the
            first trial on); None never continues a trial.
        hyperparameters, tune_new_entries, allow_new_entries,
        max_retries_per_trial, max_consecutive_failed_trials: As in
            `CoarseToFineOracle`.
        **kwargs: `keras_tuner.Tuner` arguments (`directory`, `project_name`,
            `overwrite`, `executions_per_trial`, ...). `BayesianOptimization`'s
            `num_initial_points`, `alpha` and `beta` raise a `ValueError` that
            names what to use instead.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.tuners import CoarseToFine
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 4)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> def build_model(hp):
    ...     model = keras.Sequential([
    ...         keras.Input((4,)),
    ...         keras.layers.Dense(hp.Int("units", 4, 16), activation="relu"),
    ...         keras.layers.Dense(2, activation="softmax"),
    ...     ])
    ...     learning_rate = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    ...     model.compile(keras.optimizers.Adam(learning_rate),
    ...                   "sparse_categorical_crossentropy", metrics=["accuracy"])
    ...     return model
    >>> tuner = CoarseToFine(build_model, "val_accuracy", max_trials=3, seed=0,
    ...                      directory="c2f_demo", overwrite=True)
    >>> tuner.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    >>> len(tuner.oracle.trials)
    3
    >>> sorted(tuner.get_best_hyperparameters()[0].values)
    ['learning_rate', 'units']

    Afterwards `plot_search(tuner.project_dir)` draws the search and
    `read_records(tuner.project_dir)` returns every trial's record.
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials=50,
        rounds=None,
        trials_per_round=None,
        top_k=3,
        shrink=0.5,
        candidates=200,
        restart_patience=3,
        restart_tolerance=0.03,
        seed=None,
        hyperparameters=None,
        tune_new_entries=True,
        allow_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        pruner=None,
        promote_after=0.0,
        **kwargs,
    ):
        check_no_bayesian_arguments(kwargs)
        oracle = CoarseToFineOracle(
            objective=objective,
            max_trials=max_trials,
            rounds=rounds,
            trials_per_round=trials_per_round,
            top_k=top_k,
            shrink=shrink,
            candidates=candidates,
            restart_patience=restart_patience,
            restart_tolerance=restart_tolerance,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            pruner=pruner,
            promote_after=promote_after,
        )
        super().__init__(oracle, hypermodel, **kwargs)
        # A resumed search's oracle restored the pruner it was saved with (a
        # distributed worker's oracle client has none: it keeps its own).
        self.pruner = getattr(self.oracle, "pruner", pruner)
        self._reported = set()  # Trials that reported an epoch to the oracle.
        self._warned_unpruneable = False

    def run_trial(self, trial, *args, **kwargs):
        """Runs a trial; one that continues a pruned trial starts at its epoch."""
        initial_epoch = trial.hyperparameters.values.get(INITIAL_EPOCH)
        if initial_epoch is not None:
            kwargs["initial_epoch"] = initial_epoch
        return super().run_trial(trial, *args, **kwargs)

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        super().on_epoch_begin(trial, model, epoch, logs=logs)
        values = trial.hyperparameters.values
        if RESUMED_FROM not in values:
            return
        # A continued trial loads the pruned trial's weights before its first
        # epoch, in every execution (each builds a fresh model).
        if epoch == values[INITIAL_EPOCH]:
            load_trial_checkpoint(self, model, values[RESUMED_FROM])
        elif epoch < values[INITIAL_EPOCH]:
            raise ValueError(
                f"Trial {trial.trial_id} continues pruned trial "
                f"{values[RESUMED_FROM]} from epoch {values[INITIAL_EPOCH]}, but "
                f"its `fit` started at epoch {epoch}: the hypermodel's `fit` "
                "does not pass `initial_epoch` on to `model.fit`, so the trial "
                "would train from scratch for a shortened run. Pass "
                "`**kwargs` on to `model.fit`, or set `promote_after=None`."
            )

    def on_epoch_end(self, trial, model, epoch, logs=None):
        super().on_epoch_end(trial, model, epoch, logs=logs)
        if self.pruner is None:
            return
        objective = self.oracle.objective
        if not logs or not objective.has_value(logs):
            self._warn_unpruneable(
                f"the epoch logs hold no `{objective.name}` (found "
                f"{sorted(logs or {})})"
            )
            return
        self._reported.add(trial.trial_id)
        reported = self.oracle.update_trial(
            trial.trial_id,
            {objective.name: float(objective.get_value(logs))},
            step=epoch,
        )
        if reported.status == TrialStatus.STOPPED:
            model.stop_training = True

    def on_trial_end(self, trial):
        if self.pruner is not None and trial.trial_id not in self._reported:
            self._warn_unpruneable("the trial reported no epochs")
        self._reported.discard(trial.trial_id)
        super().on_trial_end(trial)

    def _warn_unpruneable(self, reason):
        if not self._warned_unpruneable:
            self._warned_unpruneable = True
            warnings.warn(
                f"`pruner` is set but {reason}: the objective reports no "
                "intermediate values, so nothing can be pruned.",
                stacklevel=3,
            )
