"""Orthogonality constraint: project a kernel back onto the orthogonal matrices."""

import keras

from keras_smithing.utils.validation import flat_kernel_shape


@keras.saving.register_keras_serializable(package="keras_smithing")
class Orthogonal(keras.constraints.Constraint):
    """Projects a kernel onto the nearest (semi-)orthogonal matrix after each update.

    The kernel is viewed as a matrix `W` of shape `(prod(shape[:-1]), shape[-1])`
    (convolution kernels flattened over receptive field x input channels). With the
    SVD `W = U S Vᵀ`, the nearest matrix with orthonormal rows or columns, in
    Frobenius norm, is `U Vᵀ`: all singular values are set to 1. Keeping a
    recurrent kernel orthogonal keeps the norm of the hidden state and of its
    gradient constant through time, so they can neither vanish nor explode.

    The projection costs one SVD of the kernel per training step; it is computed
    in float32 and cast back to the kernel's dtype.

    Reference:
        Saxe, McClelland & Ganguli, "Exact solutions to the nonlinear dynamics of
        learning in deep linear neural networks", ICLR 2014.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.constraints import Orthogonal
    >>> rnn = keras.layers.SimpleRNN(16, recurrent_constraint=Orthogonal())
    >>> model = keras.Sequential([keras.Input((5, 3)), rnn, keras.layers.Dense(1)])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> rng = np.random.default_rng(0)
    >>> _ = model.fit(rng.normal(size=(32, 5, 3)), rng.normal(size=(32, 1)), verbose=0)
    >>> w = keras.ops.convert_to_numpy(rnn.cell.recurrent_kernel)
    >>> print(np.allclose(w.T @ w, np.eye(16), atol=1e-4))
    True
    """

    def __call__(self, w):
        shape = tuple(w.shape)
        u, _, vt = keras.ops.svd(
            keras.ops.reshape(
                keras.ops.cast(w, "float32"), flat_kernel_shape("w", shape)
            ),
            full_matrices=False,
        )
        projected = keras.ops.reshape(keras.ops.matmul(u, vt), shape)
        return keras.ops.cast(projected, w.dtype)
