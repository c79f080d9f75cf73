"""Layer-normalized recurrent cells (Ba et al. 2016) and their RNN layers."""

import inspect

import keras
from keras import ops

from keras_smithing.utils.validation import check_float, check_rate, invalid_argument


def _scaled_norm(x, gamma, epsilon):
    """`gamma * (x - mean) / sqrt(var + epsilon)` over the last axis, float32.

    The gradient is written in closed form: inside a recurrence the layer norm
    runs at every step, and autodiff's gradient of the moments costs more passes
    over the gates than the LSTM step itself.
    """

    @ops.custom_gradient
    def normalize(x, gamma):
        centered = x - ops.mean(x, axis=-1, keepdims=True)
        inv = ops.rsqrt(
            ops.mean(ops.square(centered), axis=-1, keepdims=True) + epsilon
        )
        normalized = centered * inv

        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            g = upstream * gamma
            dx = inv * (
                g
                - ops.mean(g, axis=-1, keepdims=True)
                - normalized * ops.mean(g * normalized, axis=-1, keepdims=True)
            )
            leading_axes = tuple(range(len(x.shape) - 1))
            return dx, ops.sum(upstream * normalized, axis=leading_axes)

        return normalized * gamma, grad

    return normalize(x, gamma)


class _StepLayerNormalization(keras.layers.LayerNormalization):
    """`keras.layers.LayerNormalization` (last axis) with `_scaled_norm`'s gradient.

    Same weights, config and float32 math as the Keras layer; only the backward
    pass differs, which makes a layer-normalized LSTM step ~1.5x faster on CPU.
    """

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        outputs = _scaled_norm(x, ops.cast(self.gamma, "float32"), self.epsilon)
        if self.center:
            outputs = outputs + self.beta
        return ops.cast(outputs, self.compute_dtype)


# TensorFlow Addons' names (`tfa.rnn.LayerNormSimpleRNNCell`) for our arguments.
_TFA_ALIASES = {
    "layernorm_epsilon": "norm_epsilon",
    "gamma_initializer": "norm_gamma_initializer",
    "gamma_regularizer": "norm_gamma_regularizer",
    "gamma_constraint": "norm_gamma_constraint",
}
_NORM_DEFAULTS = {
    "norm_epsilon": None,
    "norm_gamma_initializer": "ones",
    "norm_gamma_regularizer": None,
    "norm_gamma_constraint": None,
    "norm_beta_initializer": "zeros",
    "norm_beta_regularizer": None,
    "norm_beta_constraint": None,
}
_KINDS = {
    "initializer": (keras.initializers, "an initializer (name, instance or config)"),
    "regularizer": (
        keras.regularizers,
        "a regularizer (name, instance, config or None)",
    ),
    "constraint": (keras.constraints, "a constraint (name, instance, config or None)"),
}


def _resolve_aliases(arguments, aliases):
    """Replaces TensorFlow Addons' argument names by ours; both at once is an error."""
    for alias, name in _TFA_ALIASES.items():
        if alias not in aliases:
            continue
        if arguments[name] != _NORM_DEFAULTS[name]:
            raise invalid_argument(
                alias,
                aliases[alias],
                f"either `{alias}` (TensorFlow Addons' name) or `{name}`, not both",
            )
        arguments[name] = aliases[alias]
    return arguments


def _get(name, value):
    """`keras.initializers/regularizers/constraints.get(value)`, in the pack's error."""
    module, expected = _KINDS[name.rsplit("_", 1)[1]]
    try:
        return module.get(value)
    except (ValueError, TypeError):
        raise invalid_argument(name, value, expected) from None


