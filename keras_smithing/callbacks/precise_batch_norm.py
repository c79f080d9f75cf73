"""Precise batch-norm statistics: population mean/variance instead of the EMA."""

import contextlib
import itertools
import warnings

import keras
import numpy as np
from keras import ops

from keras_smithing.utils.backend import moments_over_processes, to_numpy
from keras_smithing.utils.compat import flatten_layers
from keras_smithing.utils.validation import (
    check_array_structure,
    check_int,
    invalid_data,
    is_dataset,
)


class _Moments:
    """Per-channel count, mean and sum of squared deviations, merged batch by batch.

    Each batch is reduced on the device in float32 (two-pass, so no cancellation);
    batches are merged in float64 with Chan et al.'s parallel update.
    """

    def __init__(self, axis):
        self.axis = axis
        self.count = None

    def add(self, inputs, mask=None):
        x = ops.cast(inputs, "float32")
        axes = [a for a in range(len(x.shape)) if a != self.axis % len(x.shape)]
        if mask is None:
            weights = ops.ones_like(x)
        else:  # Same convention as BatchNormalization: the mask lacks the last axis.
            weights = ops.broadcast_to(
                ops.expand_dims(ops.cast(mask, "float32"), -1), ops.shape(x)
            )
        count = ops.sum(weights, axes, keepdims=True)
        mean = ops.sum(x * weights, axes, keepdims=True) / ops.maximum(count, 1.0)
        m2 = ops.sum(weights * ops.square(x - mean), axes)
        moments = tuple(
            to_numpy(t).astype("float64").reshape(-1) for t in (count, mean, m2)
        )
        if self.count is None:
            self.count, self.mean, self.m2 = moments
            return
        self.count, self.mean, self.m2 = _merge(
            (self.count, self.mean, self.m2), moments
        )

    def result(self):
        """Returns the population mean and (biased, ddof=0) variance.

        Under multi-process training each process measured its own shard; the
        moments of every process are merged first (a collective, called in the
        same layer order everywhere), so all assign the same statistics to their
        replicated variables.
        """
        count, mean, m2 = moments_over_processes(self.count, self.mean, self.m2)
        return mean, m2 / np.maximum(count, 1.0)


def _merge(first, second):
    """Chan et al.'s parallel update: the (count, mean, m2) of two parts together."""
    count_a, mean_a, m2_a = first
    count_b, mean_b, m2_b = second
    total = count_a + count_b
    delta = mean_b - mean_a
    share = count_b / np.maximum(total, 1.0)
    return total, mean_a + delta * share, m2_a + m2_b + delta**2 * count_a * share


@contextlib.contextmanager
def _intercept_inputs(layer, record):
    """Calls `record(inputs, mask)` each time `layer` is called, inside the block."""
    original = layer.call
    shadowed = layer.__dict__.get("call")

    def call(inputs, training=None, mask=None):
        record(inputs, mask)
        return original(inputs, training=training, mask=mask)

    object.__setattr__(layer, "call", call)
    try:
        yield
    finally:
        object.__delattr__(layer, "call")
        if shadowed is not None:
            object.__setattr__(layer, "call", shadowed)


def _check_data(data):
    """Rejects None and empty or non-finite arrays; datasets are read lazily."""
    if isinstance(data, tuple):
        data = data[0] if data else None
    if isinstance(data, dict) or not is_dataset(data):
        check_array_structure("data", data)


def _input_batches(data, batch_size, num_batches):
    """Yields the model inputs of `data` batch by batch (targets are dropped)."""
    if isinstance(data, tuple):  # (x, y) or (x, y, sample_weight), as in `fit`.
        data = data[0]
    leaves = keras.tree.flatten(data)
    if leaves and all(hasattr(leaf, "shape") for leaf in leaves):
        size = len(leaves[0])
        batches = (
            keras.tree.map_structure(lambda a, i=i: a[i : i + batch_size], data)
            for i in range(0, size, batch_size)
        )
    elif isinstance(data, keras.utils.PyDataset):
        batches = (
            data[i] for i in itertools.islice(itertools.count(), data.num_batches)
        )
    else:  # tf.data.Dataset, torch DataLoader, any re-iterable of batches.
        batches = iter(data)
    for batch in itertools.islice(batches, num_batches):
        # As in `fit`: a tuple or list batch is (x, y, sample_weight); torch
        # DataLoaders yield lists.
        yield keras.utils.unpack_x_y_sample_weight(batch)[0]


