"""Trial pruners: stop a trial whose learning curve trails the completed trials'."""

import math

import keras
import numpy as np

from keras_smithing.utils.validation import check_float, check_int, check_one_of

# The three helpers below are Optuna's `_get_best_intermediate_result_over_steps`,
# `_get_percentile_intermediate_result_over_trials` and `_is_first_in_interval_step`
# (optuna/pruners/_percentile.py), on plain values instead of Optuna's trials.


def _best_intermediate_value(values, direction):
    """The best of a trial's values so far, NaN ignored (NaN if all are NaN)."""
    values = np.asarray(values, dtype=float)
    if np.all(np.isnan(values)):
        return math.nan
    return float(np.nanmax(values) if direction == "max" else np.nanmin(values))


def best_value_until(curve, step, direction):
    """The best of a learning curve's values (a dict step -> value) up to `step`."""
    return _best_intermediate_value(
        [value for at, value in curve.items() if at <= step] or [math.nan], direction
    )


def _percentile_at_step(completed_values, step, percentile, n_min_trials, direction):
    """The completed trials' `percentile`-th percentile at `step`, from the best.

    NaN values are ignored, but count as reports for `n_min_trials`; the result
    is NaN (no decision) when fewer than `n_min_trials` trials reported `step`.
    """
    at_step = np.asarray(
        [values[step] for values in completed_values if step in values], dtype=float
    )
    if len(at_step) < n_min_trials or np.all(np.isnan(at_step)):
        return math.nan
    q = 100.0 - percentile if direction == "max" else percentile
    return float(np.nanpercentile(at_step, q))


def _is_first_in_interval(step, steps, n_warmup_steps, interval_steps):
    """Whether `step` is the trial's first report since its latest pruning step.

    The pruning steps are `n_warmup_steps + k * interval_steps`; a pruning step
    the trial skipped is checked at its next report.
    """
    latest_pruning_step = (
        step - n_warmup_steps
    ) // interval_steps * interval_steps + n_warmup_steps
    previous = max((s for s in steps if s != step), default=-1)
    return previous < latest_pruning_step