class _LayerNormCell:
    """Mixin: the normalization arguments, the LayerNormalization sublayers and
    dropout masks. `norm_beta_*` exist only where a normalization has a shift."""

    _norm_arguments = (
        "norm_gamma_initializer",
        "norm_gamma_regularizer",
        "norm_gamma_constraint",
    )

    def __init__(self, units, **kwargs):
        arguments = {
            name: kwargs.pop(name, default)
            for name, default in _NORM_DEFAULTS.items()
            if name == "norm_epsilon" or name in self._norm_arguments
        }
        aliases = {a: kwargs.pop(a) for a in list(kwargs) if a in _TFA_ALIASES}
        for name in kwargs:
            if name in _NORM_DEFAULTS:
                raise invalid_argument(
                    name,
                    kwargs[name],
                    f"no `norm_beta_*` argument ({type(self).__name__}'s "
                    "normalizations have no shift: the cell's bias plays it)",
                )
        arguments = _resolve_aliases(arguments, aliases)
        epsilon = arguments.pop("norm_epsilon")
        self.norm_epsilon = check_float(
            "norm_epsilon", 1e-3 if epsilon is None else epsilon, minimum=0
        )
        for name, value in arguments.items():
            setattr(self, name, _get(name, value))
        for name in ("dropout", "recurrent_dropout"):
            check_rate(name, kwargs.get(name, 0.0))
        super().__init__(units, **kwargs)
        self.dropout_mask_count = None  # One mask for the fused projection.

    def _norm(self, name, center):
        # Computes in float32 and casts back (mixed precision).
        shift = {}
        if center:
            shift = {
                f"beta_{kind}": getattr(self, f"norm_beta_{kind}") for kind in _KINDS
            }
        return _StepLayerNormalization(
            epsilon=self.norm_epsilon,
            center=center,
            gamma_initializer=self.norm_gamma_initializer,
            gamma_regularizer=self.norm_gamma_regularizer,
            gamma_constraint=self.norm_gamma_constraint,
            dtype=self.dtype_policy,
            name=name,
            **shift,
        )

    def _input_term(self, inputs):
        return ops.matmul(inputs, self.kernel)

    def _step_terms(self, inputs, previous, training):
        """`(input term, previous output after recurrent dropout)` of one step."""
        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        inputs = self._input_term(inputs)
        if training and self.recurrent_dropout > 0.0:
            previous = previous * self.get_recurrent_dropout_mask(previous)
        return inputs, previous

    def get_config(self):
        config = {**super().get_config(), "norm_epsilon": self.norm_epsilon}
        for name in self._norm_arguments:
            module = _KINDS[name.rsplit("_", 1)[1]][0]
            config[name] = module.serialize(getattr(self, name))
        return config


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormSimpleRNNCell(_LayerNormCell, keras.layers.SimpleRNNCell):
    """SimpleRNN cell with layer normalization of the summed inputs.

    `h_t = activation(LN(x_t W + h_{t-1} U) + b)`: the pre-activation is
    normalized over the units at every step (float32 math), then the bias acts as
    the normalization's shift. Normalizing per example and per step (unlike batch
    norm) keeps the recurrence well scaled whatever the sequence length and batch
    size. Use it as `keras.layers.RNN(cell)` or through `LayerNormSimpleRNN`.

    Args:
        units: Positive integer, dimensionality of the output space.
        {norm_arguments}
        **kwargs: The `keras.layers.SimpleRNNCell` arguments (`activation`,
            `use_bias`, initializers, regularizers, constraints, `dropout`,
            `recurrent_dropout`, `seed`) and base layer arguments.

    Call arguments:
        sequence: 2D tensor `(batch, features)`, one time step.
        states: List with the previous output `(batch, units)`.
        training: Python boolean, whether dropout is applied.

    Returns:
        `(output, [output])`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
    """

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.norm = self._norm("norm", center=False)

    def build(self, input_shape):
        super().build(input_shape)
        self.norm.build((None, self.units))

    def call(self, sequence, states, training=False):
        nested = isinstance(states, (list, tuple))
        previous = states[0] if nested else states
        x, previous = self._step_terms(sequence, previous, training)
        z = self.norm(x + ops.matmul(previous, self.recurrent_kernel))
        if self.bias is not None:
            z = z + self.bias
        output = self.activation(z) if self.activation is not None else z
        return output, [output] if nested else output


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormLSTMCell(_LayerNormCell, keras.layers.LSTMCell):
    """LSTM cell with layer normalization (Ba et al. 2016, eqs. 20-22).

    `(i, f, g, o) = LN(x_t W) + LN(h_{t-1} U) + b`,
    `c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)`,
    `h_t = sigmoid(o) * tanh(LN(c_t))`. The two gate normalizations are over all
    `4 * units` pre-activations and have a gain only (the bias `b` is their
    shift); the cell-state normalization has gain and shift. The carried state
    `c_t` itself stays unnormalized, as in the paper. All normalization math is
    float32. Use it as `keras.layers.RNN(cell)` or through `LayerNormLSTM`.

    Args:
        units: Positive integer, dimensionality of the output space.
        {norm_arguments}
        norm_beta_initializer: Initializer of the cell-state normalization's
            shift.
        norm_beta_regularizer: Optional regularizer of that shift.
        norm_beta_constraint: Optional constraint of that shift.
        **kwargs: The `keras.layers.LSTMCell` arguments (`activation`,
            `recurrent_activation`, `use_bias`, `unit_forget_bias`,
            initializers, regularizers, constraints, `dropout`,
            `recurrent_dropout`, `seed`) and base layer arguments.

    Call arguments:
        inputs: 2D tensor `(batch, features)`, one time step.
        states: List `[h, c]` of the previous output and carry.
        training: Python boolean, whether dropout is applied.

    Returns:
        `(h, [h, c])`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
    """

    _norm_arguments = (
        *_LayerNormCell._norm_arguments,
        "norm_beta_initializer",
        "norm_beta_regularizer",
        "norm_beta_constraint",
    )

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.kernel_norm = self._norm("kernel_norm", center=False)
        self.recurrent_norm = self._norm("recurrent_norm", center=False)
        self.state_norm = self._norm("state_norm", center=True)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel_norm.build((None, 4 * self.units))
        self.recurrent_norm.build((None, 4 * self.units))
        self.state_norm.build((None, self.units))

    def _input_term(self, inputs):
        x = self.kernel_norm(ops.matmul(inputs, self.kernel))
        return x + self.bias if self.use_bias else x

    def call(self, inputs, states, training=False):
        previous, carry = states
        x, previous = self._step_terms(inputs, previous, training)
        z = x + self.recurrent_norm(ops.matmul(previous, self.recurrent_kernel))
        i, f, g, o = ops.split(z, 4, axis=-1)
        carry = self.recurrent_activation(f) * carry + self.recurrent_activation(
            i
        ) * self.activation(g)
        h = self.recurrent_activation(o) * self.activation(self.state_norm(carry))
        return h, [h, carry]


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormGRUCell(_LayerNormCell, keras.layers.GRUCell):
    """GRU cell (reset-after form) with layer-normalized input and recurrent terms.

    `x_t W` and `h_{t-1} U` (each `3 * units` wide) are layer-normalized (gain
    only, float32 math) before their biases are added; the gates then follow
    `keras.layers.GRUCell` with `reset_after=True`:
    `z, r = sigmoid(.)`, `n = tanh(LN(x W)_n + b_n + r * (LN(h U)_n + b'_n))`,
    `h_t = z * h_{t-1} + (1 - z) * n`. Use it as `keras.layers.RNN(cell)` or
    through `LayerNormGRU`.

    Args:
        units: Positive integer, dimensionality of the output space.
        {norm_arguments}
        **kwargs: The `keras.layers.GRUCell` arguments (`activation`,
            `recurrent_activation`, `use_bias`, initializers, regularizers,
            constraints, `dropout`, `recurrent_dropout`, `seed`) and base layer
            arguments. `reset_after` must stay True.

    Call arguments:
        inputs: 2D tensor `(batch, features)`, one time step.
        states: List with the previous output `(batch, units)`.
        training: Python boolean, whether dropout is applied.

    Returns:
        `(h, [h])`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016;
        Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder",
        EMNLP 2014.
    """

    def __init__(self, units, **kwargs):
        if kwargs.get("reset_after", True) is not True:
            raise invalid_argument(
                "reset_after", kwargs["reset_after"], "True (the reset-after GRU)"
            )
        super().__init__(units, **kwargs)
        self.kernel_norm = self._norm("kernel_norm", center=False)
        self.recurrent_norm = self._norm("recurrent_norm", center=False)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel_norm.build((None, 3 * self.units))
        self.recurrent_norm.build((None, 3 * self.units))

    def _input_term(self, inputs):
        x = self.kernel_norm(ops.matmul(inputs, self.kernel))
        return x + self.bias[0] if self.use_bias else x

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        previous = states[0] if nested else states
        x, dropped = self._step_terms(inputs, previous, training)
        inner = self.recurrent_norm(ops.matmul(dropped, self.recurrent_kernel))
        if self.use_bias:
            inner = inner + self.bias[1]
        x_z, x_r, x_h = ops.split(x, 3, axis=-1)
        inner_z, inner_r, inner_h = ops.split(inner, 3, axis=-1)
        z = self.recurrent_activation(x_z + inner_z)
        r = self.recurrent_activation(x_r + inner_r)
        candidate = self.activation(x_h + r * inner_h)
        h = z * previous + (1.0 - z) * candidate
        return h, [h] if nested else h


