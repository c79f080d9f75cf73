"""Weight normalization: w = g * v / ||v||, with data-dependent initialization."""

import contextlib

import keras
import numpy as np
from keras import ops

from keras_smithing.utils.validation import invalid_argument

_TRANSPOSED = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)


@contextlib.contextmanager
def _linear(layer):
    """Within the block, `layer` skips its activation (to read pre-activations)."""
    activation = layer.activation
    layer.activation = keras.activations.linear
    try:
        yield
    finally:
        layer.activation = activation


@keras.saving.register_keras_serializable(package="keras_smithing")
class WeightNormalization(keras.layers.Wrapper):
    """Reparameterizes a layer's kernel as `w = g * v / ||v||` per output channel.

    The wrapped layer's own `kernel` variable plays `v` (its direction) and a new
    per-output-channel scale `g` (its length) is learned beside it, which
    decouples the length of each weight vector from its direction and speeds up
    gradient descent like batch norm does, without depending on the batch. `g`
    starts at `||v||`, so before any data is seen the wrapped layer computes
    exactly what it computed unwrapped.

    With `data_init=True`, the first *training* call sets the effective scale to
    `1 / std(t)` and the effective bias to `-mean(t) / std(t)`, where
    `t = x (v / ||v||)` are the pre-activations of that first batch, so the
    layer's pre-activations start with zero mean and unit variance per channel.
    A channel whose first-batch pre-activations do not vary (a batch of one
    example, or of identical ones) gets scale 1 instead, only the mean removed.
    The data-dependent values live in non-trainable offsets added to `g` and to
    the bias (`g_offset`, `bias_offset`): a state update, like batch norm's
    moving statistics, so it happens inside `model.fit` on every backend (JAX
    keeps no assignment to a trainable variable made in a train step), and
    the gradients of `g` and the bias are those of the plain
    reparameterization. The choice "first batch or not" is a non-trainable
    `initialized` variable read with `ops.cond`, not Python state, so it
    survives `tf.function`, XLA (`jit_compile=True`), mixed precision
    (statistics in float32) and `MirroredStrategy` (each replica initializes
    from its shard; the offsets then aggregate by mean), and it is saved with
    the model (a reloaded model does not re-initialize).

    Args:
        layer: A layer with a `kernel` weight: `Dense`, `Conv1D`/`Conv2D`/
            `Conv3D` (output channels on the kernel's last axis) or
            `Conv*Transpose` (on its axis -2). Layers without a `kernel`
            (`DepthwiseConv2D`, `SeparableConv2D`) are rejected. With
            `data_init=True` it must also use a bias.
        data_init: Boolean, whether to initialize `g` and the bias from the first
            training batch.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: The wrapped layer's input.
        training: Python boolean; the data-dependent initialization happens in the
            first call with `training=True`.

    Returns:
        The wrapped layer's output.

    Reference:
        Salimans & Kingma, "Weight Normalization: A Simple Reparameterization to
        Accelerate Training of Deep Neural Networks", NeurIPS 2016.

    Example:

    >>> layer = WeightNormalization(keras.layers.Dense(64, activation="relu"))
    >>> y = layer(keras.ops.ones((8, 16)), training=True)
    """

    def __init__(self, layer, data_init=True, **kwargs):
        if not isinstance(layer, keras.layers.Layer) or not hasattr(
            layer, "kernel_initializer"
        ):
            raise invalid_argument(
                "layer", layer, "a layer with a `kernel` (Dense, Conv1D/2D/3D, ...)"
            )
        if not isinstance(data_init, (bool, np.bool_)):
            raise invalid_argument("data_init", data_init, "True or False")
        if data_init and not getattr(layer, "use_bias", False):
            raise invalid_argument(
                "data_init",
                data_init,
                "False for a layer without a bias (data init sets the bias)",
            )
        super().__init__(layer, **kwargs)
        self.data_init = bool(data_init)
        self._out_axis = -2 if isinstance(layer, _TRANSPOSED) else -1

    def build(self, input_shape=None):
        super().build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            raise invalid_argument(
                "layer", self.layer, "a layer that creates a `kernel` weight"
            )
        ndim = len(kernel.shape)
        self._norm_axes = [a for a in range(ndim) if a != self._out_axis % ndim]
        self.g = self.add_weight(
            name="g",
            shape=(kernel.shape[self._out_axis],),
            initializer=lambda shape, dtype=None: self._kernel_norm(),
            aggregation="mean",
            autocast=False,  # Read in float32 under mixed precision.
        )
        if self.data_init:
            self.initialized = self.add_weight(
                name="initialized",
                shape=(),
                initializer="zeros",
                trainable=False,
                aggregation="only_first_replica",
            )
            self.g_offset, self.bias_offset = (
                self.add_weight(
                    name=name,
                    shape=shape,
                    initializer="zeros",
                    trainable=False,
                    aggregation="mean",
                    autocast=False,
                )
                for name, shape in (
                    ("g_offset", self.g.shape),
                    ("bias_offset", self.layer.bias.shape),
                )
            )

    def _kernel_norm(self):
        kernel = ops.cast(self.layer.kernel, "float32")
        return ops.sqrt(ops.sum(ops.square(kernel), self._norm_axes))

    def _channels_shape(self, vector):
        shape = [1] * len(self.layer.kernel.shape)
        shape[self._out_axis] = -1
        return ops.reshape(vector, shape)

    def _call_with(self, inputs, kernel, bias):
        mapping = [(self.layer.kernel, kernel)]
        if bias is not None:
            mapping.append((self.layer.bias, bias))
        with keras.StatelessScope(state_mapping=mapping):
            return self.layer(inputs)

    def _data_init_values(self, inputs, direction):
        """`(g, bias)` that standardize the pre-activations of `inputs`."""
        # Initial values, not a path for gradients: without the stops, every
        # step's backward pass would carry this branch's intermediates.
        inputs, direction = ops.stop_gradient(inputs), ops.stop_gradient(direction)
        with _linear(self.layer):
            t = self._call_with(inputs, direction, ops.zeros(self.layer.bias.shape))
        t = ops.cast(t, "float32")
        channels_first = getattr(self.layer, "data_format", None) == "channels_first"
        channel_axis = 1 if channels_first else len(t.shape) - 1
        axes = [a for a in range(len(t.shape)) if a != channel_axis]
        mean, variance = ops.moments(t, axes)
        # One example, or identical ones, give no spread to standardize by: such
        # channels keep scale 1 (unit-norm weights) instead of a huge 1 / std.
        spread = variance > 1e-6 * ops.square(mean) + 1e-12
        scale = ops.where(spread, ops.rsqrt(ops.maximum(variance, 1e-12)), 1.0)
        return scale, -mean * scale

    def call(self, inputs, training=None):
        kernel = ops.cast(self.layer.kernel, "float32")
        norm = self._channels_shape(ops.maximum(self._kernel_norm(), 1e-12))
        g = ops.cast(self.g, "float32")
        bias = self.layer.bias if self.layer.use_bias else None
        if self.data_init:
            g_offset, bias_offset = self.g_offset, self.bias_offset
            if training:

                def offsets():
                    scale, shift = self._data_init_values(inputs, kernel / norm)
                    return scale - ops.stop_gradient(g), shift - ops.stop_gradient(
                        ops.cast(bias, "float32")
                    )

                # Tensors, not Variables: jax.lax.cond cannot return a Variable.
                g_offset, bias_offset = ops.cond(
                    ops.equal(self.initialized, 0.0),
                    offsets,
                    lambda: tuple(
                        ops.convert_to_tensor(v) for v in (g_offset, bias_offset)
                    ),
                )
                self.g_offset.assign(g_offset)
                self.bias_offset.assign(bias_offset)
                self.initialized.assign(1.0)
            g = g + ops.cast(g_offset, "float32")
            bias = ops.cast(bias, "float32") + ops.cast(bias_offset, "float32")
        # One pass over the kernel: scale it by the per-channel `g / ||v||`.
        outputs = self._call_with(
            inputs, kernel * (self._channels_shape(g) / norm), bias
        )
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}
