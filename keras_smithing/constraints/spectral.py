"""Spectral-norm bound: rescale a kernel whose largest singular value is too large."""

import keras

from keras_smithing.utils.validation import check_float, flat_kernel_shape


@keras.saving.register_keras_serializable(package="keras_smithing")
class SpectralNormBound(keras.constraints.Constraint):
    """Rescales a kernel so that its spectral norm is at most `max_value`.

    The kernel is viewed as a matrix `W` of shape `(prod(shape[:-1]), shape[-1])`.
    When its largest singular value `sigma` exceeds `max_value`, `W` is multiplied
    by `max_value / sigma`; otherwise it is left unchanged. A layer whose kernel has
    spectral norm `<= c` amplifies no input (and no back-propagated gradient) by
    more than `c`, so a bound of about 1 on a recurrent kernel prevents exploding
    gradients without forcing the kernel to be orthogonal.

    `sigma` is computed exactly (singular values in float32) once per training
    step, which suits the kernels of small and medium layers.

    Args:
        max_value: Positive float, the largest allowed spectral norm.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.constraints import SpectralNormBound
    >>> rnn = keras.layers.SimpleRNN(16, recurrent_constraint=SpectralNormBound(0.5))
    >>> model = keras.Sequential([keras.Input((5, 3)), rnn, keras.layers.Dense(1)])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> rng = np.random.default_rng(0)
    >>> _ = model.fit(rng.normal(size=(32, 5, 3)), rng.normal(size=(32, 1)), verbose=0)
    >>> w = keras.ops.convert_to_numpy(rnn.cell.recurrent_kernel)
    >>> print(np.linalg.norm(w, ord=2) <= 0.5 + 1e-5)  # Orthogonal init: 1.0.
    True
    """

    def __init__(self, max_value):
        self.max_value = check_float("max_value", max_value, minimum=0.0)

    def __call__(self, w):
        matrix = keras.ops.reshape(
            keras.ops.cast(w, "float32"), flat_kernel_shape("w", tuple(w.shape))
        )
        sigma = keras.ops.max(keras.ops.svd(matrix, compute_uv=False))
        scale = keras.ops.minimum(1.0, self.max_value / keras.ops.maximum(sigma, 1e-12))
        return keras.ops.cast(keras.ops.cast(w, "float32") * scale, w.dtype)

    def get_config(self):
        return {"max_value": self.max_value}
