"""Layer-normalized recurrent cells (Ba et al. 2016) and their RNN layers."""

import keras
from keras import ops

from keras_smithing.utils.backend import fused_layer_norm
from keras_smithing.utils.validation import check_float, check_rate, invalid_argument


def _scaled_norm(x, gamma, epsilon):
    """`gamma * (x - mean) / sqrt(var + epsilon)` over the last axis, float32."""

    # The gradient is written in closed form: inside a recurrence the layer norm
    # runs at every step, and autodiff's gradient of the moments costs more passes
    # over the gates than the LSTM step itself.
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
    On PyTorch the normalization is the backend's fused kernel instead.
    """

    def call(self, inputs):
        return self.normalize(inputs)

    def normalize(self, inputs, shift=None):
        """The layer's output, computed without `Layer.__call__`.

        The cells call this at every step: in eager PyTorch, `Layer.__call__`'s
        bookkeeping costs more than the normalization itself. The gain and shift
        are created with `autocast=False`, so they are read in float32 here as in
        `call`. An uncentered layer adds `shift` (the cell's bias) instead, in
        float32 and inside the fused kernel where there is one.
        """
        x = ops.cast(inputs, "float32")
        if self.center:
            shift = self.beta.value
        elif shift is not None:
            shift = ops.cast(shift, "float32")
        outputs = fused_layer_norm(x, self.gamma.value, shift, self.epsilon)
        if outputs is None:
            outputs = _scaled_norm(x, ops.cast(self.gamma, "float32"), self.epsilon)
            if shift is not None:
                outputs = outputs + shift
        return ops.cast(outputs, self.compute_dtype)


# TensorFlow Addons' names (`tfa.rnn.LayerNormSimpleRNNCell`) of our arguments.
# They are read from `**kwargs`, the way Keras accepts a retired name.
_TFA_ALIASES = {
    "layernorm_epsilon": "norm_epsilon",
    "gamma_initializer": "norm_gamma_initializer",
    "gamma_regularizer": "norm_gamma_regularizer",
    "gamma_constraint": "norm_gamma_constraint",
}
# The defaults of the cells' signatures: an alias may replace an argument left at
# its default, never one the caller set.
_NORM_DEFAULTS = {
    "norm_epsilon": 1e-3,
    "norm_gamma_initializer": "ones",
    "norm_gamma_regularizer": None,
    "norm_gamma_constraint": None,
    "norm_beta_initializer": "zeros",
    "norm_beta_regularizer": None,
    "norm_beta_constraint": None,
}
_SHIFT_ARGUMENTS = (
    "norm_beta_initializer",
    "norm_beta_regularizer",
    "norm_beta_constraint",
)
_KINDS = {
    "initializer": (keras.initializers, "an initializer (name, instance or config)"),
    "regularizer": (
        keras.regularizers,
        "a regularizer (name, instance, config or None)",
    ),
    "constraint": (keras.constraints, "a constraint (name, instance, config or None)"),
}


def _get(name, value):
    """`keras.initializers/regularizers/constraints.get(value)`, in the pack's error."""
    module, expected = _KINDS[name.rsplit("_", 1)[1]]
    try:
        return module.get(value)
    except (ValueError, TypeError):
        raise invalid_argument(name, value, expected) from None


def _norm_arguments(kwargs, **arguments):
    """The validated normalization arguments; TensorFlow Addons' names are popped
    from `kwargs` and replace ours (both at once is an error)."""
    for alias, name in _TFA_ALIASES.items():
        if alias not in kwargs:
            continue
        value = kwargs.pop(alias)
        if arguments[name] != _NORM_DEFAULTS[name]:
            raise invalid_argument(
                alias,
                value,
                f"either `{alias}` (TensorFlow Addons' name) or `{name}`, not both",
            )
        arguments[name] = value
    checked = {
        "norm_epsilon": check_float(
            "norm_epsilon", arguments.pop("norm_epsilon"), minimum=0
        )
    }
    for name, value in arguments.items():
        checked[name] = _get(name, value)
    return checked


def _reject_shift_arguments(owner, kwargs):
    """`norm_beta_*` passed where no normalization has a shift, as the pack's error."""
    for name in _SHIFT_ARGUMENTS:
        if name in kwargs:
            raise invalid_argument(
                name,
                kwargs[name],
                f"no `norm_beta_*` argument ({owner}'s normalizations have no "
                "shift: the cell's bias plays it)",
            )


def _check_use_cudnn(use_cudnn):
    # No cuDNN kernel computes a layer-normalized step, so "auto" and False both
    # run the backend's RNN loop (as Keras's LSTM does where cuDNN is not
    # available); True asks for what cannot be done.
    if use_cudnn is False or (isinstance(use_cudnn, str) and use_cudnn == "auto"):
        return
    raise invalid_argument(
        "use_cudnn",
        use_cudnn,
        "'auto' or False (there is no cuDNN kernel for a layer-normalized step)",
    )


class _LayerNormCell:
    """Mixin: the normalization arguments, the LayerNormalization sublayers and
    the dropout of one step."""

    _norm_arguments = (
        "norm_gamma_initializer",
        "norm_gamma_regularizer",
        "norm_gamma_constraint",
    )

    def _init_norm(self, kwargs, dropout, recurrent_dropout, **arguments):
        """Validates and sets the normalization arguments, before the Keras cell
        is initialized (which would clip a bad dropout rate silently)."""
        for name, value in _norm_arguments(kwargs, **arguments).items():
            setattr(self, name, value)
        check_rate("dropout", dropout)
        check_rate("recurrent_dropout", recurrent_dropout)

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
    """SimpleRNN cell whose summed inputs are layer-normalized at every step.

    The cell computes `h_t = activation(LN(x_t W + h_{t-1} U) + b)`: the
    pre-activation is normalized over the units with a learned gain, and the bias
    `b` acts as the normalization's shift. The statistics are those of each
    example at each step, so training and inference normalize alike, whatever
    the batch size and the sequence length; only `dropout` and
    `recurrent_dropout` differ, applied in training only. The normalization is
    computed in float32 under mixed precision. Use the cell in
    `keras.layers.RNN`, or use the `LayerNormSimpleRNN` layer.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (name or callable) applied to the
            normalized pre-activation. Default: `"tanh"`. `None` is linear.
        use_bias: Boolean, whether to add the bias `b`. Default: `True`.
        kernel_initializer: Initializer of the `kernel` matrix, which projects
            the inputs. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of the `recurrent_kernel` matrix,
            which projects the previous output. Default: `"orthogonal"`.
        bias_initializer: Initializer of the bias. Default: `"zeros"`.
        kernel_regularizer: Optional regularizer of the `kernel` matrix.
        recurrent_regularizer: Optional regularizer of the `recurrent_kernel`
            matrix.
        bias_regularizer: Optional regularizer of the bias.
        kernel_constraint: Optional constraint on the `kernel` matrix.
        recurrent_constraint: Optional constraint on the `recurrent_kernel`
            matrix.
        bias_constraint: Optional constraint on the bias.
        dropout: Float in [0, 1), the fraction of the inputs dropped in
            training. Default: 0.
        recurrent_dropout: Float in [0, 1), the fraction of the previous output
            dropped in training. Default: 0.
        seed: Optional integer, the random seed of the dropout masks.
        norm_epsilon: Float > 0 added to the variance in the normalization.
            Default: 1e-3.
        norm_gamma_initializer: Initializer of the normalization's gain.
            Default: `"ones"`.
        norm_gamma_regularizer: Optional regularizer of the gain.
        norm_gamma_constraint: Optional constraint on the gain.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`).
            TensorFlow Addons' names `layernorm_epsilon`, `gamma_initializer`,
            `gamma_regularizer` and `gamma_constraint` are accepted in place of
            `norm_epsilon` and `norm_gamma_*`.

    Call arguments:
        sequence: 2D tensor `(batch, features)`, the inputs of one time step.
        states: The previous output `(batch, units)`, alone or in a list.
        training: Python boolean, whether dropout is applied.

    Returns:
        A pair `(output, new_states)`: the output `(batch, units)`, and the same
        tensor as the new state, in the structure of `states`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import LayerNormSimpleRNNCell
    >>> cells = [LayerNormSimpleRNNCell(16), LayerNormSimpleRNNCell(8)]
    >>> rnn = keras.layers.RNN(cells, return_sequences=True)  # A stack of two.
    >>> tuple(rnn(np.random.rand(2, 10, 4)).shape)
    (2, 10, 8)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        norm_epsilon=1e-3,
        norm_gamma_initializer="ones",
        norm_gamma_regularizer=None,
        norm_gamma_constraint=None,
        **kwargs,
    ):
        _reject_shift_arguments(type(self).__name__, kwargs)
        self._init_norm(
            kwargs,
            dropout,
            recurrent_dropout,
            norm_epsilon=norm_epsilon,
            norm_gamma_initializer=norm_gamma_initializer,
            norm_gamma_regularizer=norm_gamma_regularizer,
            norm_gamma_constraint=norm_gamma_constraint,
        )
        super().__init__(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **kwargs,
        )
        # One dropout mask for the one input projection.
        self.dropout_mask_count = None
        self.norm = self._norm("norm", center=False)

    def build(self, input_shape):
        super().build(input_shape)
        self.norm.build((None, self.units))

    def call(self, sequence, states, training=False):
        nested = isinstance(states, (list, tuple))
        previous = states[0] if nested else states
        x, previous = self._step_terms(sequence, previous, training)
        z = self.norm.normalize(
            x + ops.matmul(previous, self.recurrent_kernel), shift=self.bias
        )
        output = self.activation(z) if self.activation is not None else z
        return output, [output] if nested else output


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormLSTMCell(_LayerNormCell, keras.layers.LSTMCell):
    """LSTM cell with layer-normalized gates and cell state (Ba et al. 2016).

    The cell computes `(i, f, g, o) = LN(x_t W) + LN(h_{t-1} U) + b`,
    `c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)` and
    `h_t = sigmoid(o) * tanh(LN(c_t))` (eqs. 20-22 of the paper, with Keras's
    `activation` and `recurrent_activation` in place of `tanh` and `sigmoid`).
    The two gate normalizations span all `4 * units` pre-activations and have a
    gain only (the bias `b` is their shift); the normalization of the cell state
    has a gain and a shift, and the carried state `c_t` itself stays
    unnormalized, as in the paper. The statistics are those of each example at
    each step, so training and inference normalize alike, whatever the batch
    size; only `dropout` and `recurrent_dropout` differ, applied in training
    only. The normalizations are computed in float32 under mixed precision. Use
    the cell in `keras.layers.RNN`, or use the `LayerNormLSTM` layer.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (name or callable) of the candidate
            `g` and of the output. Default: `"tanh"`. `None` is linear.
        recurrent_activation: Activation function of the gates `i`, `f` and
            `o`. Default: `"sigmoid"`. `None` is linear.
        use_bias: Boolean, whether to add the bias `b`. Default: `True`.
        kernel_initializer: Initializer of the `kernel` matrix, which projects
            the inputs. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of the `recurrent_kernel` matrix,
            which projects the previous output. Default: `"orthogonal"`.
        bias_initializer: Initializer of the bias. Default: `"zeros"`.
        unit_forget_bias: Boolean, whether to add 1 to the forget gate's bias
            at initialization (then `bias_initializer` initializes the rest
            with zeros), as Jozefowicz et al. (2015) recommend. Default: `True`.
        kernel_regularizer: Optional regularizer of the `kernel` matrix.
        recurrent_regularizer: Optional regularizer of the `recurrent_kernel`
            matrix.
        bias_regularizer: Optional regularizer of the bias.
        kernel_constraint: Optional constraint on the `kernel` matrix.
        recurrent_constraint: Optional constraint on the `recurrent_kernel`
            matrix.
        bias_constraint: Optional constraint on the bias.
        dropout: Float in [0, 1), the fraction of the inputs dropped in
            training. Default: 0.
        recurrent_dropout: Float in [0, 1), the fraction of the previous output
            dropped in training. Default: 0.
        seed: Optional integer, the random seed of the dropout masks.
        norm_epsilon: Float > 0 added to the variance in the normalizations.
            Default: 1e-3.
        norm_gamma_initializer: Initializer of the three normalizations' gains.
            Default: `"ones"`.
        norm_gamma_regularizer: Optional regularizer of the gains.
        norm_gamma_constraint: Optional constraint on the gains.
        norm_beta_initializer: Initializer of the cell-state normalization's
            shift. Default: `"zeros"`.
        norm_beta_regularizer: Optional regularizer of that shift.
        norm_beta_constraint: Optional constraint on that shift.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`).
            TensorFlow Addons' names `layernorm_epsilon`, `gamma_initializer`,
            `gamma_regularizer` and `gamma_constraint` are accepted in place of
            `norm_epsilon` and `norm_gamma_*`.

    Call arguments:
        inputs: 2D tensor `(batch, features)`, the inputs of one time step.
        states: List `[h, c]` of the previous output and cell state, each
            `(batch, units)`.
        training: Python boolean, whether dropout is applied.

    Returns:
        A pair `(h, [h, c])`: the output and the new states, each
        `(batch, units)`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import LayerNormLSTMCell
    >>> rnn = keras.layers.RNN(LayerNormLSTMCell(16), return_state=True)
    >>> output, h, c = rnn(np.random.rand(2, 10, 4))
    >>> tuple(output.shape), tuple(c.shape)
    ((2, 16), (2, 16))
    """

    _norm_arguments = (*_LayerNormCell._norm_arguments, *_SHIFT_ARGUMENTS)

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        norm_epsilon=1e-3,
        norm_gamma_initializer="ones",
        norm_gamma_regularizer=None,
        norm_gamma_constraint=None,
        norm_beta_initializer="zeros",
        norm_beta_regularizer=None,
        norm_beta_constraint=None,
        **kwargs,
    ):
        self._init_norm(
            kwargs,
            dropout,
            recurrent_dropout,
            norm_epsilon=norm_epsilon,
            norm_gamma_initializer=norm_gamma_initializer,
            norm_gamma_regularizer=norm_gamma_regularizer,
            norm_gamma_constraint=norm_gamma_constraint,
            norm_beta_initializer=norm_beta_initializer,
            norm_beta_regularizer=norm_beta_regularizer,
            norm_beta_constraint=norm_beta_constraint,
        )
        super().__init__(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            **kwargs,
        )
        # One dropout mask for the fused projection of the four gates.
        self.dropout_mask_count = None
        self.kernel_norm = self._norm("kernel_norm", center=False)
        self.recurrent_norm = self._norm("recurrent_norm", center=False)
        self.state_norm = self._norm("state_norm", center=True)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel_norm.build((None, 4 * self.units))
        self.recurrent_norm.build((None, 4 * self.units))
        self.state_norm.build((None, self.units))

    def _input_term(self, inputs):
        return self.kernel_norm.normalize(ops.matmul(inputs, self.kernel), self.bias)

    def call(self, inputs, states, training=False):
        previous, carry = states
        x, previous = self._step_terms(inputs, previous, training)
        z = x + self.recurrent_norm.normalize(
            ops.matmul(previous, self.recurrent_kernel)
        )
        i, f, g, o = ops.split(z, 4, axis=-1)
        carry = self.recurrent_activation(f) * carry + self.recurrent_activation(
            i
        ) * self.activation(g)
        h = self.recurrent_activation(o) * self.activation(
            self.state_norm.normalize(carry)
        )
        return h, [h, carry]


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormGRUCell(_LayerNormCell, keras.layers.GRUCell):
    """GRU cell (reset-after form) with layer-normalized input and recurrent terms.

    The projections `x_t W` and `h_{t-1} U` (each `3 * units` wide) are
    layer-normalized with a learned gain before their biases `b` and `b'` are
    added; the gates then follow `keras.layers.GRUCell` with `reset_after=True`:
    `z, r = sigmoid(.)`, `n = tanh(LN(x W)_n + b_n + r * (LN(h U)_n + b'_n))`,
    `h_t = z * h_{t-1} + (1 - z) * n`. The statistics are those of each example
    at each step, so training and inference normalize alike, whatever the batch
    size; only `dropout` and `recurrent_dropout` differ, applied in training
    only. The normalizations are computed in float32 under mixed precision. Use
    the cell in `keras.layers.RNN`, or use the `LayerNormGRU` layer.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (name or callable) of the candidate
            `n`. Default: `"tanh"`. `None` is linear.
        recurrent_activation: Activation function of the gates `z` and `r`.
            Default: `"sigmoid"`. `None` is linear.
        use_bias: Boolean, whether to add the biases `b` and `b'`.
            Default: `True`.
        kernel_initializer: Initializer of the `kernel` matrix, which projects
            the inputs. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of the `recurrent_kernel` matrix,
            which projects the previous output. Default: `"orthogonal"`.
        bias_initializer: Initializer of the biases. Default: `"zeros"`.
        kernel_regularizer: Optional regularizer of the `kernel` matrix.
        recurrent_regularizer: Optional regularizer of the `recurrent_kernel`
            matrix.
        bias_regularizer: Optional regularizer of the biases.
        kernel_constraint: Optional constraint on the `kernel` matrix.
        recurrent_constraint: Optional constraint on the `recurrent_kernel`
            matrix.
        bias_constraint: Optional constraint on the biases.
        dropout: Float in [0, 1), the fraction of the inputs dropped in
            training. Default: 0.
        recurrent_dropout: Float in [0, 1), the fraction of the previous output
            dropped in training. Default: 0.
        reset_after: Must be `True` (the default): the cell is the reset-after
            GRU. Accepted so that `keras.layers.GRUCell` code runs unchanged;
            `False` raises a `ValueError`.
        seed: Optional integer, the random seed of the dropout masks.
        norm_epsilon: Float > 0 added to the variance in the normalizations.
            Default: 1e-3.
        norm_gamma_initializer: Initializer of the two normalizations' gains.
            Default: `"ones"`.
        norm_gamma_regularizer: Optional regularizer of the gains.
        norm_gamma_constraint: Optional constraint on the gains.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`).
            TensorFlow Addons' names `layernorm_epsilon`, `gamma_initializer`,
            `gamma_regularizer` and `gamma_constraint` are accepted in place of
            `norm_epsilon` and `norm_gamma_*`.

    Call arguments:
        inputs: 2D tensor `(batch, features)`, the inputs of one time step.
        states: The previous output `(batch, units)`, alone or in a list.
        training: Python boolean, whether dropout is applied.

    Returns:
        A pair `(h, new_states)`: the output `(batch, units)`, and the same
        tensor as the new state, in the structure of `states`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
        Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder
        for Statistical Machine Translation", EMNLP 2014.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import LayerNormGRUCell
    >>> rnn = keras.layers.RNN(LayerNormGRUCell(16, dropout=0.2, seed=1))
    >>> x = np.random.rand(2, 10, 4)
    >>> y = keras.ops.convert_to_numpy(rnn(x))
    >>> y.shape
    (2, 16)
    >>> # Dropout applies in training only: inference is deterministic.
    >>> bool(np.array_equal(y, keras.ops.convert_to_numpy(rnn(x))))
    True
    >>> bool(np.array_equal(y, keras.ops.convert_to_numpy(rnn(x, training=True))))
    False
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        reset_after=True,
        seed=None,
        norm_epsilon=1e-3,
        norm_gamma_initializer="ones",
        norm_gamma_regularizer=None,
        norm_gamma_constraint=None,
        **kwargs,
    ):
        if reset_after is not True:
            raise invalid_argument(
                "reset_after", reset_after, "True (the reset-after GRU)"
            )
        _reject_shift_arguments(type(self).__name__, kwargs)
        self._init_norm(
            kwargs,
            dropout,
            recurrent_dropout,
            norm_epsilon=norm_epsilon,
            norm_gamma_initializer=norm_gamma_initializer,
            norm_gamma_regularizer=norm_gamma_regularizer,
            norm_gamma_constraint=norm_gamma_constraint,
        )
        super().__init__(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            reset_after=reset_after,
            seed=seed,
            **kwargs,
        )
        # One dropout mask for the fused projection of the three gates.
        self.dropout_mask_count = None
        self.kernel_norm = self._norm("kernel_norm", center=False)
        self.recurrent_norm = self._norm("recurrent_norm", center=False)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel_norm.build((None, 3 * self.units))
        self.recurrent_norm.build((None, 3 * self.units))

    def _input_term(self, inputs):
        bias = self.bias[0] if self.use_bias else None
        return self.kernel_norm.normalize(ops.matmul(inputs, self.kernel), bias)

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        previous = states[0] if nested else states
        x, dropped = self._step_terms(inputs, previous, training)
        bias = self.bias[1] if self.use_bias else None
        inner = self.recurrent_norm.normalize(
            ops.matmul(dropped, self.recurrent_kernel), bias
        )
        x_z, x_r, x_h = ops.split(x, 3, axis=-1)
        inner_z, inner_r, inner_h = ops.split(inner, 3, axis=-1)
        z = self.recurrent_activation(x_z + inner_z)
        r = self.recurrent_activation(x_r + inner_r)
        candidate = self.activation(x_h + r * inner_h)
        h = z * previous + (1.0 - z) * candidate
        return h, [h] if nested else h


class _LayerNormRNN(keras.layers.RNN):
    """`keras.layers.RNN` around a layer-normalized cell, with a flat config."""

    def get_config(self):
        # The cell's arguments are the layer's, as in `keras.layers.LSTM`'s config.
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        activity_regularizer = keras.regularizers.serialize(self.activity_regularizer)
        return {**config, **cell_config, "activity_regularizer": activity_regularizer}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _pop_tfa_aliases(kwargs):
    """Removes TensorFlow Addons' argument names from `kwargs` and returns them."""
    return {alias: kwargs.pop(alias) for alias in _TFA_ALIASES if alias in kwargs}


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormSimpleRNN(_LayerNormRNN):
    """Fully-connected RNN whose summed inputs are layer-normalized at every step.

    A drop-in replacement for `keras.layers.SimpleRNN` running a
    `LayerNormSimpleRNNCell`: `h_t = activation(LN(x_t W + h_{t-1} U) + b)`,
    which keeps the recurrence well scaled over long sequences. The statistics
    are those of each example at each step, so training and inference normalize
    alike, whatever the batch size; only `dropout` and `recurrent_dropout`
    differ, applied in training only. Masking, `return_sequences`,
    `return_state`, `go_backwards`, `stateful` and `unroll` behave as in
    `keras.layers.SimpleRNN`. It replaces
    `keras.layers.RNN(tfa.rnn.LayerNormSimpleRNNCell(...))` of TensorFlow Addons.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (name or callable) applied to the
            normalized pre-activation. Default: `"tanh"`. `None` is linear.
        use_bias: Boolean, whether to add the bias `b` (the normalization's
            shift). Default: `True`.
        kernel_initializer: Initializer of the `kernel` matrix, which projects
            the inputs. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of the `recurrent_kernel` matrix,
            which projects the previous output. Default: `"orthogonal"`.
        bias_initializer: Initializer of the bias. Default: `"zeros"`.
        kernel_regularizer: Optional regularizer of the `kernel` matrix.
        recurrent_regularizer: Optional regularizer of the `recurrent_kernel`
            matrix.
        bias_regularizer: Optional regularizer of the bias.
        activity_regularizer: Optional regularizer of the layer's output.
        kernel_constraint: Optional constraint on the `kernel` matrix.
        recurrent_constraint: Optional constraint on the `recurrent_kernel`
            matrix.
        bias_constraint: Optional constraint on the bias.
        dropout: Float in [0, 1), the fraction of the inputs dropped in
            training. Default: 0.
        recurrent_dropout: Float in [0, 1), the fraction of the previous output
            dropped in training. Default: 0.
        return_sequences: Boolean, whether to return the whole output sequence
            rather than the last output. Default: `False`.
        return_state: Boolean, whether to return the last state after the
            output. Default: `False`.
        go_backwards: Boolean, whether to process the sequence backwards (and
            return the reversed sequence). Default: `False`.
        stateful: Boolean, whether the last state of each example of a batch is
            the initial state of the same example in the next batch (needs a
            fixed batch size). Default: `False`.
        unroll: Boolean, whether to unroll the loop: faster for short
            sequences, more memory. Default: `False`.
        seed: Optional integer, the random seed of the dropout masks.
        norm_epsilon: Float > 0 added to the variance in the normalization.
            Default: 1e-3.
        norm_gamma_initializer: Initializer of the normalization's gain.
            Default: `"ones"`.
        norm_gamma_regularizer: Optional regularizer of the gain.
        norm_gamma_constraint: Optional constraint on the gain.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`)
            and `keras.layers.RNN`'s `zero_output_for_mask`. TensorFlow
            Addons' names `layernorm_epsilon`, `gamma_initializer`,
            `gamma_regularizer` and `gamma_constraint` are accepted in place of
            `norm_epsilon` and `norm_gamma_*`.

    Call arguments:
        sequences: 3D tensor `(batch, timesteps, features)`.
        initial_state: Optional list with the initial state `(batch, units)`;
            zeros by default.
        mask: Optional boolean tensor `(batch, timesteps)`, False at the steps
            to skip.
        training: Python boolean, whether dropout is applied.

    Returns:
        The last output `(batch, units)`, or with `return_sequences` every
        output `(batch, timesteps, units)`; with `return_state`, a list of that
        and the last state `(batch, units)`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import LayerNormSimpleRNN
    >>> # TensorFlow Addons' `layernorm_epsilon` is accepted for `norm_epsilon`.
    >>> rnn = LayerNormSimpleRNN(8, return_sequences=True, layernorm_epsilon=1e-5)
    >>> tuple(rnn(np.random.rand(2, 10, 4)).shape)
    (2, 10, 8)
    >>> rnn.get_config()["norm_epsilon"]
    1e-05
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        seed=None,
        norm_epsilon=1e-3,
        norm_gamma_initializer="ones",
        norm_gamma_regularizer=None,
        norm_gamma_constraint=None,
        **kwargs,
    ):
        _reject_shift_arguments(type(self).__name__, kwargs)
        cell = LayerNormSimpleRNNCell(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            norm_epsilon=norm_epsilon,
            norm_gamma_initializer=norm_gamma_initializer,
            norm_gamma_regularizer=norm_gamma_regularizer,
            norm_gamma_constraint=norm_gamma_constraint,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="cell",
            **_pop_tfa_aliases(kwargs),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormLSTM(_LayerNormRNN):
    """Long Short-Term Memory layer with layer normalization (Ba et al. 2016).

    A drop-in replacement for `keras.layers.LSTM` running a `LayerNormLSTMCell`:
    the gate pre-activations and the cell state's output path are
    layer-normalized at every step, which keeps the recurrence well scaled and
    usually makes training faster and steadier. The statistics are those of
    each example at each step, so training and inference normalize alike,
    whatever the batch size; only `dropout` and `recurrent_dropout` differ,
    applied in training only. Masking, `return_sequences`, `return_state`,
    `go_backwards`, `stateful` and `unroll` behave as in `keras.layers.LSTM`.
    No cuDNN kernel computes a layer-normalized step: the layer always runs the
    backend's RNN loop. It replaces TensorFlow Addons'
    `keras.layers.RNN(tfa.rnn.LayerNormLSTMCell(...))`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (name or callable) of the candidate
            and of the output. Default: `"tanh"`. `None` is linear.
        recurrent_activation: Activation function of the input, forget and
            output gates. Default: `"sigmoid"`. `None` is linear.
        use_bias: Boolean, whether to add a bias to the gates. Default: `True`.
        kernel_initializer: Initializer of the `kernel` matrix, which projects
            the inputs. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of the `recurrent_kernel` matrix,
            which projects the previous output. Default: `"orthogonal"`.
        bias_initializer: Initializer of the bias. Default: `"zeros"`.
        unit_forget_bias: Boolean, whether to add 1 to the forget gate's bias
            at initialization (then `bias_initializer` initializes the rest
            with zeros), as Jozefowicz et al. (2015) recommend. Default: `True`.
        kernel_regularizer: Optional regularizer of the `kernel` matrix.
        recurrent_regularizer: Optional regularizer of the `recurrent_kernel`
            matrix.
        bias_regularizer: Optional regularizer of the bias.
        activity_regularizer: Optional regularizer of the layer's output.
        kernel_constraint: Optional constraint on the `kernel` matrix.
        recurrent_constraint: Optional constraint on the `recurrent_kernel`
            matrix.
        bias_constraint: Optional constraint on the bias.
        dropout: Float in [0, 1), the fraction of the inputs dropped in
            training. Default: 0.
        recurrent_dropout: Float in [0, 1), the fraction of the previous output
            dropped in training. Default: 0.
        seed: Optional integer, the random seed of the dropout masks.
        return_sequences: Boolean, whether to return the whole output sequence
            rather than the last output. Default: `False`.
        return_state: Boolean, whether to return the last states after the
            output. Default: `False`.
        go_backwards: Boolean, whether to process the sequence backwards (and
            return the reversed sequence). Default: `False`.
        stateful: Boolean, whether the last states of each example of a batch
            are the initial states of the same example in the next batch (needs
            a fixed batch size). Default: `False`.
        unroll: Boolean, whether to unroll the loop: faster for short
            sequences, more memory. Default: `False`.
        use_cudnn: `"auto"` (default) or `False`; both run the backend's RNN
            loop, since no cuDNN kernel computes a layer-normalized step.
            Accepted so that code written for `keras.layers.LSTM` runs
            unchanged; `True` raises a `ValueError`.
        norm_epsilon: Float > 0 added to the variance in the normalizations.
            Default: 1e-3.
        norm_gamma_initializer: Initializer of the three normalizations' gains.
            Default: `"ones"`.
        norm_gamma_regularizer: Optional regularizer of the gains.
        norm_gamma_constraint: Optional constraint on the gains.
        norm_beta_initializer: Initializer of the cell-state normalization's
            shift. Default: `"zeros"`.
        norm_beta_regularizer: Optional regularizer of that shift.
        norm_beta_constraint: Optional constraint on that shift.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`)
            and `keras.layers.RNN`'s `zero_output_for_mask`. TensorFlow
            Addons' names `layernorm_epsilon`, `gamma_initializer`,
            `gamma_regularizer` and `gamma_constraint` are accepted in place of
            `norm_epsilon` and `norm_gamma_*`.

    Call arguments:
        sequences: 3D tensor `(batch, timesteps, features)`.
        initial_state: Optional list `[h, c]` of the initial output and cell
            state, each `(batch, units)`; zeros by default.
        mask: Optional boolean tensor `(batch, timesteps)`, False at the steps
            to skip.
        training: Python boolean, whether dropout is applied.

    Returns:
        The last output `(batch, units)`, or with `return_sequences` every
        output `(batch, timesteps, units)`; with `return_state`, a list of that
        and the last states `h` and `c`, each `(batch, units)`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import LayerNormLSTM
    >>> x, y = np.random.rand(32, 10, 3), np.random.rand(32, 1)
    >>> model = keras.Sequential([
    ...     keras.Input((10, 3)),
    ...     LayerNormLSTM(16, dropout=0.1),
    ...     keras.layers.Dense(1),
    ... ])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> history = model.fit(x, y, epochs=1, verbose=0)
    >>> model.predict(x, verbose=0).shape
    (32, 1)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        use_cudnn="auto",
        norm_epsilon=1e-3,
        norm_gamma_initializer="ones",
        norm_gamma_regularizer=None,
        norm_gamma_constraint=None,
        norm_beta_initializer="zeros",
        norm_beta_regularizer=None,
        norm_beta_constraint=None,
        **kwargs,
    ):
        _check_use_cudnn(use_cudnn)
        cell = LayerNormLSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            norm_epsilon=norm_epsilon,
            norm_gamma_initializer=norm_gamma_initializer,
            norm_gamma_regularizer=norm_gamma_regularizer,
            norm_gamma_constraint=norm_gamma_constraint,
            norm_beta_initializer=norm_beta_initializer,
            norm_beta_regularizer=norm_beta_regularizer,
            norm_beta_constraint=norm_beta_constraint,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="cell",
            **_pop_tfa_aliases(kwargs),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerNormGRU(_LayerNormRNN):
    """Gated recurrent unit layer with layer normalization (Ba et al. 2016).

    A drop-in replacement for `keras.layers.GRU` (reset-after form) running a
    `LayerNormGRUCell`: the input and recurrent projections are
    layer-normalized at every step, which keeps the recurrence well scaled and
    usually makes training faster and steadier. The statistics are those of
    each example at each step, so training and inference normalize alike,
    whatever the batch size; only `dropout` and `recurrent_dropout` differ,
    applied in training only. Masking, `return_sequences`, `return_state`,
    `go_backwards`, `stateful` and `unroll` behave as in `keras.layers.GRU`. No
    cuDNN kernel computes a layer-normalized step: the layer always runs the
    backend's RNN loop.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function (name or callable) of the candidate.
            Default: `"tanh"`. `None` is linear.
        recurrent_activation: Activation function of the update and reset
            gates. Default: `"sigmoid"`. `None` is linear.
        use_bias: Boolean, whether to add the input and recurrent biases.
            Default: `True`.
        kernel_initializer: Initializer of the `kernel` matrix, which projects
            the inputs. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of the `recurrent_kernel` matrix,
            which projects the previous output. Default: `"orthogonal"`.
        bias_initializer: Initializer of the biases. Default: `"zeros"`.
        kernel_regularizer: Optional regularizer of the `kernel` matrix.
        recurrent_regularizer: Optional regularizer of the `recurrent_kernel`
            matrix.
        bias_regularizer: Optional regularizer of the biases.
        activity_regularizer: Optional regularizer of the layer's output.
        kernel_constraint: Optional constraint on the `kernel` matrix.
        recurrent_constraint: Optional constraint on the `recurrent_kernel`
            matrix.
        bias_constraint: Optional constraint on the biases.
        dropout: Float in [0, 1), the fraction of the inputs dropped in
            training. Default: 0.
        recurrent_dropout: Float in [0, 1), the fraction of the previous output
            dropped in training. Default: 0.
        seed: Optional integer, the random seed of the dropout masks.
        return_sequences: Boolean, whether to return the whole output sequence
            rather than the last output. Default: `False`.
        return_state: Boolean, whether to return the last state after the
            output. Default: `False`.
        go_backwards: Boolean, whether to process the sequence backwards (and
            return the reversed sequence). Default: `False`.
        stateful: Boolean, whether the last state of each example of a batch is
            the initial state of the same example in the next batch (needs a
            fixed batch size). Default: `False`.
        unroll: Boolean, whether to unroll the loop: faster for short
            sequences, more memory. Default: `False`.
        reset_after: Must be `True` (the default): the layer is the reset-after
            GRU. Accepted so that code written for `keras.layers.GRU` runs
            unchanged; `False` raises a `ValueError`.
        use_cudnn: `"auto"` (default) or `False`; both run the backend's RNN
            loop, since no cuDNN kernel computes a layer-normalized step.
            Accepted so that code written for `keras.layers.GRU` runs
            unchanged; `True` raises a `ValueError`.
        norm_epsilon: Float > 0 added to the variance in the normalizations.
            Default: 1e-3.
        norm_gamma_initializer: Initializer of the two normalizations' gains.
            Default: `"ones"`.
        norm_gamma_regularizer: Optional regularizer of the gains.
        norm_gamma_constraint: Optional constraint on the gains.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`)
            and `keras.layers.RNN`'s `zero_output_for_mask`. TensorFlow
            Addons' names `layernorm_epsilon`, `gamma_initializer`,
            `gamma_regularizer` and `gamma_constraint` are accepted in place of
            `norm_epsilon` and `norm_gamma_*`.

    Call arguments:
        sequences: 3D tensor `(batch, timesteps, features)`.
        initial_state: Optional list with the initial state `(batch, units)`;
            zeros by default.
        mask: Optional boolean tensor `(batch, timesteps)`, False at the steps
            to skip.
        training: Python boolean, whether dropout is applied.

    Returns:
        The last output `(batch, units)`, or with `return_sequences` every
        output `(batch, timesteps, units)`; with `return_state`, a list of that
        and the last state `(batch, units)`.

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
        Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder
        for Statistical Machine Translation", EMNLP 2014.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import LayerNormGRU
    >>> x = np.random.rand(2, 6, 3)
    >>> x[1, 4:] = 0.0  # The second sequence has 4 steps, then padding.
    >>> gru = LayerNormGRU(8)
    >>> model = keras.Sequential([keras.Input((6, 3)), keras.layers.Masking(), gru])
    >>> y = model.predict(x, verbose=0)
    >>> y.shape
    (2, 8)
    >>> # The padded steps are skipped: the output is that of the 4 real steps.
    >>> unpadded = keras.ops.convert_to_numpy(gru(x[1:, :4]))
    >>> bool(np.allclose(y[1:], unpadded, atol=1e-5))
    True
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        reset_after=True,
        use_cudnn="auto",
        norm_epsilon=1e-3,
        norm_gamma_initializer="ones",
        norm_gamma_regularizer=None,
        norm_gamma_constraint=None,
        **kwargs,
    ):
        _check_use_cudnn(use_cudnn)
        _reject_shift_arguments(type(self).__name__, kwargs)
        cell = LayerNormGRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            reset_after=reset_after,
            seed=seed,
            norm_epsilon=norm_epsilon,
            norm_gamma_initializer=norm_gamma_initializer,
            norm_gamma_regularizer=norm_gamma_regularizer,
            norm_gamma_constraint=norm_gamma_constraint,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="cell",
            **_pop_tfa_aliases(kwargs),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)
