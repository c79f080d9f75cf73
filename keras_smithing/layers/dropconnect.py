"""DropConnect: dropping weights instead of activations.

The masks are built from random *bytes*, not from a uniform float per weight: one
32-bit random integer gives the bits of four (or two) weights, read with a free
`keras.ops.view`. A weight is kept when its signed 8-bit (or 16-bit) draw, counted
from the smallest value, is below `round((1 - rate) * 2**bits)`. Eight bits are used
when that is exact (`rate` a multiple of 1/256: 0.5, 0.25, ...), sixteen otherwise,
so the realised drop rate is `rate` to within 2**-17, and kept weights are scaled by
the realised keep probability so the expected output is exactly the inference
output. Drawing a quarter as many random numbers and skipping the float conversion
is what makes a per-batch kernel mask cheap enough for a training step.
"""

import inspect
import math

import keras
import numpy as np

from keras_smithing.layers.stochastic import (
    KERAS_SAMPLING_LAYERS,
    merge_groups,
    sample_groups,
    should_sample,
    split_groups,
)
from keras_smithing.utils.backend import random_randint
from keras_smithing.utils.validation import (
    check_bool,
    check_int,
    check_rate,
    invalid_argument,
)


def _mask_bits(rate):
    """Bits per mask entry and keep threshold: 8 bits when exact, else 16."""
    keep = 1.0 - rate
    bits = 8 if math.isclose(keep * 256, round(keep * 256), abs_tol=1e-9) else 16
    return bits, min(round(keep * 2**bits), 2**bits - 1)


