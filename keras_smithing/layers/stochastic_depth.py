"""Stochastic depth (drop-path) on a residual branch."""

import keras

from keras_smithing.layers.stochastic import should_sample
from keras_smithing.utils.validation import check_rate, invalid_argument


@keras.saving.register_keras_serializable(package="keras_smithing")
class StochasticDepth(keras.layers.Layer):
    """Adds a residual branch to its shortcut, dropping the whole branch at random.

    In training, each example's residual branch is kept with probability
    `1 - rate` and then scaled by `1 / (1 - rate)` (the scale-at-train convention,
    as in `keras.layers.Dropout`), so at inference the layer is exactly
    `shortcut + residual`. Dropping whole branches trains an implicit ensemble of
    networks of different depths and lets very deep residual networks train.

    Args:
        rate: Float in [0, 1). Probability of dropping the residual branch of an
            example. `rate=0` is exactly `shortcut + residual`.
        seed: Python integer seed of the drop decisions.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: List `[shortcut, residual]` of two tensors of the same shape, the
            batch axis first.
        training: Python boolean. Whether to drop branches (also done under
            `keras_smithing.mc_predict`).

    Returns:
        A tensor of the shape of `shortcut`.

    Reference:
        Huang et al., "Deep Networks with Stochastic Depth", ECCV 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import StochasticDepth
    >>> inputs = keras.Input((8,))
    >>> branch = keras.layers.Dense(8, activation="relu")(inputs)
    >>> model = keras.Model(inputs, StochasticDepth(0.2)([inputs, branch]))

    In training each example's branch is dropped or doubled (`rate=0.5`); at
    inference the layer adds it:

    >>> layer = StochasticDepth(0.5)
    >>> shortcut, residual = np.zeros((100, 4), "float32"), np.ones((100, 4), "float32")
    >>> print(np.unique(layer([shortcut, residual], training=True)))
    [0. 2.]
    >>> print(np.unique(layer([shortcut, residual])))
    [1.]
    """

    stochastic = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate("rate", rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) != 2
            or not all(isinstance(s, (list, tuple)) for s in input_shape)
        ):
            raise invalid_argument(
                "inputs", input_shape, "a list [shortcut, residual] of two tensors"
            )
        shortcut, residual = (tuple(s) for s in input_shape)
        if shortcut != residual:
            raise invalid_argument(
                "inputs",
                input_shape,
                "a shortcut and a residual of the same shape",
            )

    def call(self, inputs, training=None):
        shortcut, residual = inputs
        if self.rate > 0 and should_sample(training):
            rank = len(residual.shape)
            noise_shape = (keras.ops.shape(residual)[0],) + (1,) * (rank - 1)
            residual = keras.random.dropout(
                residual, self.rate, noise_shape=noise_shape, seed=self.seed_generator
            )
        return shortcut + residual

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
