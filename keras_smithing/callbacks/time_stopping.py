"""TimeStopping: stop training when a wall-clock time budget is spent."""

import math
import time

import keras

from keras_smithing.utils.backend import broadcast_from_first_process
from keras_smithing.utils.validation import (
    check_float,
    check_one_of,
    invalid_argument,
)


@keras.saving.register_keras_serializable(package="keras_smithing")
class TimeStopping(keras.callbacks.Callback):
    """Stops training when a wall-clock time budget is spent.

    The clock starts when `fit` begins and is read before every training batch and
    at the end of every epoch. Once `seconds` have passed, the batch about to run
    is the last one: the epoch ends there (with its validation pass, if any) and
    training stops. A long epoch therefore overruns the budget by at most one
    training step (one execution with `steps_per_execution`) plus the epoch's
    validation, rather than by the rest of the epoch as with a check at epoch ends
    only (TensorFlow Addons's `TimeStopping`).

    With `restore_best_weights=True` the model ends with the weights of the epoch
    with the best `monitor` value, tracked by a `keras.callbacks.EarlyStopping`
    (with `monitor` and `mode`, and no patience) that this callback drives; a
    truncated last epoch counts as an epoch.

    Porting from `tfa.callbacks.TimeStopping`: `seconds` (a day, 86400, by
    default) and `verbose` have tfa's names, defaults and positions.

    Args:
        seconds: Float > 0, the time budget of one `fit` call, in seconds (a day
            by default).
        verbose: 0 or 1; 1 prints when and why training stopped, and which
            weights were restored.
        restore_best_weights: Whether to end with the weights of the best epoch.
        monitor: The quantity of the epoch logs that decides the best epoch (only
            read with `restore_best_weights=True`).
        mode: One of `"auto"`, `"min"`, `"max"`: whether the best `monitor` value
            is the lowest or the highest (`"auto"` infers it from the name, as
            `keras.callbacks.EarlyStopping` does).

    Attributes:
        stopped_epoch: The (0-based) epoch during which the budget ran out, or
            None.
        stopped_batch: The batch of `stopped_epoch` that was the last one, or
            None when the budget ran out at the end of an epoch.
        elapsed: Seconds from the start of `fit` to its end.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import TimeStopping
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.Dense(16, activation="relu", name="hidden"),
    ...         keras.layers.Dense(3, activation="softmax", name="output"),
    ...     ]
    ... )
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> stop = TimeStopping(seconds=3600, restore_best_weights=True)
    >>> _ = model.fit(
    ...     x, y, validation_split=0.25, epochs=3, callbacks=[stop], verbose=0
    ... )
    >>> print(stop.stopped_epoch)  # The hour was not spent.
    None
    >>> stop = TimeStopping(seconds=1e-6)  # A budget spent before the first batch.
    >>> history = model.fit(x, y, epochs=1000, callbacks=[stop], verbose=0)
    >>> len(history.history["loss"]), stop.stopped_epoch, stop.stopped_batch
    (1, 0, 0)
    """

    def __init__(
        self,
        seconds=86400,
        verbose=0,
        restore_best_weights=False,
        monitor="val_loss",
        mode="auto",
    ):
        super().__init__()
        self.seconds = check_float("seconds", seconds, minimum=0.0)
        # `verbose` is second, as in tfa: a boolean there is most likely a
        # `restore_best_weights` given by position, so it is refused.
        if isinstance(verbose, bool) or verbose not in (0, 1):
            raise invalid_argument("verbose", verbose, "0 or 1")
        self.verbose = int(verbose)
        self.restore_best_weights = bool(restore_best_weights)
        self.monitor = monitor
        self.mode = check_one_of("mode", mode, ("auto", "min", "max"))
        self.tracker = None
        if self.restore_best_weights:
            self.tracker = keras.callbacks.EarlyStopping(
                monitor=monitor,
                mode=mode,
                patience=math.inf,
                restore_best_weights=True,
                verbose=verbose,
            )
        self.stopped_epoch = self.stopped_batch = self.elapsed = None

    def set_model(self, model):
        super().set_model(model)
        if self.tracker is not None:
            self.tracker.set_model(model)

    def on_train_begin(self, logs=None):
        self.stopped_epoch = self.stopped_batch = self.elapsed = None
        self.epoch = 0
        self.start_time = time.monotonic()
        if self.tracker is not None:
            self.tracker.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _spent(self):
        spent = time.monotonic() - self.start_time >= self.seconds
        # Under multi-process training process 0's clock decides for every
        # process: one that stopped alone would leave the others waiting in a
        # collective for ever.
        return bool(broadcast_from_first_process(spent))

    # At batch begin rather than batch end: a batch-end hook makes Keras wait
    # for every batch's logs, which ends its asynchronous dispatch.
    def on_train_batch_begin(self, batch, logs=None):
        if self.stopped_epoch is None and self._spent():
            self.stopped_epoch, self.stopped_batch = self.epoch, batch
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.tracker is not None:
            self.tracker.on_epoch_end(epoch, logs)
        if self.stopped_epoch is None and self._spent():
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.elapsed = time.monotonic() - self.start_time
        if self.verbose and self.stopped_epoch is not None:
            where = f"epoch {self.stopped_epoch + 1}"
            if self.stopped_batch is None:
                where = f"the end of {where}"
            else:
                where = f"{where}, batch {self.stopped_batch + 1}"
            print(
                f"TimeStopping: training stopped at {where}: the time budget of "
                f"{self.seconds:g} s is spent ({self.elapsed:.1f} s elapsed)."
            )
        if self.tracker is not None:
            self.tracker.on_train_end(logs)

    def get_config(self):
        return {
            "seconds": self.seconds,
            "verbose": self.verbose,
            "restore_best_weights": self.restore_best_weights,
            "monitor": self.monitor,
            "mode": self.mode,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