def keep_mask(shape, rate, seed):
    """A boolean DropConnect keep mask.

    Args:
        shape: Mask shape (its leading entries may be symbolic, e.g. a batch size).
        rate: Float in (0, 1), the drop probability.
        seed: A `keras.random.SeedGenerator`.

    Returns:
        `(mask, keep_probability)`: a boolean tensor of `shape`, and the exact
        probability (a Python float) with which an entry is `True`.
    """
    bits, threshold = _mask_bits(rate)
    per_word = 32 // bits
    *lead, last = shape
    words = -(-last // per_word)
    draws = random_randint(tuple(lead) + (words,), -(2**31), 2**31 - 1, "int32", seed)
    # Signed views: PyTorch has no uint16 view.
    dtype = "int8" if bits == 8 else "int16"
    values = keras.ops.view(draws, dtype)
    if words * per_word != last:
        values = values[..., :last]
    mask = keras.ops.less(values, np.array(threshold - 2 ** (bits - 1), dtype))
    return mask, threshold / 2**bits


@keras.saving.register_keras_serializable(package="keras_smithing")
class DropConnectDense(keras.layers.Dense):
    """A `Dense` layer whose kernel weights are dropped at random in training.

    In training every kernel weight is zeroed independently with probability
    `rate` and the kept weights are scaled by `1 / (1 - rate)`, so the expected
    training output equals the inference output. By default one mask is drawn per
    batch (cheap: one mask the size of the kernel); `mask_per_example=True` draws
    one per example, as in the paper, at the memory cost of a kernel per example.
    The bias is never dropped. At inference (and whenever `rate=0`) the layer is
    exactly `keras.layers.Dense`. A `rate` that is a multiple of 1/256 (0.5,
    0.25, ...) is the fastest.

    Args:
        units: Positive int, dimensionality of the output space.
        rate: Float in [0, 1). Probability of dropping each kernel weight.
        activation: Activation function (as in `keras.layers.Dense`).
        use_bias: Whether the layer uses a bias vector.
        seed: Python integer seed of the masks.
        mask_per_example: Whether to draw one mask per example instead of one per
            batch.
        **kwargs: Every other `keras.layers.Dense` argument (initializers,
            regularizers, constraints, `name`, `dtype`, ...).

    Call arguments:
        inputs: Tensor of rank >= 2, features on the last axis.
        training: Python boolean. Whether to drop weights (also done under
            `keras_smithing.mc_predict`).

    Returns:
        A tensor of shape `inputs.shape[:-1] + (units,)`.

    Reference:
        Wan et al., "Regularization of Neural Networks using DropConnect", ICML
        2013.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import DropConnectDense
    >>> hidden = DropConnectDense(64, rate=0.5, activation="relu")
    >>> model = keras.Sequential([keras.Input((32,)), hidden, keras.layers.Dense(10)])

    At inference the layer is a plain `Dense`; in training the kept weights are
    doubled (`rate=0.5`), so the output is right on average:

    >>> layer = DropConnectDense(4, rate=0.5, kernel_initializer="ones")
    >>> x = np.ones((1, 100), dtype="float32")
    >>> print(keras.ops.convert_to_numpy(layer(x)))
    [[100. 100. 100. 100.]]
    >>> print(bool(keras.ops.any(layer(x, training=True) != 100)))
    True
    """

    stochastic = True

    def __init__(
        self,
        units,
        rate,
        activation=None,
        use_bias=True,
        seed=None,
        mask_per_example=False,
        **kwargs,
    ):
        units = check_int("units", units)
        self.rate = check_rate("rate", rate)
        self.mask_per_example = check_bool("mask_per_example", mask_per_example)
        self.seed = seed
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if self.rate == 0 or not should_sample(training):
            return super().call(inputs)
        kernel = keras.ops.convert_to_tensor(self.kernel)
        if self.mask_per_example:
            batch = keras.ops.shape(inputs)[0]
            shape = (batch,) + tuple(kernel.shape)
            mask, keep = keep_mask(shape, self.rate, self.seed_generator)
            kernel = keras.ops.where(mask, kernel, 0)
            outputs = keras.ops.einsum("b...i,bio->b...o", inputs / keep, kernel)
        elif sample_groups() > 1:
            shape = (sample_groups(),) + tuple(kernel.shape)
            mask, keep = keep_mask(shape, self.rate, self.seed_generator)
            kernel = keras.ops.where(mask, kernel, 0)
            outputs = keras.ops.einsum(
                "gb...i,gio->gb...o", split_groups(inputs / keep), kernel
            )
            outputs = merge_groups(outputs)
        else:
            mask, keep = keep_mask(kernel.shape, self.rate, self.seed_generator)
            # Scaling the inputs, not the kernel, touches batch x in values, not
            # in x out.
            outputs = keras.ops.matmul(inputs / keep, keras.ops.where(mask, kernel, 0))
        if self.bias is not None:
            outputs = keras.ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "seed": self.seed,
            "mask_per_example": self.mask_per_example,
        }


