"""DropBlock: dropout of contiguous square regions of convolutional feature maps."""

import keras
import numpy as np

from keras_smithing.layers.stochastic import should_sample
from keras_smithing.utils.backend import random_uniform
from keras_smithing.utils.validation import (
    check_int,
    check_one_of,
    check_rank,
    check_rate,
)


def _coverage(size, block_size, xp):
    """Per position of an axis: how many valid block seeds cover it, and whether
    it is a valid seed itself.

    The block is first clipped to the axis (its side is `min(block_size, size)`);
    a seed is valid where the clipped block fits, and seed `s` covers positions
    `[s - side // 2, s + (side - 1) // 2]`. `xp` is `numpy` (a known size) or
    `keras.ops` (a size known only when the layer runs).
    """
    side = xp.minimum(block_size, size)
    low, high = side // 2, (side - 1) // 2
    positions = xp.arange(size)
    first = xp.maximum(positions - high, low)
    last = xp.minimum(positions + low, size - 1 - high)
    valid = xp.logical_and(positions >= low, positions <= size - 1 - high)
    return xp.maximum(last - first + 1, 0), valid


def _grid(rows, cols, xp):
    """The outer product of two per-axis vectors, as a float32 (rows, cols) grid."""

    def cast(v):
        return v.astype("float32") if xp is np else keras.ops.cast(v, "float32")

    return xp.expand_dims(cast(rows), 1) * xp.expand_dims(cast(cols), 0)


def seed_probability(rate, block_size, height, width):
    """The seed probability whose expected dropped fraction is exactly `rate`.

    A position is dropped when any of the `n` valid seeds whose block covers it
    fires, with probability `1 - (1 - gamma) ** n`; the mean of that over the
    feature map is solved for `gamma` by bisection. (The paper's closed form,
    `rate / block_size**2 * area / valid_area`, ignores overlapping blocks.)
    """
    counts = _grid(
        _coverage(height, block_size, np)[0], _coverage(width, block_size, np)[0], np
    )
    low, high = 0.0, 1.0
    for _ in range(60):
        gamma = (low + high) / 2
        if np.mean(1 - (1 - gamma) ** counts) < rate:
            low = gamma
        else:
            high = gamma
    return (low + high) / 2


def _static_terms(rate, block_size, height, width):
    """`(gamma, valid seeds (1, height, width, 1))` of a known feature-map size."""
    valid = _grid(
        _coverage(height, block_size, np)[1], _coverage(width, block_size, np)[1], np
    )
    return seed_probability(rate, block_size, height, width), valid[None, :, :, None]


def _dynamic_terms(rate, block_size, height, width):
    """`_static_terms` for a size known only when the layer runs (a dynamic height
    or width in a TensorFlow graph): the same bisection, in float32 tensors."""
    ops = keras.ops
    count_rows, valid_rows = _coverage(height, block_size, ops)
    count_cols, valid_cols = _coverage(width, block_size, ops)
    counts = _grid(count_rows, count_cols, ops)

    def bisect(_, bounds):
        low, high = bounds
        gamma = (low + high) / 2
        # 1 - (1 - gamma) ** counts, accurate for small gamma.
        below = ops.mean(-ops.expm1(counts * ops.log1p(-gamma))) < rate
        return ops.where(below, gamma, low), ops.where(below, high, gamma)

    low, high = ops.fori_loop(0, 40, bisect, (ops.zeros(()), ops.ones(())))
    valid = _grid(valid_rows, valid_cols, ops)
    return (low + high) / 2, valid[None, :, :, None]


