"""Residual block for dense and convolutional inputs."""

import math

import keras

from keras_smithing.layers.stochastic import should_sample
from keras_smithing.layers.stochastic_depth import StochasticDepth
from keras_smithing.utils.validation import (
    check_int,
    check_one_of,
    check_rank,
    check_rate,
    invalid_argument,
)

_CONV = {3: keras.layers.Conv1D, 4: keras.layers.Conv2D, 5: keras.layers.Conv3D}


@keras.saving.register_keras_serializable(package="keras_smithing")
class ResidualBlock(keras.layers.Layer):
    """Two-layer residual block, `y = shortcut(x) + F(x)`, dense or convolutional.

    The input's rank picks the layer type: `(batch, features)` uses Dense
    layers, rank 3/4/5 inputs (channels last) use Conv1D/2D/3D with "same"
    padding. Because the block only has to learn the residual `F` on top of the
    identity, gradients reach early layers undiminished and very deep stacks
    train. When the input width differs from `units` (or `strides > 1`) the
    shortcut is a learned 1x1 projection; otherwise it is the identity.

    - `preactivation=False` (He et al. 2015):
      `y = act(shortcut(x) + norm(W2 act(norm(W1 x))))`.
    - `preactivation=True` (He et al. 2016, the default): the identity path is
      left clean, `p = act(norm(x))`, `y = shortcut + W2 act(norm(W1 p))` with
      the projection (if any) applied to `p`; better for very deep stacks.

    Dropout (if any) sits between the two layers (wide-ResNet style);
    `stochastic_depth` drops the whole residual branch per example via
    `StochasticDepth`.

    Args:
        units: Positive integer, the output width: units (dense) or filters
            (convolutional).
        kernel_size: Integer or tuple, convolution window (ignored for dense).
        strides: Integer or tuple, stride of the first convolution and of the
            projection (convolutional inputs only).
        activation: Activation name or callable.
        preactivation: Boolean, pre-activation ordering (see above).
        normalization: `"batch"`, `"layer"` or None.
        dropout: Float in [0, 1), dropout rate between the two layers.
        stochastic_depth: Float in [0, 1), probability of dropping the residual
            branch of an example in training.
        kernel_initializer: Initializer of the kernels (He normal by default,
            for ReLU).
        kernel_regularizer: Optional regularizer of the kernels.
        seed: Python integer seed of the dropout and stochastic depth.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: Tensor `(batch, features)` or `(batch, *spatial, channels)` with a
            known channel dimension.
        training: Python boolean (normalization, dropout, stochastic depth).

    Returns:
        A tensor `(batch, units)` or `(batch, *spatial / strides, units)`.

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016;
        He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016.

    Example:

    >>> import keras
    >>> from keras_smithing.layers import ResidualBlock
    >>> inputs = keras.Input((32, 32, 16))
    >>> x = ResidualBlock(32, strides=2, stochastic_depth=0.1)(inputs)
    >>> x = ResidualBlock(32, dropout=0.2)(x)
    >>> print(x.shape)
    (None, 16, 16, 32)
    >>> print(ResidualBlock(64)(keras.Input((20,))).shape)  # Dense layers
    (None, 64)
    """

    def __init__(
        self,
        units,
        kernel_size=3,
        strides=1,
        activation="relu",
        preactivation=True,
        normalization="batch",
        dropout=0.0,
        stochastic_depth=0.0,
        kernel_initializer="he_normal",
        kernel_regularizer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units)
        self.kernel_size = kernel_size
        self.strides = strides
        self.activation = keras.activations.get(activation)
        self.preactivation = bool(preactivation)
        self.normalization = check_one_of(
            "normalization", normalization, ("batch", "layer", None)
        )
        self.dropout = check_rate("dropout", dropout)
        self.stochastic_depth = check_rate("stochastic_depth", stochastic_depth)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.seed = seed

    def _strided(self):
        strides = self.strides
        return (
            any(s != 1 for s in strides)
            if isinstance(strides, (list, tuple))
            else strides != 1
        )

    def _weighted(self, rank, units, kernel_size, strides, use_bias, name):
        common = dict(
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            use_bias=use_bias,
            dtype=self.dtype_policy,
            name=name,
        )
        if rank == 2:
            return keras.layers.Dense(units, **common)
        return _CONV[rank](
            units, kernel_size, strides=strides, padding="same", **common
        )

    def _norm(self, name):
        if self.normalization is None:
            return None
        cls = {
            "batch": keras.layers.BatchNormalization,
            "layer": keras.layers.LayerNormalization,
        }
        return cls[self.normalization](dtype=self.dtype_policy, name=name)

    def build(self, input_shape):
        rank = check_rank(
            input_shape,
            (2, 3, 4, 5),
            "(batch, features) or (batch, *spatial, channels) with 1-3 spatial axes",
        )
        channels = input_shape[-1]
        if channels is None:
            raise invalid_argument(
                "inputs", tuple(input_shape), "a known last (channel) dimension"
            )
        if rank == 2 and self._strided():
            raise invalid_argument(
                "strides", self.strides, "1 for dense (rank 2) inputs"
            )
        bias_before_norm = self.normalization != "batch"
        self.first = self._weighted(
            rank, self.units, self.kernel_size, self.strides, bias_before_norm, "first"
        )
        self.second = self._weighted(
            rank,
            self.units,
            self.kernel_size,
            1,
            self.preactivation or bias_before_norm,
            "second",
        )
        self.norm1, self.norm2 = self._norm("norm1"), self._norm("norm2")
        self.projection = None
        if channels != self.units or self._strided():
            self.projection = self._weighted(
                rank, self.units, 1, self.strides, True, "projection"
            )
        self.dropout_layer = None
        if self.dropout:
            self.dropout_layer = keras.layers.Dropout(
                self.dropout, seed=self.seed, dtype=self.dtype_policy
            )
        self.drop_path = None
        if self.stochastic_depth:
            self.drop_path = StochasticDepth(
                self.stochastic_depth,
                seed=None if self.seed is None else self.seed + 1,
                dtype=self.dtype_policy,
            )

        # Build the sublayers in call order, tracking the shapes.
        inner_shape = self.first.compute_output_shape(input_shape)
        if self.preactivation and self.norm1 is not None:
            self.norm1.build(input_shape)
        self.first.build(input_shape)
        norms = [(self.norm2, inner_shape)]
        if not self.preactivation:
            norms = [(self.norm1, inner_shape), (self.norm2, inner_shape)]
        for norm, shape in norms:
            if norm is not None:
                norm.build(shape)
        self.second.build(inner_shape)
        if self.projection is not None:
            self.projection.build(input_shape)
        if self.drop_path is not None:
            self.drop_path.build([inner_shape, inner_shape])

    @property
    def stochastic(self):
        """Whether `mc_predict` must sample this block (dropout or stochastic depth)."""
        return bool(self.dropout or self.stochastic_depth)

    def _norm_activation(self, norm, x, training):
        if norm is not None:
            x = norm(x, training=training)
        return self.activation(x)

    def call(self, inputs, training=None):
        if self.preactivation:
            x = self._norm_activation(self.norm1, inputs, training)
            shortcut = inputs if self.projection is None else self.projection(x)
            residual = self._norm_activation(self.norm2, self.first(x), training)
        else:
            shortcut = inputs if self.projection is None else self.projection(inputs)
            residual = self._norm_activation(self.norm1, self.first(inputs), training)
        if self.dropout_layer is not None:
            residual = self.dropout_layer(residual, training=should_sample(training))
        residual = self.second(residual)
        if not self.preactivation and self.norm2 is not None:
            residual = self.norm2(residual, training=training)
        if self.drop_path is not None:
            outputs = self.drop_path([shortcut, residual], training=training)
        else:
            outputs = shortcut + residual
        return outputs if self.preactivation else self.activation(outputs)

    def compute_output_shape(self, input_shape):
        rank = len(input_shape)
        strides = self.strides
        if not isinstance(strides, (list, tuple)):
            strides = (strides,) * (rank - 2)
        spatial = [
            None if d is None else math.ceil(d / s)
            for d, s in zip(input_shape[1:-1], strides)
        ]
        return (input_shape[0], *spatial, self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "activation": keras.activations.serialize(self.activation),
            "preactivation": self.preactivation,
            "normalization": self.normalization,
            "dropout": self.dropout,
            "stochastic_depth": self.stochastic_depth,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "seed": self.seed,
        }
