"""What the pretraining models share: closed-form training, the NaN guard, block fits."""

import copy
import time
import warnings

import keras
import numpy as np

from keras_smithing.utils.backend import (
    array_batches,
    build_in_scope,
    mean_over_replicas,
    seeded_shuffle,
    stateful_step,
)


class DivergenceGuard(keras.callbacks.Callback):
    """Stops `fit` when `monitor` turns NaN and restores the last good weights.

    Used by the pretraining models' `fit`; checks once per epoch (a NaN in any
    batch makes the epoch mean NaN), so it costs nothing per step.
    """

    def __init__(self, monitor):
        super().__init__()
        self.monitor = monitor
        self.diverged = False
        self._good = None

    def on_train_begin(self, logs=None):
        self.diverged = False
        # Empty for a model that builds in its first step (dataset inputs).
        self._good = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor, 0.0)
        weights = self.model.get_weights()
        if np.isfinite(value) and all(np.all(np.isfinite(w)) for w in weights):
            self._good = weights
            return
        self.diverged = True
        self.model.stop_training = True
        if self._good:
            self.model.set_weights(self._good)
            outcome = "the weights of the last good epoch restored"
        else:
            outcome = "no earlier weights to restore (the model was not built)"
        warnings.warn(
            f"{type(self.model).__name__} diverged in epoch {epoch + 1} "
            f"({self.monitor}={value}): training stopped and {outcome}. Lower the "
            "learning rate, or scale the inputs (Gaussian visible units expect "
            "standardized data).",
            RuntimeWarning,
            stacklevel=2,
        )


def with_guard(model, x, callbacks, monitor):
    """`callbacks` plus a `DivergenceGuard`; builds `model` from an array `x` first,
    so that the guard holds initial weights to restore."""
    if not model.built and hasattr(x, "shape"):
        build_in_scope(model, tuple(x.shape))
    return [*(callbacks or []), DivergenceGuard(monitor)]


# The `fit` arguments that mean the same for an array and for its batches.
_BATCH_INVARIANT_FIT_ARGUMENTS = frozenset(
    {
        "batch_size",
        "epochs",
        "verbose",
        "shuffle",
        "initial_epoch",
        "validation_steps",
        "validation_batch_size",
        "validation_freq",
    }
)


def fit_batches(x, y, args, kwargs):
    """`(x, kwargs)` for `keras.Model.fit`, an array `x` handed over as its batches.

    `utils.backend.array_batches` cuts them where that costs less per epoch (on
    TensorFlow). Only when nothing else `fit` does needs the array: no `y`, no
    positional arguments, a boolean `shuffle`, and no `validation_split`,
    weights or `steps_per_epoch`. Otherwise `x` and `kwargs` come back as given.
    """
    shuffle = kwargs.get("shuffle", True)
    if (
        y is not None
        or args
        or not isinstance(x, np.ndarray)
        or not isinstance(shuffle, bool)
        or not set(kwargs) <= _BATCH_INVARIANT_FIT_ARGUMENTS
    ):
        return x, kwargs
    batches = array_batches(x, kwargs.get("batch_size") or 32, shuffle)
    if batches is x:
        return x, kwargs
    kwargs = dict(kwargs)
    batch_size = kwargs.pop("batch_size", None)
    if kwargs.get("validation_batch_size") is None:  # As `fit` would batch them.
        kwargs["validation_batch_size"] = batch_size
    return batches, {**kwargs, "shuffle": False}  # The batches are shuffled.


class ClosedFormModel(keras.Model):
    """Base of the models whose gradients are in closed form (no autodiff).

    Subclasses write `_stateful_train_step(data)` and `_stateful_test_step(data)`
    once, with `variable.assign`, `apply_gradients` and `metric.update_state`;
    `stateful_step` runs them on every backend (statelessly on JAX). The closed-form
    statistics are computed in the variables' dtype (float32 under a mixed
    precision policy). Subclasses write `_check_inputs(x, name)`, which `evaluate`
    and `predict` apply to their data (it densifies a scipy.sparse matrix).
    """

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`, plus input checks (scipy.sparse densified)."""
        return super().evaluate(self._check_inputs(x), y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`, plus input checks (scipy.sparse densified)."""
        return super().predict(self._check_inputs(x), *args, **kwargs)

    def apply_gradients(self, grads, variables):
        """Applies closed-form `grads` (a list aligned with `variables`).

        They come from no scaled loss, so a `LossScaleOptimizer` (which `compile`
        wraps around the optimizer under `mixed_float16`) is bypassed for its inner
        optimizer. Data-parallel replicas are averaged as for Keras losses.
        """
        optimizer = self.optimizer
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            optimizer = optimizer.inner_optimizer
        optimizer.apply(mean_over_replicas(grads), variables)

    def train_step(self, *args):
        return stateful_step(self, self._stateful_train_step, args, training=True)

    def test_step(self, *args):
        return stateful_step(self, self._stateful_test_step, args, training=False)


def serialize_optimizer(optimizer, method):
    """An optimizer argument as a config from which to build fresh copies.

    `None` gives the defaults: SGD with learning rate 0.05 and momentum 0.9 for
    RBMs (Hinton's guide), Adam with learning rate 1e-3 for autoencoders.
    """
    if optimizer is None:
        if method == "rbm":
            optimizer = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
        else:
            optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    if isinstance(optimizer, dict):
        return copy.deepcopy(optimizer)
    return keras.optimizers.serialize(keras.optimizers.get(optimizer))


def fit_block(block, x, optimizer, epochs, batch_size, verbose=0, loss=None):
    """Compiles `block` with a fresh optimizer, fits it on `x`, returns a report.

    Args:
        block: An `RBM` or `DenoisingAutoencoder`.
        x: Its training data (NumPy).
        optimizer: Optimizer config (from `serialize_optimizer`).
        epochs: Number of epochs.
        batch_size: Batch size.
        verbose: `fit` verbosity.
        loss: Loss of a `DenoisingAutoencoder`.

    Returns:
        A dict: `history` (per-epoch metrics), `final` (last epoch's metrics),
        `diverged` (training stopped on a NaN) and `seconds`.
    """
    block.compile(
        optimizer=keras.optimizers.deserialize(copy.deepcopy(optimizer)), loss=loss
    )
    start = time.perf_counter()
    with seeded_shuffle(block.seed):
        history = block.fit(x, epochs=epochs, batch_size=batch_size, verbose=verbose)
    seconds = time.perf_counter() - start
    values = history.history
    return {
        "history": {name: [float(v) for v in vs] for name, vs in values.items()},
        "final": {name: float(vs[-1]) for name, vs in values.items()},
        "diverged": not all(np.isfinite(v) for vs in values.values() for v in vs),
        "seconds": seconds,
    }
