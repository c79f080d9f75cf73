"""Weight normalization: w = g * v / ||v||, with data-dependent initialization."""

import contextlib
import warnings

import keras
from keras import ops

from keras_smithing.utils import backend, compat
from keras_smithing.utils.validation import check_bool, invalid_argument

_TRANSPOSED = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)


def _float32(x):
    """`x` (a tensor, or a variable's value) in float32, cast only where it is
    not."""
    if isinstance(x, keras.Variable):
        x = x.value
    if keras.backend.standardize_dtype(x.dtype) == "float32":
        return x
    return ops.cast(x, "float32")


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
    The initialization runs inside `model.fit` on every backend, with
    `jit_compile=True`, mixed precision and `MirroredStrategy` (each replica
    initializes from its shard), and it is saved with the model: a reloaded
    model does not re-initialize.

    Args:
        layer: A layer with a `kernel` weight: `Dense`, `Conv1D`/`Conv2D`/
            `Conv3D` (output channels on the kernel's last axis),
            `Conv*Transpose` (on its axis -2), or a recurrent layer
            (`SimpleRNN`, `LSTM`, `GRU`, or `keras.layers.RNN` around such a
            cell), whose cell's `kernel` and `recurrent_kernel` are both
            normalized per column, each with its own scale (`g`,
            `recurrent_g`). Layers without a `kernel` (`DepthwiseConv2D`,
            `SeparableConv2D`, `Bidirectional`) are rejected.
        data_init: Boolean, whether to initialize `g` and the bias from the first
            training batch. On a layer without a bias only `g` is initialized
            (unit variance; the mean is left as it is). Must be False for a
            recurrent layer (the paper's data-dependent initialization is for
            feed-forward layers).
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: The wrapped layer's input.
        training: Python boolean; the data-dependent initialization happens in the
            first call with `training=True`. A call with `training=False` before
            any (e.g. `predict` or `evaluate` before `fit`) warns once: it computes
            the plain reparameterization, without the data init.

    Returns:
        The wrapped layer's output.

    Reference:
        Salimans & Kingma, "Weight Normalization: A Simple Reparameterization to
        Accelerate Training of Deep Neural Networks", NeurIPS 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import WeightNormalization
    >>> layer = WeightNormalization(keras.layers.Dense(4))
    >>> model = keras.Sequential([keras.Input((16,)), layer, keras.layers.ReLU()])

    The first training call (the first step of `fit`) standardizes the
    pre-activations of its batch:

    >>> x = np.random.default_rng(0).normal(3.0, 2.0, (256, 16)).astype("float32")
    >>> y = keras.ops.convert_to_numpy(layer(x, training=True))
    >>> print(np.allclose(y.mean(0), 0, atol=1e-4), np.allclose(y.std(0), 1))
    True True

    For deployment, `remove()` folds the normalization into the wrapped layer;
    a whole Sequential or Functional model is stripped by cloning it (the clone
    shares the layers, so it predicts exactly what the model predicts):

    >>> plain = keras.models.clone_model(
    ...     model,
    ...     clone_function=lambda l: (
    ...         l.remove() if isinstance(l, WeightNormalization) else l
    ...     ),
    ... )
    >>> print(np.allclose(plain.predict(x, verbose=0), model.predict(x, verbose=0)))
    True
    """

    def __init__(self, layer, data_init=True, **kwargs):
        recurrent = isinstance(layer, keras.layers.RNN)
        owner = layer.cell if recurrent else layer
        if not isinstance(layer, keras.layers.Layer) or not hasattr(
            owner, "kernel_initializer"
        ):
            raise invalid_argument(
                "layer",
                layer,
                "a layer with a `kernel` (Dense, Conv1D/2D/3D, SimpleRNN/LSTM/GRU, ...)",
            )
        data_init = check_bool("data_init", data_init)
        if data_init and recurrent:
            raise invalid_argument(
                "data_init",
                data_init,
                "False for a recurrent layer (data-dependent initialization is "
                "defined for feed-forward layers)",
            )
        super().__init__(layer, **kwargs)
        self.data_init = data_init
        self._recurrent = recurrent
        self._out_axis = -2 if isinstance(layer, _TRANSPOSED) else -1
        self._init_known = False  # Whether the data init is known to have run.

    @property
    def _owner(self):
        """The layer holding the kernel: the wrapped layer, or its RNN cell."""
        return self.layer.cell if self._recurrent else self.layer

    @property
    def _bias(self):
        return self._owner.bias if self._owner.use_bias else None

    @property
    def _offsets(self):
        """The data-init offsets: of `g`, and of the bias when there is one."""
        return [v for v in (self.g_offset, self.bias_offset) if v is not None]

    def build(self, input_shape=None):
        super().build(input_shape)
        kernel = getattr(self._owner, "kernel", None)
        if kernel is None:
            raise invalid_argument(
                "layer", self.layer, "a layer that creates a `kernel` weight"
            )
        ndim = len(kernel.shape)
        self._norm_axes = [a for a in range(ndim) if a != self._out_axis % ndim]
        self.g = self._add_scale("g", kernel)
        if self._recurrent:
            self.recurrent_g = self._add_scale(
                "recurrent_g", self._owner.recurrent_kernel
            )
        if self.data_init:
            # The data init lives in non-trainable offsets added to `g` and to the
            # bias: a state update, like batch norm's moving statistics, so it
            # happens inside `fit` on every backend (JAX keeps no assignment to a
            # trainable variable made in a train step), and the gradients of `g`
            # and the bias are those of the plain reparameterization. "First
            # batch or not" is the `initialized` variable, read with `ops.cond`
            # (not Python state), so it survives `tf.function`, XLA and
            # distribution strategies (replicas initialize from their shards; the
            # offsets aggregate by mean), and it is saved with the model.
            self.initialized = self.add_weight(
                name="initialized",
                shape=(),
                initializer="zeros",
                trainable=False,
                aggregation="only_first_replica",
            )
            shapes = [("g_offset", self.g.shape)]
            if self._bias is not None:
                shapes.append(("bias_offset", self._bias.shape))
            self.g_offset, self.bias_offset = [
                self.add_weight(
                    name=name,
                    shape=shape,
                    initializer="zeros",
                    trainable=False,
                    aggregation="mean",
                    autocast=False,
                )
                for name, shape in shapes
            ] + [None] * (2 - len(shapes))

    def _add_scale(self, name, kernel):
        """A per-output-channel scale starting at the norm of `kernel`."""
        return self.add_weight(
            name=name,
            shape=(kernel.shape[self._out_axis],),
            initializer=lambda shape, dtype=None: self._norm(kernel),
            aggregation="mean",
            autocast=False,  # Read in float32 under mixed precision.
        )

    def _norm(self, kernel, minimum=0.0):
        """Per-output-channel norm of `kernel` (float32), at least `minimum`: the
        kernel or, for an RNN, the recurrent kernel (both 2-D, so normalized over
        axis 0 alike)."""
        return backend.vector_norm(_float32(kernel), self._norm_axes, minimum)

    def _channels_shape(self, vector, ndim):
        if self._out_axis == -1:
            return vector  # Broadcasts as it is.
        shape = [1] * ndim
        shape[self._out_axis] = -1
        return ops.reshape(vector, shape)

    def _effective_weights(self, offsets=None):
        """`[(variable, value)]`: each normalized kernel as `g * v / ||v||` and the
        bias, data-init offsets (variables' values unless given) included."""
        if self.data_init and offsets is None:
            offsets = self._offsets
        scales = [(self._owner.kernel, self.g)]
        if self._recurrent:
            scales.append((self._owner.recurrent_kernel, self.recurrent_g))
        weights = []
        for index, (kernel, g) in enumerate(scales):
            g = _float32(g)
            if index == 0 and self.data_init:
                g = g + _float32(offsets[0])
            v = _float32(kernel)
            value = None
            if self._out_axis == -1:
                value = backend.fused_weight_norm(v, g, 1e-12)
            if value is None:
                norm = self._norm(v, 1e-12)
                value = v * self._channels_shape(g / norm, len(kernel.shape))
            weights.append((kernel, value))
        if self._bias is not None and self.data_init:
            bias = _float32(self._bias) + _float32(offsets[1])
            weights.append((self._bias, bias))
        return weights

    def _call_with(self, inputs, overrides):
        """Calls the wrapped layer with the `(variable, value)` overrides.

        Its other variables are passed in as they are (a train step's own
        stateless scope does not reach into this one), and the state it
        updates (an RNN's dropout seed) is copied back out.
        """
        overridden = {id(variable) for variable, _ in overrides}
        mapping = list(overrides) + [
            (v, v) for v in self.layer.variables if id(v) not in overridden
        ]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            outputs = self.layer(inputs)
        for variable in self.layer.non_trainable_variables:
            if id(variable) not in overridden:
                variable.assign(scope.get_current_value(variable))
        return outputs

    def _data_init_values(self, inputs, kernel):
        """`(g, bias)` that standardize the pre-activations of `inputs` (no bias:
        `(g, None)`, unit variance only), for the kernel value `kernel`."""
        # Initial values, not a path for gradients: the caller stops them.
        norm = self._channels_shape(self._norm(kernel, 1e-12), len(kernel.shape))
        direction = ops.cast(kernel, "float32") / norm
        mapping = [(self._owner.kernel, direction)]
        if self._bias is not None:
            mapping.append((self._bias, ops.zeros(self._bias.shape)))
        with _linear(self.layer):
            t = self._call_with(inputs, mapping)
        t = ops.cast(t, "float32")
        channels_first = getattr(self.layer, "data_format", None) == "channels_first"
        channel_axis = 1 if channels_first else len(t.shape) - 1
        axes = [a for a in range(len(t.shape)) if a != channel_axis]
        mean, variance = ops.moments(t, axes)
        # One example, or identical ones, give no spread to standardize by: such
        # channels keep scale 1 (unit-norm weights) instead of a huge 1 / std.
        spread = variance > 1e-6 * ops.square(mean) + 1e-12
        scale = ops.where(spread, ops.rsqrt(ops.maximum(variance, 1e-12)), 1.0)
        return scale, (-mean * scale if self._bias is not None else None)

    def _data_init(self, inputs):
        """Runs the data init in the first training call; returns the offsets
        (None when they are known to be the variables' values)."""
        initialized = backend.eager_value(self.initialized)
        if initialized:
            # Eager (PyTorch), after the first training call: nothing to compute
            # or assign.
            return None
        # The branch reads only these, gradients stopped: the offsets are initial
        # values, so neither branch is differentiated (in a traced step, the
        # `cond` then has no gradient to build).
        kernel = ops.stop_gradient(ops.convert_to_tensor(self._owner.kernel))
        g = ops.stop_gradient(ops.cast(self.g, "float32"))
        bias = None
        if self._bias is not None:
            bias = ops.stop_gradient(ops.cast(self._bias, "float32"))
        inputs = ops.stop_gradient(inputs)

        def offsets():
            scale, shift = self._data_init_values(inputs, kernel)
            values = [scale - g]
            if shift is not None:
                values.append(shift - bias)
            return tuple(values)

        def current():
            return tuple(ops.convert_to_tensor(v) for v in self._offsets)

        if initialized is None:
            # Tensors, not Variables: jax.lax.cond cannot return a Variable.
            values = ops.cond(ops.equal(self.initialized, 0.0), offsets, current)
            values = tuple(ops.stop_gradient(v) for v in values)
        else:
            values = offsets()
        for variable, value in zip(self._offsets, values):
            variable.assign(value)
        self.initialized.assign(1.0)
        return values

    def _warn_if_not_initialized(self):
        """Warns once when inference comes before the data init has run."""
        if self._init_known:
            return
        self._init_known = True  # Checked: warn at most once.
        try:
            initialized = bool(ops.convert_to_numpy(self.initialized.value))
        except Exception:  # noqa: BLE001  (a symbolic read while tracing)
            initialized = False
        if not initialized:
            warnings.warn(
                f"WeightNormalization `{self.name}` (data_init=True) runs in "
                "inference mode before any training call: its data-dependent "
                "initialization has not run yet (it runs in the first training "
                "call, e.g. the first step of `fit`), so it computes the plain "
                "reparameterization `g * v / ||v||`.",
                stacklevel=2,
            )

    def call(self, inputs, training=None):
        offsets = None
        if self.data_init:
            if training:
                if not self._init_known:  # (Keras's __setattr__ is not free.)
                    self._init_known = True
                offsets = self._data_init(inputs)
            elif training is False and not compat.in_symbolic_build():
                self._warn_if_not_initialized()
        outputs = self._call_with(inputs, self._effective_weights(offsets))
        return ops.cast(outputs, self.compute_dtype)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        if self.data_init:
            self._init_known = bool(ops.convert_to_numpy(self.initialized.value))

    def remove(self):
        """Folds the normalization into the wrapped layer and returns that layer.

        The wrapped layer's kernel becomes `g * v / ||v||` (its recurrent kernel
        too for an RNN) and its bias takes the data-init offset, so the plain
        layer computes what the wrapper computed (for deployment: no `g`, no
        norm at run time). The wrapper is left consistent (its `g` becomes the
        new kernel's norm, its offsets zero): it too computes the same thing.
        To strip a whole model, clone it (see the class example).

        Returns:
            The wrapped layer, with its weights replaced.
        """
        if not self.built:
            raise ValueError(
                f"WeightNormalization `{self.name}` is not built: call it on data "
                "(or build the model) before `remove()`."
            )
        for variable, value in self._effective_weights():
            variable.assign(ops.cast(value, variable.dtype))
        self.g.assign(self._norm(self._owner.kernel))
        if self._recurrent:
            self.recurrent_g.assign(self._norm(self._owner.recurrent_kernel))
        for offset in self._offsets if self.data_init else []:
            offset.assign(ops.zeros(offset.shape))
        return self.layer

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}