@keras.saving.register_keras_serializable(package="keras_smithing")
class DropConnect(keras.layers.Wrapper):
    """Applies DropConnect to named weights of any wrapped layer.

    In training each entry of the named weights (the `kernel` of a `Dense` or
    `Conv2D`, the `recurrent_kernel` of an `LSTM`, ...) is zeroed with probability
    `rate` and the kept entries are scaled by `1 / (1 - rate)`. One mask is drawn
    per call, so an RNN uses the same recurrent mask at every step of a sequence
    (the weight-dropped LSTM of Merity et al.). The wrapped layer's weights are
    never modified. At inference (and whenever `rate=0`) the wrapper calls the
    layer unchanged.

    Args:
        layer: The `keras.layers.Layer` to wrap.
        rate: Float in [0, 1). Probability of dropping each entry of the named
            weights.
        weight_names: Non-empty tuple of names of the layer's trainable weights to
            drop (a weight's name is the last part of its path, e.g. "kernel").
        seed: Python integer seed of the masks.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...). A `dtype`
            given here is set on the wrapped layer too, which does the
            computation.

    Call arguments:
        inputs: The wrapped layer's inputs.
        training: Python boolean. Whether to drop weights (also done under
            `keras_smithing.mc_predict`); passed on to the wrapped layer.

    Returns:
        The wrapped layer's outputs.

    Reference:
        Wan et al., "Regularization of Neural Networks using DropConnect", ICML
        2013. Merity et al., "Regularizing and Optimizing LSTM Language Models",
        ICLR 2018.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import DropConnect
    >>> lstm = keras.layers.LSTM(32)
    >>> lstm = DropConnect(lstm, rate=0.5, weight_names=("recurrent_kernel",))
    >>> model = keras.Sequential([keras.Input((10, 8)), lstm, keras.layers.Dense(1)])
    >>> x = np.random.default_rng(0).normal(size=(4, 10, 8)).astype("float32")
    >>> print(bool(keras.ops.all(model(x) == model(x))))  # inference
    True
    >>> print(bool(keras.ops.all(model(x, training=True) == model(x, training=True))))
    False
    """

    stochastic = True

    def __init__(self, layer, rate, weight_names=("kernel",), seed=None, **kwargs):
        if not isinstance(layer, keras.layers.Layer):
            raise invalid_argument("layer", layer, "a keras.layers.Layer")
        self.rate = check_rate("rate", rate)
        if isinstance(weight_names, str) or not (
            isinstance(weight_names, (list, tuple))
            and weight_names
            and all(isinstance(name, str) for name in weight_names)
        ):
            raise invalid_argument(
                "weight_names", weight_names, "a non-empty tuple of weight names"
            )
        # Variables are read unconverted and the wrapped layer casts them itself.
        kwargs.setdefault("autocast", False)
        super().__init__(layer, **kwargs)
        if kwargs.get("dtype") is not None:
            layer.dtype_policy = self.dtype_policy
        self.weight_names = tuple(weight_names)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        if layer.built:
            self._check_weight_names()

    def _check_weight_names(self):
        names = {v.name for v in self.layer.trainable_variables}
        missing = [n for n in self.weight_names if n not in names]
        if missing:
            raise invalid_argument(
                "weight_names",
                self.weight_names,
                f"names of trainable weights of {self.layer.name} "
                f"({sorted(names)}); missing: {missing}",
            )

    def build(self, input_shape=None):
        super().build(input_shape)
        self._check_weight_names()

    def _masked_call(self, inputs, kwargs):
        # The wrapped layer runs inside a `keras.StatelessScope` that maps the
        # named weights to their masked values, so its variables are never
        # modified; only its own state updates (seed generators, moving
        # statistics) are written back.
        values = []
        for variable in self.layer.variables:
            value = variable.value
            if variable.trainable and variable.name in self.weight_names:
                mask, keep = keep_mask(variable.shape, self.rate, self.seed_generator)
                value = keras.ops.where(mask, value / keep, 0)
            values.append(value)
        variables = self.layer.variables
        with keras.StatelessScope(state_mapping=list(zip(variables, values))) as scope:
            before = [scope.get_current_value(v) for v in variables]
            outputs = self.layer(inputs, **kwargs)
        for variable, value in zip(variables, before):
            update = scope.get_current_value(variable)
            if update is not value:
                variable.assign(update)
        return outputs

    def call(self, inputs, training=None):
        kwargs = {}
        if "training" in inspect.signature(self.layer.call).parameters:
            # Keras layers whose `training` only switches their own dropout (an
            # LSTM's) sample with us under mc_predict.
            sampling = isinstance(self.layer, KERAS_SAMPLING_LAYERS)
            kwargs["training"] = should_sample(training) if sampling else training
        if self.rate == 0 or not should_sample(training):
            return self.layer(inputs, **kwargs)
        groups = sample_groups()
        if groups == 1:
            return self._masked_call(inputs, kwargs)
        # mc_predict stacks `groups` samples along the batch: one mask each.
        split = keras.tree.map_structure(split_groups, inputs)
        outputs = []
        for group in range(groups):
            group_inputs = keras.tree.map_structure(lambda x, g=group: x[g], split)
            outputs.append(self._masked_call(group_inputs, kwargs))
        return keras.tree.map_structure(
            lambda *parts: keras.ops.concatenate(parts, axis=0), *outputs
        )

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "weight_names": self.weight_names,
            "seed": self.seed,
        }