_LAYER_ARGUMENTS = set(inspect.signature(keras.layers.Layer.__init__).parameters)


def _cell_arguments(cell_class):
    names = set()
    for klass in cell_class.__mro__:
        if "__init__" in vars(klass):
            names |= set(inspect.signature(klass.__init__).parameters)
    return (
        (names | set(_TFA_ALIASES) | set(_NORM_DEFAULTS))
        - _LAYER_ARGUMENTS
        - {"self", "kwargs"}
    )


class _LayerNormRNN(keras.layers.RNN):
    """`keras.layers.RNN` around a layer-normalized cell, with a flat config."""

    cell_class = None

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        **kwargs,
    ):
        cell_names = _cell_arguments(self.cell_class)
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cell_names}
        cell = self.cell_class(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="cell",
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# The cells' normalization arguments, shared by their docstrings.
_NORM_ARGUMENTS_DOC = """norm_epsilon: Float > 0 added to the variance in layer normalization;
            defaults to 1e-3. `layernorm_epsilon` (TensorFlow Addons' name) is
            accepted instead.
        norm_gamma_initializer: Initializer of the normalization gain(s)
            (`gamma_initializer` is accepted instead).
        norm_gamma_regularizer: Optional regularizer of the gain(s)
            (`gamma_regularizer` is accepted instead).
        norm_gamma_constraint: Optional constraint of the gain(s)
            (`gamma_constraint` is accepted instead)."""

_LAYER_DOC = """{summary}

    A `keras.layers.RNN` around a `{cell}`: masking, `return_sequences`,
    `return_state`, `go_backwards`, `stateful` and `unroll` behave as in
    `keras.layers.{keras_layer}` (there is no cuDNN path).

    Args:
        units: Positive integer, dimensionality of the output space.
        return_sequences: Boolean, return the full sequence or the last output.
        return_state: Boolean, also return the last state(s).
        go_backwards: Boolean, process the sequence backwards.
        stateful: Boolean, carry each batch's last states over to the next
            batch (needs a fixed batch size).
        unroll: Boolean, unroll the loop (short sequences only).
        **kwargs: The cell's arguments (`norm_epsilon`, `activation`,
            initializers, `dropout`, `recurrent_dropout`, `seed`, ...) and base
            layer arguments.

    Call arguments:
        sequences: 3D tensor `(batch, timesteps, features)`.
        initial_state: Optional list of initial state tensors.
        mask: Optional boolean tensor `(batch, timesteps)`.
        training: Python boolean, whether dropout is applied.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.

    Example:

    >>> y = {name}(32, return_sequences=True)(keras.Input((40, 1)))
    """


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormSimpleRNN(_LayerNormRNN):
    cell_class = LayerNormSimpleRNNCell


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormLSTM(_LayerNormRNN):
    cell_class = LayerNormLSTMCell


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormGRU(_LayerNormRNN):
    cell_class = LayerNormGRUCell


for _cell in (LayerNormSimpleRNNCell, LayerNormLSTMCell, LayerNormGRUCell):
    _cell.__doc__ = _cell.__doc__.replace("{norm_arguments}", _NORM_ARGUMENTS_DOC)

for _layer, _summary in (
    (LayerNormSimpleRNN, "Fully-connected RNN with layer normalization."),
    (LayerNormLSTM, "Layer-normalized LSTM."),
    (LayerNormGRU, "Gated recurrent unit with layer normalization."),
):
    _layer.__doc__ = _LAYER_DOC.format(
        summary=_summary,
        cell=_layer.cell_class.__name__,
        keras_layer=_layer.__name__.removeprefix("LayerNorm"),
        name=_layer.__name__,
    )