def _batch_norm_layers(model):
    """The trainable `BatchNormalization` layers of `model`, at any depth."""
    return [
        layer
        for layer in flatten_layers(model, include_self=True)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def _execution_order(model, layers, first_batch):
    """`layers` sorted by when the forward pass first reaches them (unreached dropped)."""
    order = []

    def recorder(layer):
        return lambda inputs, mask: layer in order or order.append(layer)

    with contextlib.ExitStack() as stack:
        for layer in layers:
            stack.enter_context(_intercept_inputs(layer, recorder(layer)))
        model(first_batch, training=False)
    return order


def recompute_batch_norm_statistics(model, data, num_batches=None, *, batch_size=128):
    """Sets every BatchNormalization layer's moving statistics to population values.

    Training leaves an exponential moving average of per-batch statistics in
    `moving_mean` / `moving_variance`, taken while the weights were still moving.
    This replaces them with the exact mean and (biased) variance of each layer's
    inputs over `data`, as the model computes them at inference: layers are
    processed in forward order and each is measured with the layers before it
    already updated, so after the call every layer's inference-mode output has
    exactly zero mean and `gamma**2`-scaled unit variance over `data` (before
    `beta`). Cost: one inference pass over `data` per BatchNormalization layer
    (bound it with `num_batches`).

    Layers covered: every trainable instance of `keras.layers.BatchNormalization`
    reached by the forward pass, at any depth (nested models, layers inside custom
    layers such as `ResidualBlock`), including synchronized batch norm and
    `keras_smithing.layers.GhostBatchNormalization` (its inference path uses the
    same moving statistics). Batch-renorm layers also get their `moving_stddev`
    updated. Frozen (`trainable=False`) layers are left alone, as `fit` leaves
    them; LayerNormalization, GroupNormalization and the layer-normalized RNN cells
    keep no statistics and are untouched. Masks are honoured as BatchNormalization
    honours them. A layer called several times per forward pass gets the pooled
    statistics of all its calls.

    Args:
        model: A Keras model (Functional, Sequential or subclassed).
        data: Inputs to measure on: a NumPy array or a list/dict of arrays, a tuple
            `(x, y[, sample_weight])` as for `fit` (targets are ignored), a
            `keras.utils.PyDataset`, or a re-iterable of batches such as a
            `tf.data.Dataset` (each batch `x` or a tuple whose first item is `x`).
            It is iterated once per BatchNormalization layer plus once more.
        num_batches: Integer >= 1 or None. Number of batches to use per pass; None
            for all of `data` (required for infinite datasets).
        batch_size: Integer >= 1, batch size used when `data` is arrays; has no
            effect on the statistics, only on memory.

    Returns:
        The list of updated layers, in forward order (empty, with a warning, when
        the model has no BatchNormalization layer).

    Reference:
        Ioffe & Szegedy, "Batch Normalization", ICML 2015 (Algorithm 2: inference
        with population statistics); Wu & Johnson, "Rethinking 'Batch' in
        BatchNorm", 2021 (precise BN).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import recompute_batch_norm_statistics
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(3.0, 2.0, size=(64, 8))
    >>> y = rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.BatchNormalization(name="bn"),
    ...         keras.layers.Dense(3, activation="softmax"),
    ...     ]
    ... )
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> _ = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    >>> updated = recompute_batch_norm_statistics(model, x)  # Before evaluate().
    >>> [layer.name for layer in updated]
    ['bn']
    >>> bn = model.get_layer("bn")
    >>> bool(np.allclose(bn.moving_mean.numpy(), x.mean(axis=0), atol=1e-4))
    True
    >>> bool(np.allclose(bn.moving_variance.numpy(), x.var(axis=0), atol=1e-4))
    True
    """
    if num_batches is not None:
        num_batches = check_int("num_batches", num_batches)
    batch_size = check_int("batch_size", batch_size)
    _check_data(data)
    layers = _batch_norm_layers(model)
    if not layers:
        warnings.warn(
            f"Model {model.name!r} has no trainable BatchNormalization layer: "
            "there are no statistics to recompute.",
            stacklevel=2,
        )
        return []
    first = next(iter(_input_batches(data, batch_size, 1)), None)
    if first is None:
        raise invalid_data(
            "data",
            "is empty",
            "pass at least one batch",
            f"type(data)={type(data).__name__}",
        )
    order = _execution_order(model, layers, first)
    for layer in order:
        moments = _Moments(layer.axis)
        with _intercept_inputs(layer, moments.add):
            for x in _input_batches(data, batch_size, num_batches):
                model(x, training=False)
        if moments.count is None:
            raise invalid_data(
                "data",
                "was exhausted after the first pass (a one-shot iterator or generator)",
                "pass a re-iterable dataset: a tf.data.Dataset or arrays",
                f"type(data)={type(data).__name__}",
            )
        mean, variance = moments.result()
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))):
            raise invalid_data(
                "data",
                f"gives layer {layer.name!r} non-finite inputs (its statistics "
                "came out NaN or inf; the moving statistics are left as they were)",
                "pass data on which the model's activations are finite",
                f"mean and variance with {np.count_nonzero(~np.isfinite(mean))} "
                f"and {np.count_nonzero(~np.isfinite(variance))} non-finite values",
            )
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign(variance.astype("float32"))
        if layer.renorm:
            layer.moving_stddev.assign(
                np.sqrt(variance + layer.epsilon).astype("float32")
            )
    return order


