"""Orthogonal initialization via the SVD of a Gaussian matrix (Saxe et al., 2014)."""

import keras

from keras_smithing.utils.validation import check_float, flat_kernel_shape


@keras.saving.register_keras_serializable(package="keras_smithing")
class SVDOrthogonal(keras.initializers.Orthogonal):
    """Orthogonal initializer from the SVD of a Gaussian matrix.

    Draws a Gaussian matrix `A` of shape `(prod(shape[:-1]), shape[-1])`, takes its
    SVD `A = U S Vᵀ` and returns `gain` times whichever of `U` and `Vᵀ` has that
    shape: orthonormal rows when rows <= cols (so `W Wᵀ = gain² I`), orthonormal
    columns otherwise (`Wᵀ W = gain² I`). Convolution kernels are flattened over
    receptive field x input channels, so each output filter is a unit vector
    orthogonal to the others. Singular values of 1 preserve the norm of signals and
    gradients through a linear layer, which is why deep linear nets initialized
    this way train as fast as shallow ones. Keras's `Orthogonal` draws the same
    distribution with a QR decomposition; this one takes the
    orthogonal factor of an SVD (Saxe et al. 2014).

    The matrix is computed in float32 and cast to the requested dtype. An integer
    seed makes every call return the same matrix, as in Keras's random
    initializers; pass a `keras.random.SeedGenerator` for a new matrix per call.

    Args:
        gain: Positive float multiplying the orthogonal matrix.
        seed: Python integer, `keras.random.SeedGenerator`, or None.

    Reference:
        Saxe, McClelland & Ganguli, "Exact solutions to the nonlinear dynamics of
        learning in deep linear neural networks", ICLR 2014.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.initializers import SVDOrthogonal
    >>> layer = keras.layers.Dense(8, kernel_initializer=SVDOrthogonal(seed=1))
    >>> layer.build((None, 16))
    >>> kernel = keras.ops.convert_to_numpy(layer.kernel)
    >>> print(kernel.shape, np.allclose(kernel.T @ kernel, np.eye(8), atol=1e-5))
    (16, 8) True
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(gain=check_float("gain", gain, minimum=0.0), seed=seed)

    def __call__(self, shape, dtype=None):
        rows, cols = flat_kernel_shape("shape", shape)
        gaussian = keras.random.normal((rows, cols), dtype="float32", seed=self.seed)
        u, _, vt = keras.ops.svd(gaussian, full_matrices=False)
        matrix = u if rows >= cols else vt
        matrix = keras.ops.reshape(self.gain * matrix, tuple(shape))
        return keras.ops.cast(matrix, keras.backend.standardize_dtype(dtype))
