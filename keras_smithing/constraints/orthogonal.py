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

    Example:
        >>> rnn = keras.layers.SimpleRNN(
        ...     16, recurrent_initializer="orthogonal", recurrent_constraint=Orthogonal()
        ... )

    Reference:
        Saxe, McClelland & Ganguli, "Exact solutions to the nonlinear dynamics of
        learning in deep linear neural networks", ICLR 2014.
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