class PreciseBatchNorm(keras.callbacks.Callback):
    """Replaces the batch-norm moving averages by population statistics during fit.

    With BatchNormalization the model used at test time normalizes with
    statistics accumulated as an exponential moving average over the last few
    hundred training batches, computed while the weights were changing. Ioffe &
    Szegedy's inference rule uses the mean and variance over the entire training
    sample instead. Every `every_n_epochs` epochs this callback calls
    `recompute_batch_norm_statistics(model, data, num_batches)` after the epoch's
    training steps and before its validation, so `val_*` metrics are measured with
    the precise statistics; it also does so at the end of training. Training
    itself is unchanged (batch statistics are used there), and the next epoch
    continues the moving average from the precise values.

    On a model without BatchNormalization layers it warns once and does nothing.
    See `recompute_batch_norm_statistics` for the layers covered and the data
    formats accepted.

    Args:
        data: The data to measure on (usually the training inputs, without
            augmentation): arrays, a `(x, y)` tuple, a PyDataset or a re-iterable
            dataset.
        num_batches: Integer >= 1 or None. Batches per pass; None for all of
            `data`.
        every_n_epochs: Integer >= 1. Recompute after every n-th epoch.
        batch_size: Integer >= 1, batch size used when `data` is arrays.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import PreciseBatchNorm
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(3.0, 2.0, size=(64, 8))
    >>> y = rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.BatchNormalization(name="bn"),
    ...         keras.layers.Dense(3, activation="softmax"),
    ...     ]
    ... )
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> _ = model.fit(
    ...     x[:48],
    ...     y[:48],
    ...     validation_data=(x[48:], y[48:]),  # Measured with precise statistics.
    ...     epochs=2,
    ...     batch_size=16,
    ...     callbacks=[PreciseBatchNorm(x[:48])],
    ...     verbose=0,
    ... )
    >>> moving_mean = model.get_layer("bn").moving_mean.numpy()
    >>> bool(np.allclose(moving_mean, x[:48].mean(axis=0), atol=1e-4))
    True
    """

    def __init__(self, data, num_batches=None, every_n_epochs=1, batch_size=128):
        super().__init__()
        if num_batches is not None:
            num_batches = check_int("num_batches", num_batches)
        _check_data(data)
        self.data = data
        self.num_batches = num_batches
        self.every_n_epochs = check_int("every_n_epochs", every_n_epochs)
        self.batch_size = check_int("batch_size", batch_size)
        self._fitting = False
        self._stale = False
        self._due = False
        self._disabled = False
        self._warned = False

    def _recompute(self):
        if self._disabled or not self._stale:
            return
        recompute_batch_norm_statistics(
            self.model, self.data, self.num_batches, batch_size=self.batch_size
        )
        self._stale = False

    def on_train_begin(self, logs=None):
        self._disabled = not _batch_norm_layers(self.model)
        if self._disabled and not self._warned:
            warnings.warn(
                "PreciseBatchNorm: the model has no trainable BatchNormalization "
                "layer; the callback does nothing.",
                stacklevel=2,
            )
            self._warned = True
        self._fitting = True

    def on_epoch_begin(self, epoch, logs=None):
        self._due = (epoch + 1) % self.every_n_epochs == 0

    def on_train_batch_end(self, batch, logs=None):
        self._stale = True

    def on_test_begin(self, logs=None):
        if self._fitting and self._due:  # Validation inside fit.
            self._recompute()

    def on_epoch_end(self, epoch, logs=None):
        if self._due:  # No validation this epoch: recompute now.
            self._recompute()

    def on_train_end(self, logs=None):
        self._recompute()
        self._fitting = False
