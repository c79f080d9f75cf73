"""Ghost batch normalization: batch norm over small virtual batches."""

import math
import warnings

import keras
from keras import ops

from keras_smithing.utils.validation import check_int, invalid_argument


@keras.saving.register_keras_serializable(package="keras_smithing")
class GhostBatchNormalization(keras.layers.BatchNormalization):
    """Batch normalization whose training statistics come from virtual batches.

    In training, the batch is split into consecutive "ghost" batches of
    `virtual_batch_size` examples (the last one smaller when the batch size is not a
    multiple, like the last batch of an epoch) and each is normalized with its own
    mean and variance, as if the network were trained with that small batch.
    Large-batch training keeps the regularizing noise of small-batch statistics, which
    closes part of the large-batch generalization gap. The moving statistics are
    updated (with `momentum`) from the whole batch's mean and variance, so at
    inference the layer is exactly `keras.layers.BatchNormalization`, and
    `keras_smithing.callbacks.PreciseBatchNorm` recomputes them like any batch norm.
    With `virtual_batch_size` equal to the batch size the layer equals
    BatchNormalization.

    Args:
        virtual_batch_size: Integer >= 1, examples per ghost batch. Use a batch
            size that is a multiple of it; a remainder forms a smaller last ghost
            batch, whose statistics are noisier.
        axis: Integer, the feature axis (not 0: the batch axis is split).
        **kwargs: The other `keras.layers.BatchNormalization` arguments
            (`momentum`, `epsilon`, `center`, `scale`, initializers,
            regularizers, constraints, base layer arguments). Batch
            renormalization and `synchronized=True` are not supported.

    Call arguments:
        inputs: Tensor of rank >= 2, batch first.
        training: Python boolean: ghost-batch statistics (True) or moving
            statistics (False).
        mask: Optional binary mask of one dimension less than `inputs`,
            broadcastable to the shape of `inputs` without its last axis, as in
            BatchNormalization: masked-out elements do not count in the
            statistics.

    Returns:
        A tensor of the shape and dtype of `inputs`.

    Reference:
        Hoffer, Hubara & Soudry, "Train longer, generalize better: closing the
        generalization gap in large batch training of neural networks", NeurIPS
        2017.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import GhostBatchNormalization
    >>> layer = GhostBatchNormalization(virtual_batch_size=32)
    >>> model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16), layer])

    In training each ghost batch of 32 is normalized with its own statistics:

    >>> x = np.random.default_rng(0).normal(size=(128, 16)).astype("float32")
    >>> x[:32] += 5.0  # The first ghost batch has another mean.
    >>> ghosts = keras.ops.convert_to_numpy(layer(x, training=True)).reshape(4, 32, 16)
    >>> print(np.allclose(ghosts.mean(axis=1), 0, atol=1e-4))
    True
    """

    def __init__(self, virtual_batch_size, axis=-1, **kwargs):
        virtual_batch_size = check_int("virtual_batch_size", virtual_batch_size)
        for name in ("renorm", "synchronized"):
            if kwargs.get(name):
                raise invalid_argument(name, kwargs[name], "False for ghost batch norm")
        super().__init__(axis=axis, **kwargs)
        self.virtual_batch_size = virtual_batch_size

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise invalid_argument(
                "axis",
                self.axis,
                f"a feature axis of the rank-{rank} input: an int in [1, {rank}) "
                f"or [-{rank - 1}, -1], not the batch axis 0",
            )
        self._warned_single_value = False
        self._warn_if_single_value(self.virtual_batch_size, input_shape)
        super().build(input_shape)

    def _warn_if_single_value(self, rows, input_shape):
        """Warns once when each feature is normalized over one value (all zeros)."""
        axis = self.axis % len(input_shape)
        others = [d for i, d in enumerate(input_shape) if i not in (0, axis)]
        if self._warned_single_value or None in others or rows * math.prod(others) != 1:
            return
        self._warned_single_value = True
        warnings.warn(
            f"GhostBatchNormalization {self.name!r} normalizes each feature over a "
            f"single value per ghost batch ({rows} row(s) of shape "
            f"{tuple(input_shape[1:])}): in training its output is all zeros. Use "
            "a larger batch or virtual_batch_size, or a per-example normalization "
            "(keras.layers.LayerNormalization or GroupNormalization).",
            stacklevel=2,
        )

    def call(self, inputs, training=None, mask=None):
        if mask is not None and len(mask.shape) != len(inputs.shape) - 1:
            # BatchNormalization's own check and words, here for training too.
            raise ValueError(
                "The mask provided should be one dimension less than the inputs. "
                f"Received: mask.shape={mask.shape}, inputs.shape={inputs.shape}"
            )
        if not (training and self.trainable):
            return super().call(inputs, training=training, mask=mask)
        size = self.virtual_batch_size
        if inputs.shape[0] is not None:
            self._warn_if_single_value(min(inputs.shape[0], size), inputs.shape)
        dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = ops.cast(inputs, dtype)
        shape = ops.shape(x)
        if mask is None:
            weights = ops.ones_like(x)
        else:
            # As in BatchNormalization: any nonzero value counts as True, and the
            # mask broadcasts over the last axis and over its own axes of size 1
            # (a (1, 2, 1) mask on a (1, 2, 3, 4) input).
            weights = ops.cast(ops.cast(mask, "bool"), dtype)
            weights = ops.broadcast_to(ops.expand_dims(weights, -1), shape)
        batch = inputs.shape[0]
        if batch is None or batch % size:
            # Zero-weight padding up to a multiple of `size`: the last ghost
            # batch holds the remainder and the padding counts nowhere.
            padding = [(0, (-shape[0]) % size)] + [(0, 0)] * (len(shape) - 1)
            x, weights = ops.pad(x, padding), ops.pad(weights, padding)
        ghosts = ops.reshape(x, (-1, size, *shape[1:]))  # (ghosts, size, ...)
        weights = ops.reshape(weights, ops.shape(ghosts))
        ndim = len(ghosts.shape)
        axis = self.axis % len(x.shape) + 1
        axes = [a for a in range(1, ndim) if a != axis]
        count = ops.maximum(ops.sum(weights, axes, keepdims=True), 1.0)
        mean = ops.sum(ghosts * weights, axes, keepdims=True) / count
        variance = (
            ops.sum(weights * ops.square(ghosts - mean), axes, keepdims=True) / count
        )

        broadcast = [1] * ndim
        broadcast[axis] = shape[axis - 1]
        outputs = (ghosts - mean) * ops.rsqrt(variance + self.epsilon)
        if self.scale:
            outputs = outputs * ops.reshape(ops.cast(self.gamma, dtype), broadcast)
        if self.center:
            outputs = outputs + ops.reshape(ops.cast(self.beta, dtype), broadcast)

        # Whole-batch moments from the ghost moments (law of total variance).
        share = count / ops.sum(count, 0, keepdims=True)
        batch_mean = ops.sum(mean * share, 0, keepdims=True)
        batch_variance = ops.sum(share * (variance + ops.square(mean - batch_mean)), 0)
        batch_mean = ops.reshape(batch_mean, (-1,))
        batch_variance = ops.reshape(batch_variance, (-1,))
        for variable, value in (
            (self.moving_mean, batch_mean),
            (self.moving_variance, batch_variance),
        ):
            variable.assign(
                ops.cast(variable, dtype) * self.momentum
                + value * (1.0 - self.momentum)
            )
        outputs = ops.reshape(outputs, ops.shape(x))[: shape[0]]
        return ops.cast(outputs, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "virtual_batch_size": self.virtual_batch_size}
