"""Stochastic weight averaging with batch-norm statistics recomputed at the end."""

import warnings

import keras
import numpy as np

from keras_smithing.callbacks.precise_batch_norm import recompute_batch_norm_statistics
from keras_smithing.utils.validation import check_int, invalid_argument


def _has_batch_norm(layer):
    if isinstance(layer, keras.layers.BatchNormalization):
        return True
    return any(_has_batch_norm(sub) for sub in getattr(layer, "layers", []))


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

    Args:
        start_epoch: Integer >= 0, the first epoch whose weights are averaged; it
            must be smaller than the number of epochs of the `fit` call.
        swa_freq: Integer >= 1, average every `swa_freq` epochs.
        batchnorm_data: Inputs for recomputing batch-norm statistics (anything
            `recompute_batch_norm_statistics` accepts: arrays, `(x, y)`, a
            dataset); usually the training inputs.

    Attributes:
        num_averaged: Number of snapshots in the average.
        num_skipped: Number of snapshots left out for non-finite weights.
        final_weights: The model's weights before the swap (`get_weights` list).

    Reference:
        Izmailov, Podoprikhin, Garipov, Vetrov & Wilson, "Averaging Weights Leads
        to Wider Optima and Better Generalization", UAI 2018.
    """

    def __init__(self, start_epoch, swa_freq=1, batchnorm_data=None):
        super().__init__()
        self.start_epoch = check_int("start_epoch", start_epoch, minimum=0)
        self.swa_freq = check_int("swa_freq", swa_freq, minimum=1)
        self.batchnorm_data = batchnorm_data
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
        values = [
            keras.ops.convert_to_numpy(w).astype("float64")
            for w in self.model.trainable_weights
        ]
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
        self.final_weights = self.model.get_weights()
        for weight, total in zip(self.model.trainable_weights, self._sums):
            weight.assign((total / self.num_averaged).astype(weight.dtype))
        if self.batchnorm_data is not None:
            recompute_batch_norm_statistics(self.model, self.batchnorm_data)
        elif _has_batch_norm(self.model):
            warnings.warn(
                "SWA: the model has BatchNormalization layers and no "
                "`batchnorm_data` was given; their moving statistics belong to the "
                "last iterate, not to the averaged weights.",
                stacklevel=2,
            )