@keras.saving.register_keras_serializable(package="keras_smithing")
class DropBlock2D(keras.layers.Layer):
    """Drops contiguous `block_size x block_size` regions of 2D feature maps.

    Dropout of single activations barely regularizes convolutional layers, whose
    neighbouring activations are correlated; DropBlock drops whole square blocks
    instead. In training, block centres are drawn independently per example and
    channel, only where a whole block fits, with the probability that makes the
    expected dropped fraction exactly `rate` (overlaps included), and each
    example's kept activations are rescaled by (its number of activations) /
    (its number kept). At inference, and whenever `rate=0`, it is the identity.
    The height and width may be unknown until the layer runs
    (`keras.Input((None, None, channels))`).

    Args:
        rate: Float in [0, 1). Expected fraction of activations to drop.
        block_size: Positive int, the side of the dropped squares.
            `block_size=1` is spatially independent dropout. On a feature map
            smaller than the block, the block is clipped to the map per axis
            (`min(block_size, height)` by `min(block_size, width)`; timm's
            `drop_block_2d` clips to a square of side
            `min(block_size, height, width)`, the same on square maps).
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        seed: Python integer seed of the masks.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: 4D tensor `(batch, height, width, channels)` (channels last).
        training: Python boolean. Whether to drop blocks (also done under
            `keras_smithing.mc_predict`).

    Returns:
        A tensor of the shape of `inputs`.

    Reference:
        Ghiasi, Lin & Le, "DropBlock: A regularization method for convolutional
        networks", NeurIPS 2018.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import DropBlock2D
    >>> inputs = keras.Input((32, 32, 3))
    >>> x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    >>> x = DropBlock2D(rate=0.1, block_size=7)(x)

    In training about `rate` of each feature map is dropped, in whole blocks, and
    each example's kept activations are rescaled; at inference nothing changes:

    >>> features = np.ones((2, 32, 32, 16), dtype="float32")
    >>> layer = DropBlock2D(rate=0.1, block_size=7)
    >>> dropped = keras.ops.convert_to_numpy(layer(features, training=True))
    >>> print(round(float((dropped == 0).mean()), 1), round(float(dropped.mean()), 3))
    0.1 1.0
    >>> print(bool(keras.ops.all(layer(features) == features)))
    True
    """

    stochastic = True

    def __init__(self, rate, block_size, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("rate", rate)
        self.block_size = check_int("block_size", block_size)
        self.data_format = check_one_of(
            "data_format",
            data_format or keras.config.image_data_format(),
            ("channels_last", "channels_first"),
        )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        check_rank(input_shape, (4,), "(batch, rows, cols, channels)")
        # NumPy terms per known (height, width), computed outside any trace.
        self._terms = {}
        if self.data_format == "channels_first":
            input_shape = (input_shape[0], *input_shape[2:], input_shape[1])
        self._mask_terms(input_shape)

    def _mask_terms(self, shape):
        """`(gamma, valid seeds)` for a channels-last shape, cached if it is known."""
        height, width = shape[1:3]
        if height is None or width is None:
            return None
        if (height, width) not in self._terms:
            self._terms[(height, width)] = _static_terms(
                self.rate, self.block_size, height, width
            )
        return self._terms[(height, width)]

    def call(self, inputs, training=None):
        if self.rate == 0 or not should_sample(training):
            return inputs
        x = inputs
        if self.data_format == "channels_first":
            x = keras.ops.transpose(x, (0, 2, 3, 1))
        terms = self._mask_terms(x.shape)
        if terms is None:
            # A height or width unknown until the graph runs: the seed
            # probability is solved inside the graph.
            shape = keras.ops.shape(x)
            terms = _dynamic_terms(self.rate, self.block_size, shape[1], shape[2])
        gamma, valid = terms
        noise = random_uniform(
            keras.ops.shape(x), 0.0, 1.0, keras.config.floatx(), self.seed_generator
        )
        seeds = keras.ops.cast(noise < gamma, "float32") * valid
        # Unclipped pooling window: on an axis shorter than the block, the one
        # valid seed position covers the whole axis, i.e. the clipped block.
        dropped = keras.ops.max_pool(seeds, self.block_size, strides=1, padding="same")
        keep = 1.0 - dropped
        kept = keras.ops.mean(keep, axis=(1, 2, 3), keepdims=True)
        scale = keep / keras.ops.maximum(kept, 1e-12)
        x = x * keras.ops.cast(scale, self.compute_dtype)
        if self.data_format == "channels_first":
            x = keras.ops.transpose(x, (0, 3, 1, 2))
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "block_size": self.block_size,
            "data_format": self.data_format,
            "seed": self.seed,
        }
