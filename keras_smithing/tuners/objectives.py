"""An objective that balances validation error against training time."""

import time

import keras
import keras_tuner

from keras_smithing.utils.validation import check_float, check_one_of, invalid_argument

TRIAL_SECONDS = "trial_seconds"


@keras.saving.register_keras_serializable(package="keras_smithing")
class TrialTimer(keras.callbacks.Callback):
    """Writes the seconds spent in `fit` so far into every epoch's logs.

    At each epoch end it adds `logs["trial_seconds"]`, the wall time since
    `fit` began, so that `History`, KerasTuner's per-epoch bookkeeping and a
    `CostAwareObjective` all see the time it took to reach that epoch.
    `CoarseToFine`, tuners with the `TrialRecorder` mixin and
    `SmithingHyperModel.fit` add the time themselves; pass a `TrialTimer` in
    `search(callbacks=[...])` to time trials of any other tuner.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.tuners import TrialTimer
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(32, 3)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> history = model.fit(x, y, epochs=2, verbose=0, callbacks=[TrialTimer()])
    >>> len(history.history["trial_seconds"])
    2

    With another tuner: `keras_tuner.RandomSearch(build_model,
    objective=CostAwareObjective("val_loss", time_weight=0.01))` and
    `tuner.search(x, y, validation_data=(x_val, y_val),
    callbacks=[TrialTimer()])`.
    """

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[TRIAL_SECONDS] = time.perf_counter() - self._start

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class CostAwareObjective(keras_tuner.Objective):
    """A KerasTuner objective: a metric plus a price per second of training.

    A criterion balancing error and computation time: a trial's
    score is `metric + time_weight * seconds` when minimizing (`metric -
    time_weight * seconds` when maximizing), where `seconds` is the measured
    wall time of the trial's training up to the scored epoch (the
    `"trial_seconds"` entry of the logs, written by `TrialTimer`, by
    `TrialRecorder` tuners such as `CoarseToFine`, or by `SmithingHyperModel`).
    It is a plain `keras_tuner.Objective`, so any KerasTuner tuner accepts it;
    the tuner tracks it under the name `"cost_aware_<metric>"`.

    Args:
        metric: Name of the metric in the logs, e.g. `"val_loss"` or
            `"val_accuracy"`.
        time_weight: Non-negative float, the objective units one second of
            training costs. `0` reduces to the plain metric.
        direction: `"min"` or `"max"`, the direction of `metric`.

    Example:

    >>> from keras_smithing.tuners import CostAwareObjective
    >>> objective = CostAwareObjective("val_loss", time_weight=0.01)
    >>> objective.name
    'cost_aware_val_loss'
    >>> round(objective.get_value({"val_loss": 0.5, "trial_seconds": 10.0}), 3)
    0.6

    Pass it as any tuner's objective: `CoarseToFine(build_model, objective,
    max_trials=20)`. A hypermodel-free `run_trial` returns the metric and the
    time together: `return {**metrics, objective.name:
    objective.get_value(metrics)}`.
    """

    def __init__(self, metric="val_loss", time_weight=0.01, direction="min"):
        if not isinstance(metric, str) or not metric:
            raise invalid_argument("metric", metric, "a non-empty metric name")
        self.metric = metric
        self.time_weight = check_float(
            "time_weight", time_weight, minimum=0, strict=False
        )
        check_one_of("direction", direction, ("min", "max"))
        super().__init__(name=f"cost_aware_{metric}", direction=direction)

    def has_value(self, logs):
        return self.name in logs or (self.metric in logs and TRIAL_SECONDS in logs)

    def get_value(self, logs):
        if self.name in logs:
            return logs[self.name]
        if self.metric not in logs or TRIAL_SECONDS not in logs:
            raise ValueError(
                f"`CostAwareObjective` needs `{self.metric}` and `{TRIAL_SECONDS}` "
                f"in the logs; found {sorted(logs)}. Time the trials: pass "
                "`callbacks=[TrialTimer()]` to `search`, or use a tuner with the "
                "`TrialRecorder` mixin."
            )
        cost = self.time_weight * logs[TRIAL_SECONDS]
        return logs[self.metric] + (cost if self.direction == "min" else -cost)

    def __eq__(self, other):
        return (
            isinstance(other, CostAwareObjective)
            and super().__eq__(other)
            and self.time_weight == other.time_weight
        )

    def __hash__(self):
        return hash((self.name, self.direction, self.time_weight))

    def __str__(self):
        return (
            f'CostAwareObjective(metric="{self.metric}", '
            f'time_weight={self.time_weight}, direction="{self.direction}")'
        )