@keras.saving.register_keras_serializable(package="keras_smithing")
class PercentilePruner:
    """Stops a trial whose best value so far trails a percentile of the completed trials.

    At every epoch (step, counted from 0) the tuner reports the trial's
    objective to its oracle, which asks the pruner whether to stop. The
    pruner takes the best value the trial reached so far (the lowest for an
    objective to minimize, the highest to maximize; NaN values skipped) and
    prunes when it is strictly worse than the `percentile`-th percentile,
    counted from the best, of the values that the completed trials reported
    at the same step (`percentile=25` keeps only trials in the best quarter).
    Completed trials are those that ended normally: pruned and failed trials
    are not part of the reference. A trial that reported only NaN is pruned.
    No trial is pruned while fewer than `n_startup_trials` trials (and at
    least one) have completed, before step `n_warmup_steps`, at a step that
    is not the first the trial reported since its latest pruning step
    (`n_warmup_steps + k * interval_steps`), or when fewer than
    `n_min_trials` completed trials reported that step.

    These are the arguments, defaults and decisions of Optuna's
    `PercentilePruner`, step for step. A pruned trial ends with KerasTuner's
    `"STOPPED"` status, scored by the best epoch it ran. The pruner holds no
    state: the oracle keeps the learning curves and which trials it pruned.
    Pass it as `CoarseToFine(..., pruner=...)` (or to `CoarseToFineOracle`).

    Args:
        percentile: Float in [0, 100], the share of trials kept at each step,
            counted from the best.
        n_startup_trials: Integer >= 0, completed trials before any pruning.
            Defaults to 5.
        n_warmup_steps: Integer >= 0, the first step (epoch, from 0) at which
            a trial may be pruned. Defaults to 0.
        interval_steps: Integer >= 1, steps between two pruning checks of a
            trial, counted from `n_warmup_steps`. Defaults to 1 (every step).
        n_min_trials: Integer >= 1, the fewest completed trials with a value
            at a step for a decision at that step. Keyword-only, as in Optuna.
            Defaults to 1.
        reference: `"completed"` (default, Optuna's rule) or `"reached"`.
            With `"reached"`, the percentile at a step is taken over every
            other trial that reported that step, pruned and running trials
            included, as the rungs of ASHA: late in a search the completed
            trials are the survivors of earlier pruning, and a median of the
            survivors alone stops trials that are merely average.
            `n_startup_trials` and `n_min_trials` still count completed
            trials. Keyword-only.

    Reference:
        Akiba et al., "Optuna: A Next-generation Hyperparameter Optimization
        Framework", KDD 2019 (`optuna.pruners.PercentilePruner`, whose
        arguments and decisions these are).

    Example:

    >>> from keras_smithing.tuners import PercentilePruner
    >>> pruner = PercentilePruner(25.0, n_startup_trials=3)
    >>> completed = [{0: 0.50, 1: 0.70}, {0: 0.60, 1: 0.80}, {0: 0.40, 1: 0.65},
    ...              {0: 0.55, 1: 0.75}]
    >>> pruner.should_prune({0: 0.52}, completed, "max")
    True
    >>> pruner.should_prune({0: 0.52, 1: 0.79}, completed, "max")
    False

    In a search: `CoarseToFine(build_model, "val_accuracy", max_trials=16,
    pruner=PercentilePruner(25.0, n_startup_trials=3))`.
    """

    def __init__(
        self,
        percentile,
        n_startup_trials=5,
        n_warmup_steps=0,
        interval_steps=1,
        *,
        n_min_trials=1,
        reference="completed",
    ):
        self.percentile = check_float(
            "percentile", percentile, minimum=0, maximum=100, strict=False
        )
        self.n_startup_trials = check_int(
            "n_startup_trials", n_startup_trials, minimum=0
        )
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, minimum=0)
        self.interval_steps = check_int("interval_steps", interval_steps, minimum=1)
        self.n_min_trials = check_int("n_min_trials", n_min_trials, minimum=1)
        self.reference = check_one_of("reference", reference, ("completed", "reached"))

    def should_prune(
        self, intermediate_values, completed_values, direction, other_values=()
    ):
        """Whether a trial should stop at the last step it reported.

        Args:
            intermediate_values: Dict `step -> float`, the trial's objective at
                each step it reported so far; the decision is for its last
                (highest) step.
            completed_values: List of dicts `step -> float`, the same for each
                completed trial.
            direction: `"min"` or `"max"`, the objective's direction.
            other_values: List of dicts `step -> float`, the same for the
                other trials that did not complete (pruned, running); part of
                the reference with `reference="reached"` only.

        Returns:
            A bool.
        """
        n_completed = len(completed_values)
        if n_completed == 0 or n_completed < self.n_startup_trials:
            return False
        if not intermediate_values:
            return False
        step = max(intermediate_values)
        if step < self.n_warmup_steps or not _is_first_in_interval(
            step, intermediate_values, self.n_warmup_steps, self.interval_steps
        ):
            return False
        best = _best_intermediate_value(list(intermediate_values.values()), direction)
        if math.isnan(best):
            return True
        if self.reference == "reached":
            if sum(step in values for values in completed_values) < self.n_min_trials:
                return False
            reference = list(completed_values) + list(other_values)
        else:
            reference = completed_values
        bound = _percentile_at_step(
            reference, step, self.percentile, self.n_min_trials, direction
        )
        if math.isnan(bound):
            return False
        return best < bound if direction == "max" else best > bound

    def get_config(self):
        return {
            "percentile": self.percentile,
            "n_startup_trials": self.n_startup_trials,
            "n_warmup_steps": self.n_warmup_steps,
            "interval_steps": self.interval_steps,
            "n_min_trials": self.n_min_trials,
            "reference": self.reference,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


@keras.saving.register_keras_serializable(package="keras_smithing")
class MedianPruner(PercentilePruner):
    """Stops a trial whose best value so far is worse than the completed trials' median.

    The median stopping rule: a `PercentilePruner` with `percentile=50`. At
    each checked step (every step from `n_warmup_steps` on, by default), a
    trial whose best objective so far is strictly worse than the median of
    the values the completed trials reported at the same step is stopped; it
    ends with KerasTuner's `"STOPPED"` status. The arguments, defaults and
    decisions are those of Optuna's `MedianPruner`.

    Args:
        n_startup_trials: Integer >= 0, completed trials before any pruning.
            Defaults to 5.
        n_warmup_steps: Integer >= 0, the first step (epoch, from 0) at which
            a trial may be pruned. Defaults to 0.
        interval_steps: Integer >= 1, steps between two pruning checks of a
            trial, counted from `n_warmup_steps`. Defaults to 1.
        n_min_trials: Integer >= 1, the fewest completed trials with a value
            at a step for a decision at that step. Keyword-only, as in Optuna.
            Defaults to 1.
        reference: `"completed"` (default, Optuna's rule: the median of the
            completed trials) or `"reached"` (the median of every other trial
            that reported the step, as ASHA's rungs); see `PercentilePruner`.
            Keyword-only.

    Reference:
        Golovin et al., "Google Vizier: A Service for Black-Box
        Optimization", KDD 2017 (median stopping rule);
        `optuna.pruners.MedianPruner`.

    Example:

    >>> from keras_smithing.tuners import MedianPruner
    >>> pruner = MedianPruner(n_startup_trials=3)
    >>> completed = [{0: 0.50, 1: 0.70}, {0: 0.60, 1: 0.80}, {0: 0.40, 1: 0.65}]
    >>> pruner.should_prune({0: 0.45}, completed, "max")
    True
    >>> pruner.should_prune({0: 0.55}, completed, "max")
    False

    In a search: `CoarseToFine(build_model, "val_accuracy", max_trials=16,
    pruner=MedianPruner(n_startup_trials=3))`, then `tuner.search(x, y,
    validation_data=(x_val, y_val), epochs=15)`.
    """

    def __init__(
        self,
        n_startup_trials=5,
        n_warmup_steps=0,
        interval_steps=1,
        *,
        n_min_trials=1,
        reference="completed",
    ):
        super().__init__(
            50.0,
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
            n_min_trials=n_min_trials,
            reference=reference,
        )

    def get_config(self):
        config = super().get_config()
        del config["percentile"]
        return config
