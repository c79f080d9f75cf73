"""DropBlock: dropout of contiguous square regions of convolutional feature maps."""

import keras
import numpy as np

from keras_smithing.layers.stochastic import should_sample
from keras_smithing.utils.validation import (
    check_int,
    check_one_of,
    check_rate,
    invalid_argument,
)


def _seed_counts(size, block_size):
    """Per position of an axis, how many valid block seeds cover it."""
    seeds = np.zeros(size)
    seeds[block_size // 2 : size - (block_size - 1) // 2] = 1
    window = np.ones(block_size)
    # Seed s covers positions [s - block_size // 2, s + (block_size - 1) // 2].
    return np.convolve(seeds, window)[block_size // 2 :][:size]


def seed_probability(rate, block_size, height, width):
    """The seed probability whose expected dropped fraction is exactly `rate`.

    A position is dropped when any of the `n` valid seeds whose block covers it
    fires, with probability `1 - (1 - gamma) ** n`; the mean of that over the
    feature map is solved for `gamma` by bisection. (The paper's closed form,
    `rate / block_size**2 * area / valid_area`, ignores overlapping blocks.)
    """
    counts = np.outer(_seed_counts(height, block_size), _seed_counts(width, block_size))
    low, high = 0.0, 1.0
    for _ in range(60):
        gamma = (low + high) / 2
        if np.mean(1 - (1 - gamma) ** counts) < rate:
            low = gamma
        else:
            high = gamma
    return (low + high) / 2


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

    Args:
        rate: Float in [0, 1). Expected fraction of activations to drop.
        block_size: Positive int, the side of the dropped squares; at most the
            feature map's height and width. `block_size=1` is spatially
            independent dropout.
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        seed: Python integer seed of the masks.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: 4D tensor `(batch, height, width, channels)` (channels last).
        training: Python boolean. Whether to drop blocks (also done inside
            `keras_smithing.layers.stochastic.sampling_scope`, for `mc_predict`).

    Returns:
        A tensor of the shape of `inputs`.

    Reference:
        Ghiasi, Lin & Le, "DropBlock: A regularization method for convolutional
        networks", NeurIPS 2018.

    Example:

    >>> x = keras.Input((32, 32, 16))
    >>> y = DropBlock2D(rate=0.1, block_size=7)(x)
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
        if len(input_shape) != 4:
            raise invalid_argument(
                "inputs", tuple(input_shape), "a 4D tensor (batch, rows, cols, ch)"
            )
        if self.data_format == "channels_last":
            height, width = input_shape[1], input_shape[2]
        else:
            height, width = input_shape[2], input_shape[3]
        if height is None or width is None:
            raise invalid_argument(
                "inputs", tuple(input_shape), "a known height and width"
            )
        if self.block_size > min(height, width):
            raise invalid_argument(
                "block_size",
                self.block_size,
                f"an integer <= the feature map's height and width ({height}, {width})",
            )
        self._gamma = seed_probability(self.rate, self.block_size, height, width)
        valid = np.zeros((height, width), "float32")
        low, high = self.block_size // 2, (self.block_size - 1) // 2
        valid[low : height - high, low : width - high] = 1
        self._valid = valid[None, :, :, None]

    def call(self, inputs, training=None):
        if self.rate == 0 or not should_sample(training):
            return inputs
        x = inputs
        if self.data_format == "channels_first":
            x = keras.ops.transpose(x, (0, 2, 3, 1))
        noise = keras.random.uniform(keras.ops.shape(x), seed=self.seed_generator)
        seeds = keras.ops.cast(noise < self._gamma, "float32") * self._valid
        dropped = keras.ops.max_pool(seeds, self.block_size, strides=1, padding="same")
        keep = 1.0 - dropped
        kept = keras.ops.sum(keep, axis=(1, 2, 3), keepdims=True)
        size = float(np.prod(x.shape[1:]))
        scale = keep * (size / keras.ops.maximum(kept, 1.0))
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
