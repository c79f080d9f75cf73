"""Trial pruners: stop a trial whose learning curve trails the earlier trials'."""

import keras
import numpy as np

from keras_smithing.utils.validation import check_float, check_int


@keras.saving.register_keras_serializable(package="keras_smithing")
class PercentilePruner:
    """Stops a trial whose objective trails a percentile of earlier trials.

    At every epoch (step) the tuner reports the trial's objective to its
    oracle; the oracle asks the pruner whether to stop. The pruner compares
    the value with the values that the finished, unpruned trials reported at
    the same step: when the value is worse than their `percentile`-th
    percentile counted from the best (so `percentile=25` keeps only trials in
    the best quarter), the trial is pruned. No trial is pruned before
    `n_startup_trials` trials have finished unpruned, before step
    `n_warmup_steps` (steps count epochs from 0), or when fewer than
    `n_min_trials` finished trials reported that step. The pruner holds no
    state: the oracle keeps the learning curves and which trials it pruned.

    Pass it as `CoarseToFine(..., pruner=...)` (or to `CoarseToFineOracle`).

    Args:
        percentile: Float in (0, 100), the share of trials kept at each step,
            counted from the best.
        n_startup_trials: Integer >= 0, finished trials before any pruning.
            Defaults to 5.
        n_warmup_steps: Integer >= 1, epochs every trial runs before it may be
            pruned: the first decision is at step `n_warmup_steps`. Defaults
            to 1.
        n_min_trials: Integer >= 1, the fewest finished trials with a value at
            a step for a decision at that step. Defaults to 1.

    Reference:
        Golovin et al., "Google Vizier: A Service for Black-Box
        Optimization", KDD 2017 (median stopping rule); Akiba et al.,
        "Optuna: A Next-generation Hyperparameter Optimization Framework",
        KDD 2019 (`PercentilePruner`, whose arguments these follow).

    Example:

    ```python
    tuner = CoarseToFine(hypermodel, "val_accuracy", max_trials=16,
                         pruner=PercentilePruner(25.0, n_startup_trials=3))
    ```
    """

    def __init__(
        self, percentile, n_startup_trials=5, n_warmup_steps=1, n_min_trials=1
    ):
        self.percentile = check_float("percentile", percentile, minimum=0, maximum=100)
        self.n_startup_trials = check_int(
            "n_startup_trials", n_startup_trials, minimum=0
        )
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, minimum=1)
        self.n_min_trials = check_int("n_min_trials", n_min_trials, minimum=1)

    def should_prune(self, value, step, reference, n_finished, direction):
        """Whether a trial that reported `value` at `step` should stop.

        Args:
            value: Float, the trial's objective at `step`.
            step: Integer, the epoch (from 0).
            reference: List of floats, the values the finished, unpruned trials
                reported at `step`.
            n_finished: Integer, the number of finished, unpruned trials.
            direction: `"min"` or `"max"`, the objective's direction.

        Returns:
            A bool.
        """
        reference = [v for v in reference if np.isfinite(v)]
        if (
            step < self.n_warmup_steps
            or n_finished < max(self.n_startup_trials, 1)
            or len(reference) < self.n_min_trials
        ):
            return False
        if not np.isfinite(value):
            return True
        if direction == "max":
            return value < np.percentile(reference, 100 - self.percentile)
        return value > np.percentile(reference, self.percentile)

    def get_config(self):
        return {
            "percentile": self.percentile,
            "n_startup_trials": self.n_startup_trials,
            "n_warmup_steps": self.n_warmup_steps,
            "n_min_trials": self.n_min_trials,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


@keras.saving.register_keras_serializable(package="keras_smithing")
class MedianPruner(PercentilePruner):
    """Stops a trial whose objective is worse than the median of earlier trials.

    The median stopping rule: a `PercentilePruner` with `percentile=50`. At
    each step from `n_warmup_steps` on, a trial whose reported objective is
    worse than the median of the values the finished, unpruned trials reported
    at the same step is stopped.

    Args:
        n_startup_trials, n_warmup_steps, n_min_trials: As in
            `PercentilePruner` (defaults 5, 1 and 1).

    Reference:
        Golovin et al., "Google Vizier: A Service for Black-Box
        Optimization", KDD 2017.

    Example:

    ```python
    tuner = CoarseToFine(hypermodel, "val_accuracy", max_trials=16,
                         pruner=MedianPruner(n_startup_trials=3))
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=15)
    ```
    """

    def __init__(self, n_startup_trials=5, n_warmup_steps=1, n_min_trials=1):
        super().__init__(
            50.0,
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            n_min_trials=n_min_trials,
        )

    def get_config(self):
        config = super().get_config()
        del config["percentile"]
        return config
