"""Denoising autoencoders with tied weights, for stacked pretraining."""

import keras
import numpy as np
from keras import ops

from keras_smithing.pretraining.training import CheckedModel
from keras_smithing.utils.backend import random_normal, random_uniform
from keras_smithing.utils.validation import (
    check_array,
    check_bool,
    check_float,
    check_int,
    check_one_of,
    check_rate,
    is_dataset,
)


@keras.saving.register_keras_serializable(package="keras_smithing")
class DenoisingAutoencoder(CheckedModel):
    """One-hidden-layer denoising autoencoder (a building block of an SdA).

    In training, the input is corrupted (masking noise sets a fraction `rate` of
    the inputs to 0, without rescaling; Gaussian noise adds `N(0, rate^2)`),
    encoded by `encoder`, a plain `keras.layers.Dense(units, activation)`, and
    decoded back with the transposed encoder kernel (`tied_weights=True`) or a
    kernel of its own, plus a visible bias. The model is trained to reconstruct
    the *clean* input: compile it with `loss="binary_crossentropy"` for inputs in
    [0, 1] (`output_activation="sigmoid"`) or `loss="mse"` for real inputs
    (`output_activation="linear"`), then call `fit(x)`: without targets the input
    is the target. At inference nothing is corrupted. A NaN loss stops `fit` with a
    `RuntimeWarning` and restores the last good weights.

    Args:
        units: Positive integer, size of the code.
        corruption: `"masking"` or `"gaussian"`.
        rate: Float. Masking: fraction of inputs zeroed, in [0, 1). Gaussian: the
            noise standard deviation, >= 0.
        tied_weights: Whether the decoder uses the transposed encoder kernel.
        activation: Activation of the code (match the MLP layer it will
            initialize).
        output_activation: Activation of the reconstruction.
        seed: Integer seed of the weight initialization and the corruption.
        **kwargs: Base model arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: Data of shape `(batch, features)`.
        training: Whether to corrupt the inputs.

    Returns:
        The reconstruction, of the input's shape. `transform(x)` gives the code.

    Reference:
        Vincent et al., "Extracting and composing robust features with denoising
        autoencoders", ICML 2008; "Stacked denoising autoencoders", JMLR 2010.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.pretraining import DenoisingAutoencoder
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((64, 16)) < 0.3).astype("float32")  # Binary, in [0, 1].
    >>> dae = DenoisingAutoencoder(8, corruption="masking", rate=0.25, seed=0)
    >>> dae.compile(optimizer="adam", loss="binary_crossentropy")
    >>> _ = dae.fit(x, epochs=2, batch_size=16, verbose=0)  # The target is x.
    >>> dae.transform(x).shape  # The codes.
    (64, 8)
    >>> dae.predict(x, verbose=0).shape  # Reconstructions of clean inputs.
    (64, 16)
    """

    def __init__(
        self,
        units,
        corruption="masking",
        rate=0.25,
        tied_weights=True,
        activation="sigmoid",
        output_activation="sigmoid",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units)
        self.corruption = check_one_of(
            "corruption", corruption, ("masking", "gaussian")
        )
        if corruption == "masking":
            self.rate = check_rate("rate", rate)
        else:
            self.rate = check_float("rate", rate, 0.0, strict=False)
        self.tied_weights = check_bool("tied_weights", tied_weights)
        self.activation = keras.activations.get(activation)
        self.output_activation = keras.activations.get(output_activation)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.encoder = keras.layers.Dense(
            self.units,
            activation=self.activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            dtype=self.dtype_policy,
            name="encoder",
        )

    def build(self, input_shape):
        features = input_shape[-1]
        self.encoder.build(input_shape)
        if not self.tied_weights:
            self.decoder_kernel = self.add_weight(
                shape=(self.units, features),
                initializer=keras.initializers.GlorotUniform(
                    seed=None if self.seed is None else self.seed + 1
                ),
                name="decoder_kernel",
            )
        self.visible_bias = self.add_weight(
            shape=(features,), initializer="zeros", name="visible_bias"
        )

    def _corrupt(self, x):
        if self.rate == 0:
            return x
        if self.corruption == "masking":
            noise = random_uniform(
                ops.shape(x), 0.0, 1.0, keras.config.floatx(), self.seed_generator
            )
            return x * ops.cast(ops.greater_equal(noise, self.rate), x.dtype)
        noise = random_normal(
            ops.shape(x), self.rate, keras.config.floatx(), self.seed_generator
        )
        return x + ops.cast(noise, x.dtype)

    def call(self, inputs, training=False):
        x = self._corrupt(inputs) if training else inputs
        code = self.encoder(x)
        kernel = (
            ops.transpose(self.encoder.kernel)
            if self.tied_weights
            else self.decoder_kernel
        )
        return self.output_activation(
            ops.matmul(code, ops.cast(kernel, code.dtype))
            + ops.cast(self.visible_bias, code.dtype)
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, **kwargs):
        """The compiled loss, with the clean input as the target when `y` is None."""
        return super().compute_loss(
            x=x,
            y=x if y is None else y,
            y_pred=y_pred,
            sample_weight=sample_weight,
            **kwargs,
        )

    def _check_inputs(self, x, name="x"):
        if is_dataset(x):
            return x
        return check_array(name, x, ranks=(2,), densify=True)

    def transform(self, x, batch_size=256):
        """The code `activation(x W + c)` of clean inputs, as a NumPy array."""
        x = np.asarray(x, dtype=self.compute_dtype)
        if not self.built:
            self.build(x.shape)
        return np.concatenate(
            [
                ops.convert_to_numpy(self.encoder(x[start : start + batch_size]))
                for start in range(0, len(x), batch_size)
            ]
        )

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "corruption": self.corruption,
            "rate": self.rate,
            "tied_weights": self.tied_weights,
            "activation": keras.activations.serialize(self.activation),
            "output_activation": keras.activations.serialize(self.output_activation),
            "seed": self.seed,
        }
