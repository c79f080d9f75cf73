"""Stochastic weight averaging with batch-norm statistics recomputed at the end."""

import warnings

import keras
import numpy as np

from keras_smithing.callbacks.precise_batch_norm import recompute_batch_norm_statistics
from keras_smithing.utils.backend import save_weights_from_first_process, to_numpy
from keras_smithing.utils.validation import check_int, check_one_of, invalid_argument


def _has_batch_norm(layer):
    if isinstance(layer, keras.layers.BatchNormalization):
        return True
    return any(_has_batch_norm(sub) for sub in getattr(layer, "layers", []))


@keras.saving.register_keras_serializable(package="keras_smithing")
class SWA(keras.callbacks.Callback):
    """Stochastic weight averaging (SWA): ends training at the average of the iterates.

    From epoch `start_epoch` on (0-based, as Keras counts epochs), at the end of
    every `swa_freq`-th epoch the model's trainable weights are added to a running
    equal-weight average (kept in float64 on the host). When training ends the
    model's trainable weights are replaced by that average. Batch-normalization
    moving statistics were accumulated for the iterates, not for the average, so
    they are then recomputed with `recompute_batch_norm_statistics(model,
    batchnorm_data)` (TensorFlow Addons' SWA left them stale); without
    `batchnorm_data` a model with BatchNormalization gets a warning instead.
    Training and the validation metrics during `fit` use the ordinary iterates;
    evaluate after `fit` to measure the average. Pair it with a constant or
    cyclical learning rate high enough to keep exploring from `start_epoch` on.

    Restore semantics: the swap happens in `on_train_end`, once. The last iterate
    (every weight, batch-norm statistics included) is kept in `final_weights`;
    `model.set_weights(swa.final_weights)` goes back to it. Callbacks run in list
    order, so an `EarlyStopping(restore_best_weights=True)` placed after SWA would
    overwrite the average; place it before. If training ends before `start_epoch`
    (early stopping), nothing was averaged: the weights are left alone, with a
    warning. A snapshot with a non-finite weight (a diverged epoch) is left out of
    the average, with a warning, so a divergence late in training does not turn the
    average into NaN.

    Checkpoints: a `keras.callbacks.ModelCheckpoint` saves the iterates. To
    checkpoint the average during training (TensorFlow Addons'
    `AverageModelCheckpoint`), give `filepath`: after each averaged epoch the
    average is written there with `model.save_weights` (batch-norm statistics of
    the current iterate), and `model.load_weights(filepath)` restores it.

    Every `fit` starts a new average, so one callback can serve several fits.
    Epochs are counted within each `fit` (`start_epoch=3, swa_freq=2` averages
    epochs 3, 5, 7, ...).

    Args:
        start_epoch: Integer >= 0, the first epoch whose weights are averaged; it
            must be smaller than the number of epochs of the `fit` call.
        swa_freq: Integer >= 1, average every `swa_freq` epochs.
        batchnorm_data: Inputs for recomputing batch-norm statistics (anything
            `recompute_batch_norm_statistics` accepts: arrays, `(x, y)`, a
            dataset); usually the training inputs. Not part of `get_config`:
            pass the data again after `from_config`.
        filepath: None, or a path ending in ".weights.h5" where the running
            average is saved after each averaged epoch.
        verbose: 0 or 1; with 1, says how many snapshots were averaged (and
            skipped) when training ends.

    Attributes:
        num_averaged: Number of snapshots in the average.
        num_skipped: Number of snapshots left out for non-finite weights.
        final_weights: The model's weights before the swap (`get_weights` list).

    Reference:
        Izmailov, Podoprikhin, Garipov, Vetrov & Wilson, "Averaging Weights Leads
        to Wider Optima and Better Generalization", UAI 2018.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import SWA
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.Dense(16, activation="relu"),
    ...         keras.layers.BatchNormalization(),
    ...         keras.layers.Dense(3, activation="softmax"),
    ...     ]
    ... )
    >>> model.compile(
    ...     optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
    ...     loss="sparse_categorical_crossentropy",
    ... )
    >>> swa = SWA(start_epoch=2, batchnorm_data=x, filepath="swa.weights.h5")
    >>> _ = model.fit(x, y, epochs=5, batch_size=16, callbacks=[swa], verbose=0)
    >>> swa.num_averaged  # Epochs 2, 3 and 4 (0-based): the model holds their mean.
    3
    >>> swa_loss = model.evaluate(x, y, verbose=0)
    >>> model.set_weights(swa.final_weights)  # Back to the last iterate.
    >>> model.load_weights("swa.weights.h5")  # The average again.
    """

    def __init__(
        self, start_epoch, swa_freq=1, batchnorm_data=None, filepath=None, verbose=0
    ):
        super().__init__()
        self.start_epoch = check_int("start_epoch", start_epoch, minimum=0)
        self.swa_freq = check_int("swa_freq", swa_freq, minimum=1)
        self.batchnorm_data = batchnorm_data
        if filepath is not None and not str(filepath).endswith(".weights.h5"):
            raise invalid_argument(
                "filepath", filepath, 'None or a path ending in ".weights.h5"'
            )
        self.filepath = None if filepath is None else str(filepath)
        self.verbose = check_one_of("verbose", verbose, (0, 1))
        self.num_averaged = 0
        self.num_skipped = 0
        self.final_weights = None

    def on_train_begin(self, logs=None):
        epochs = (self.params or {}).get("epochs")
        if epochs is not None and self.start_epoch >= epochs:
            raise invalid_argument(
                "start_epoch",
                self.start_epoch,
                f"an epoch index below the {epochs} epochs of this fit",
            )
        self.num_averaged = 0
        self.num_skipped = 0
        self._sums = None
        self.final_weights = None

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_epoch or (epoch - self.start_epoch) % self.swa_freq:
            return
        values = [to_numpy(w).astype("float64") for w in self.model.trainable_weights]
        if not all(np.all(np.isfinite(v)) for v in values):
            self.num_skipped += 1
            warnings.warn(
                f"SWA: the weights after epoch {epoch + 1} are not finite; that "
                "snapshot is left out of the average.",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        if self._sums is None:
            self._sums = values
        else:
            self._sums = [s + v for s, v in zip(self._sums, values)]
        self.num_averaged += 1
        if self.filepath is not None:
            self._assign_average()
            save_weights_from_first_process(self.model, self.filepath)
            for weight, value in zip(self.model.trainable_weights, values):
                weight.assign(value.astype(weight.dtype))

    def _assign_average(self):
        for weight, total in zip(self.model.trainable_weights, self._sums):
            weight.assign((total / self.num_averaged).astype(weight.dtype))

    def on_train_end(self, logs=None):
        if not self.num_averaged:
            reason = (
                f"all {self.num_skipped} snapshots had non-finite weights"
                if self.num_skipped
                else f"training ended before start_epoch={self.start_epoch}"
            )
            warnings.warn(
                f"SWA: {reason}; nothing was averaged and the weights are unchanged.",
                stacklevel=2,
            )
            return
        self.final_weights = [to_numpy(w) for w in self.model.weights]
        self._assign_average()
        if self.verbose:
            skipped = (
                f", {self.num_skipped} non-finite skipped" if self.num_skipped else ""
            )
            print(
                f"SWA: the weights are now the average of {self.num_averaged} "
                f"snapshots (epochs from {self.start_epoch + 1}, every "
                f"{self.swa_freq}{skipped})."
            )
        if self.batchnorm_data is not None:
            recompute_batch_norm_statistics(self.model, self.batchnorm_data)
        elif _has_batch_norm(self.model):
            warnings.warn(
                "SWA: the model has BatchNormalization layers and no "
                "`batchnorm_data` was given; their moving statistics belong to the "
                "last iterate, not to the averaged weights.",
                stacklevel=2,
            )

    def get_config(self):
        return {
            "start_epoch": self.start_epoch,
            "swa_freq": self.swa_freq,
            "filepath": self.filepath,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
