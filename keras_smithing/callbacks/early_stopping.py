"""Prechelt's early-stopping criteria: GL, PQ and UP ("Early Stopping — but when?")."""

import math
import warnings

import keras

from keras_smithing.utils.validation import (
    check_float,
    check_int,
    check_one_of,
    invalid_argument,
)

_DEFAULT_THRESHOLDS = {"GL": 5.0, "PQ": 0.5, "UP": 3}
# Keras's own rule for metrics where higher is better (EarlyStopping's mode="auto").
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall")


@keras.saving.register_keras_serializable(package="keras_smithing")
class PrecheltEarlyStopping(keras.callbacks.EarlyStopping):
    """Stops training with one of Prechelt's three stopping criteria.

    With `E_va(t)` the monitored validation error after epoch `t` (counted from
    1), `E_opt(t)` the lowest one so far and `E_tr` the training error (the
    monitored key without its `val_` prefix, e.g. `loss`), a *training strip* is
    `strip_length = k` consecutive epochs ending at an epoch divisible by `k`:

    - `"GL"` (generalization loss): `GL(t) = 100 * (E_va(t) / E_opt(t) - 1)`,
      the validation error's excess over the best, in percent. Stops after the
      first epoch with `GL(t) > threshold`.
    - `"PQ"` (progress quotient): training progress
      `P_k(t) = 1000 * (sum_{strip} E_tr / (k * min_{strip} E_tr) - 1)` is large
      while the training error still falls. Stops after the first end-of-strip
      epoch with `GL(t) / P_k(t) > threshold`.
    - `"UP"`: stops after the end-of-strip epoch `t` at which the validation error
      has increased in `threshold = s` successive strips,
      `E_va(t) > E_va(t - k)`, `E_va(t - k) > E_va(t - 2k)`, ...

    The monitored quantity must be an error (lower is better): monitors named like
    an accuracy, AUC, precision or recall are rejected. A non-finite error has an
    infinite GL, so a diverged epoch stops training under GL and is never taken
    as the best. With
    `restore_best_weights=True` the model ends with the weights of the epoch of
    `E_opt`, as the paper prescribes, whether or not training stopped early. The
    values of the criterion per epoch are kept in `history` (GL for `"GL"` and
    `"UP"`, GL/P_k at strip ends for `"PQ"`).

    Args:
        criterion: One of `"GL"`, `"PQ"`, `"UP"`.
        threshold: The criterion's `alpha` (a float > 0) for GL and PQ, the number
            of strips `s` (an integer >= 1) for UP. None takes GL 5, PQ 0.5,
            UP 3 (from the paper's tested ranges, GL1-5, PQ0.5-3, UP2-4).
        strip_length: Integer >= 1, the strip length `k` (5 in the paper).
        monitor: The validation error to watch, a key of the epoch logs.
        restore_best_weights: Whether to end with the weights of the best epoch.
        verbose: 0 or 1; 1 prints when training stops and weights are restored.

    Reference:
        Prechelt, "Early Stopping — but when?", in Neural Networks: Tricks of the
        Trade, 1998.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import PrecheltEarlyStopping
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.normal(size=(64, 1))  # Pure noise.
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.Dense(64, activation="relu"),
    ...         keras.layers.Dense(1),
    ...     ]
    ... )
    >>> model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    >>> stopper = PrecheltEarlyStopping("GL", threshold=5.0)
    >>> history = model.fit(
    ...     x, y, validation_split=0.25, epochs=100, callbacks=[stopper], verbose=0
    ... )
    >>> stopper.stopped, len(history.history["loss"]) < 100
    (True, True)
    >>> stopper.best_epoch < stopper.stopped_epoch  # The best weights are back.
    True
    """

    def __init__(
        self,
        criterion="GL",
        threshold=None,
        strip_length=5,
        monitor="val_loss",
        restore_best_weights=True,
        verbose=0,
    ):
        check_one_of("criterion", criterion, tuple(_DEFAULT_THRESHOLDS))
        if any(word in monitor.removeprefix("val_") for word in _HIGHER_IS_BETTER):
            raise invalid_argument(
                "monitor",
                monitor,
                "an error to minimize, such as 'val_loss' (Prechelt's criteria "
                "stop when it rises; for accuracy monitor the loss or an error "
                "metric)",
            )
        if threshold is None:
            threshold = _DEFAULT_THRESHOLDS[criterion]
        if criterion == "UP":
            threshold = check_int("threshold", threshold, minimum=1)
        else:
            threshold = check_float("threshold", threshold, minimum=0.0)
        super().__init__(
            monitor=monitor,
            mode="min",
            restore_best_weights=restore_best_weights,
            verbose=verbose,
        )
        self.criterion = criterion
        self.threshold = threshold
        self.strip_length = check_int("strip_length", strip_length, minimum=1)
        self.train_monitor = monitor.removeprefix("val_")

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.validation_errors = []
        self.training_errors = []
        self.history = []
        self.increasing_strips = 0
        self.stopped = False

    def generalization_loss(self):
        """GL of the last epoch, in percent (infinite for a non-finite error)."""
        current = self.validation_errors[-1]
        if self.best is None or not math.isfinite(current):
            return math.inf
        if self.best > 0:
            return 100.0 * (current / self.best - 1.0)
        return 0.0 if current == self.best else math.inf

    def training_progress(self):
        """P_k of the strip ending at the last epoch, in per mille."""
        strip = self.training_errors[-self.strip_length :]
        smallest = min(strip)
        if smallest <= 0:
            return 0.0 if max(strip) <= 0 else math.inf
        return 1000.0 * (sum(strip) / (len(strip) * smallest) - 1.0)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = self.get_monitor_value(logs)
        if current is None:
            return
        current = float(current)
        self.validation_errors.append(current)
        # A diverged (NaN or infinite) epoch is never the best; its GL is infinite.
        if math.isfinite(current) and (self.best is None or current < self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        t, k = len(self.validation_errors), self.strip_length
        strip_end = t % k == 0
        gl = self.generalization_loss()
        if self.criterion == "GL":
            value, stop = gl, gl > self.threshold
        elif self.criterion == "PQ":
            value, stop = self._progress_quotient(logs, gl, strip_end)
        else:
            if strip_end and t > k:
                increased = current > self.validation_errors[t - k - 1]
                self.increasing_strips = self.increasing_strips + 1 if increased else 0
            value, stop = gl, strip_end and self.increasing_strips >= self.threshold
        self.history.append(value)
        if stop:
            self.stopped_epoch, self.stopped = epoch, True
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.verbose and self.stopped:
            print(
                f"Epoch {self.stopped_epoch + 1}: PrecheltEarlyStopping stops "
                f"training ({self.criterion} = {self.history[-1]:.4g} > "
                f"{self.threshold})."
            )
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(
                    f"Restoring the weights of epoch {self.best_epoch + 1} "
                    f"({self.monitor} = {self.best:.4g})."
                )
            self.model.set_weights(self.best_weights)

    def _progress_quotient(self, logs, gl, strip_end):
        train = logs.get(self.train_monitor)
        if train is None:
            warnings.warn(
                f"PrecheltEarlyStopping(criterion='PQ') needs the training error "
                f"`{self.train_monitor}` in the logs. Available: {sorted(logs)}",
                stacklevel=2,
            )
            return None, False
        self.training_errors.append(float(train))
        if not strip_end or len(self.training_errors) < self.strip_length:
            return None, False
        progress = self.training_progress()
        quotient = gl / progress if progress else (math.inf if gl else 0.0)
        return quotient, quotient > self.threshold

    def get_config(self):
        return {
            "criterion": self.criterion,
            "threshold": self.threshold,
            "strip_length": self.strip_length,
            "monitor": self.monitor,
            "restore_best_weights": self.restore_best_weights,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
