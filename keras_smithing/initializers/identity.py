"""Scaled identity initialization for square and recurrent kernels (IRNN)."""

import keras

from keras_smithing.utils.validation import check_float, invalid_argument


@keras.saving.register_keras_serializable(package="keras_smithing")
class ScaledIdentity(keras.initializers.Identity):
    """Identity initializer whose `gain` survives saving.

    Returns `gain * I` for a square `(n, n)` kernel. A ReLU `SimpleRNN` whose
    recurrent kernel starts at the identity (and bias at 0) copies its hidden state
    forward unchanged until the inputs move it, so gradients neither vanish nor
    explode over long sequences: the IRNN of Le et al. A gain slightly below 1
    (0.9-1.0) makes the recurrence a little contractive.

    For the recurrent kernel of a gated cell, of shape `(n, k * n)` (`k = 3` for
    `GRU`, `4` for `LSTM`), it returns `k` identity blocks side by side, one per
    gate. Any other shape raises a `ValueError`: unlike Keras's `Identity`, which
    silently returns a truncated `eye(rows, cols)` and loses its gain in
    `get_config`, this initializer keeps its gain and refuses rectangular kernels it
    cannot make an identity of.

    Args:
        gain: Positive float multiplying the identity.

    Reference:
        Le, Jaitly & Hinton, "A Simple Way to Initialize Recurrent Networks of
        Rectified Linear Units", arXiv:1504.00941, 2015.

    Example:

    >>> import keras
    >>> from keras_smithing.initializers import ScaledIdentity
    >>> rnn = keras.layers.SimpleRNN(
    ...     32, activation="relu", recurrent_initializer=ScaledIdentity(0.95)
    ... )
    >>> model = keras.Sequential([keras.Input((100, 1)), rnn, keras.layers.Dense(1)])
    >>> print(keras.ops.convert_to_numpy(ScaledIdentity(0.5)((2, 2))))
    [[0.5 0. ]
     [0.  0.5]]
    >>> print(keras.ops.convert_to_numpy(ScaledIdentity()((2, 6))))  # A GRU's.
    [[1. 0. 1. 0. 1. 0.]
     [0. 1. 0. 1. 0. 1.]]
    """

    def __init__(self, gain=1.0):
        super().__init__(gain=check_float("gain", gain, minimum=0.0))

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 2 or shape[0] < 1 or shape[1] % shape[0] != 0:
            raise invalid_argument(
                "shape",
                shape,
                "a square kernel shape (n, n) or a gated recurrent kernel shape "
                "(n, k * n)",
            )
        blocks = [keras.ops.eye(shape[0], dtype="float32")] * (shape[1] // shape[0])
        identity = keras.ops.concatenate(blocks, axis=1) * self.gain
        return keras.ops.cast(identity, keras.backend.standardize_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}
