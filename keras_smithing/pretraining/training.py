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
from keras_smithing.utils.validation import is_dataset


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


def fit_batches(x, y, fit_arguments):
    """`(x, fit_arguments)` for `keras.Model.fit`, an array `x` handed over as its
    batches.

    `utils.backend.array_batches` cuts them where that costs less per epoch (on
    TensorFlow). Only when nothing else `fit` does needs the array: no `y`, a
    boolean `shuffle`, and no `validation_split`, weights or `steps_per_epoch`.
    Otherwise `x` and `fit_arguments` come back as given.

    Args:
        x: The training inputs given to `fit`.
        y: The training targets given to `fit`.
        fit_arguments: Dict of `fit`'s other arguments, every one of them present.
    """
    shuffle = fit_arguments["shuffle"]
    if (
        y is not None
        or not isinstance(x, np.ndarray)
        or not isinstance(shuffle, bool)
        or fit_arguments["validation_split"]
        or fit_arguments["class_weight"] is not None
        or fit_arguments["sample_weight"] is not None
        or fit_arguments["steps_per_epoch"] is not None
    ):
        return x, fit_arguments
    batch_size = fit_arguments["batch_size"] or 32
    batches = array_batches(x, batch_size, shuffle)
    if batches is x:
        return x, fit_arguments
    validation_batch_size = fit_arguments["validation_batch_size"]
    return batches, {
        **fit_arguments,
        "batch_size": None,  # The batches are batched,
        "shuffle": False,  # and shuffled.
        # As `fit` would batch the validation data.
        "validation_batch_size": validation_batch_size or fit_arguments["batch_size"],
    }


def _check_validation_data(model, validation_data):
    """`validation_data` with its inputs checked by `model._check_inputs`."""
    if isinstance(validation_data, (tuple, list)):
        return (
            model._check_inputs(validation_data[0], "validation_data"),
            *validation_data[1:],
        )
    if validation_data is None:
        return None
    return model._check_inputs(validation_data, "validation_data")


class CheckedModel(keras.Model):
    """Base of the pretraining models: `fit`, `evaluate` and `predict` check their
    data first, and `fit` stops on divergence.

    Subclasses write `_check_inputs(x, name)`, which returns `x` checked (a
    scipy.sparse matrix densified; a dataset passes as it is), and may write
    `_check_targets(y, num_examples)`. `fit` adds a `DivergenceGuard` on the
    `_guard_monitor` metric; with `_fit_as_batches`, an array `x` is handed to
    Keras as its batches (`fit_batches`).
    """

    _guard_monitor = "loss"
    _fit_as_batches = False

    def _check_inputs(self, x, name="x"):
        raise NotImplementedError

    def _check_targets(self, y, num_examples):
        return y

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """`keras.Model.fit`, after the data checks, stopped on divergence.

        The arguments are `keras.Model.fit`'s. A `DivergenceGuard` joins
        `callbacks`: a NaN loss stops the fit and restores the last good weights.
        """
        x = self._check_inputs(x)
        if not is_dataset(x):
            y = self._check_targets(y, len(x))
        validation_data = _check_validation_data(self, validation_data)
        if not self.built and hasattr(x, "shape"):
            # Built before the fit starts, so that the guard holds initial
            # weights to restore.
            build_in_scope(self, tuple(x.shape))
        callbacks = [*(callbacks or []), DivergenceGuard(self._guard_monitor)]
        fit_arguments = {
            "batch_size": batch_size,
            "epochs": epochs,
            "verbose": verbose,
            "validation_split": validation_split,
            "shuffle": shuffle,
            "class_weight": class_weight,
            "sample_weight": sample_weight,
            "initial_epoch": initial_epoch,
            "steps_per_epoch": steps_per_epoch,
            "validation_steps": validation_steps,
            "validation_batch_size": validation_batch_size,
            "validation_freq": validation_freq,
        }
        if self._fit_as_batches:
            x, fit_arguments = fit_batches(x, y, fit_arguments)
        return super().fit(
            x,
            y,
            callbacks=callbacks,
            validation_data=validation_data,
            **fit_arguments,
        )

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
        **kwargs,
    ):
        """`keras.Model.evaluate`, after the data checks.

        The arguments are `keras.Model.evaluate`'s (`**kwargs` carries the ones
        Keras passes itself when `fit` validates).
        """
        return super().evaluate(
            self._check_inputs(x),
            y,
            batch_size=batch_size,
            verbose=verbose,
            sample_weight=sample_weight,
            steps=steps,
            callbacks=callbacks,
            return_dict=return_dict,
            **kwargs,
        )

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """`keras.Model.predict`, after the data checks.

        The arguments are `keras.Model.predict`'s.
        """
        return super().predict(
            self._check_inputs(x),
            batch_size=batch_size,
            verbose=verbose,
            steps=steps,
            callbacks=callbacks,
        )


class ClosedFormModel(CheckedModel):
    """Base of the models whose gradients are in closed form (no autodiff).

    Subclasses write `_stateful_train_step(data)` and `_stateful_test_step(data)`
    once, with `variable.assign`, `apply_gradients` and `metric.update_state`;
    `stateful_step` runs them on every backend (statelessly on JAX). The closed-form
    statistics are computed in the variables' dtype (float32 under a mixed
    precision policy). Data checks and the divergence guard come from
    `CheckedModel`.
    """

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
