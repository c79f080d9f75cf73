"""Monte-Carlo dropout: dropout that stays on at inference, and `mc_predict`."""

import weakref

import keras
import numpy as np

from keras_smithing.layers.sampling import StackedSampler, draw_samples
from keras_smithing.layers.stochastic import is_stochastic
from keras_smithing.layers.training_mode import is_keras_sampler, sampling_network
from keras_smithing.utils.compat import flatten_layers
from keras_smithing.utils.validation import (
    check_array_structure,
    check_int,
    check_rate,
    invalid_argument,
)


@keras.saving.register_keras_serializable(package="keras_smithing")
class MCDropout(keras.layers.Dropout):
    """Dropout that also samples at inference (Monte-Carlo dropout).

    Identical to `keras.layers.Dropout` during training. At inference it keeps
    dropping units, so repeated predictions are samples from an approximate
    posterior predictive distribution; their spread measures the model's
    uncertainty (Gal & Ghahramani: leave dropout on at test time and sample
    several realizations of the randomness). Use `keras_smithing.mc_predict` to
    draw and summarize the samples. Plain `Dropout` layers need no replacement for
    that in a Functional or Sequential model, nor in a subclassed model without
    BatchNormalization or augmentation layers: `mc_predict` samples them too.
    `MCDropout` is for the other subclassed models, and for models that must be
    stochastic in every `predict` call.

    Args:
        rate: Float in [0, 1). Fraction of the input units to drop.
        noise_shape: 1D integer tuple, the shape of the binary dropout mask that
            multiplies the input (as in `keras.layers.Dropout`).
        seed: Python integer seed of the dropout masks.

    Call arguments:
        inputs: Input tensor (of any rank).
        training: Ignored: the layer drops units in training and inference alike.

    Reference:
        Gal & Ghahramani, "Dropout as a Bayesian Approximation", ICML 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import MCDropout
    >>> model = keras.Sequential([
    ...     keras.Input((4,)),
    ...     keras.layers.Dense(64, activation="relu"),
    ...     MCDropout(0.5),
    ...     keras.layers.Dense(1),
    ... ])
    >>> x = np.ones((1, 4), dtype="float32")
    >>> first, second = model.predict(x, verbose=0), model.predict(x, verbose=0)
    >>> print(bool(first[0, 0] != second[0, 0]))  # Dropout is on in `predict` too.
    True
    """

    stochastic = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(check_rate("rate", rate), noise_shape, seed, **kwargs)

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


class MCPrediction:
    """Monte-Carlo predictions of one input batch, and their summaries.

    Attributes:
        samples: NumPy array `(num_samples, num_examples, ...)` of model outputs.
    """

    def __init__(self, samples):
        self.samples = samples

    @property
    def mean(self):
        """Mean prediction over the samples, `(num_examples, ...)`."""
        return self.samples.mean(axis=0, dtype="float64").astype(self.samples.dtype)

    @property
    def std(self):
        """Standard deviation over the samples, `(num_examples, ...)`.

        Computed in float64, so identical samples give exactly 0.
        """
        return self.samples.std(axis=0, dtype="float64").astype(self.samples.dtype)

    def _probabilities(self, values):
        if values.shape[-1] == 1:  # One sigmoid unit: P(class 1).
            values = np.concatenate([1 - values, values], axis=-1)
        sums = values.sum(axis=-1)
        if values.min() < 0 or values.max() > 1 or not np.allclose(sums, 1, atol=1e-3):
            raise ValueError(
                "Predictive entropy needs class probabilities (a softmax output, "
                "or one sigmoid unit); the model's outputs are not probabilities."
            )
        return np.clip(values, 1e-12, 1)

    @property
    def predictive_entropy(self):
        """Entropy (nats) of the mean class distribution, `(num_examples, ...)`.

        For classifiers whose output is a softmax, or one sigmoid unit.
        """
        p = self._probabilities(self.mean)
        return -(p * np.log(p)).sum(axis=-1)

    @property
    def mutual_information(self):
        """Predictive entropy minus the mean entropy of the samples (BALD).

        The part of the uncertainty due to the model rather than to the data.
        """
        p = self._probabilities(self.samples)
        expected = -(p * np.log(p)).sum(axis=-1).mean(axis=0)
        return self.predictive_entropy - expected


_SAMPLERS = weakref.WeakKeyDictionary()


def _samplers(model):
    """The cached samplers of `model`: its sampling network and one per group count."""
    cached = _SAMPLERS.get(model)
    if cached is None:
        if not any(is_stochastic(layer) for layer in flatten_layers(model)):
            raise ValueError(
                f"`{model.name}` has no stochastic layer, so every Monte-Carlo "
                "sample would be the same prediction. Add dropout (`Dropout` with "
                "rate > 0, `MCDropout`, ...), declare `stochastic = True` on a "
                "layer of your own that samples, or use `model.predict`."
            )
        # Keras's own stochastic layers sample in a graph of the Functional or
        # Sequential model rebuilt around the same layers. Out of that reach
        # (a subclassed model, a custom layer), the model is called with
        # `training=True` instead, refused when other layers depend on it.
        network, rebuilt = sampling_network(
            model,
            samples=is_stochastic,
            rewire=is_keras_sampler,
            scope=True,
            advice="Use `keras_smithing.layers.MCDropout` in their place (it "
            "samples whatever `training` is), or build the model with the "
            "Functional API.",
        )
        cached = {"network": network}
        if rebuilt:  # A cache entry must not keep `model` alive.
            _SAMPLERS[model] = cached
    return cached


def _sampler(model, groups):
    cached = _samplers(model)
    if groups not in cached:
        cached[groups] = StackedSampler(cached["network"], groups)
        if model.compiled:  # Same XLA choice as the model's own predict.
            cached[groups].jit_compile = model.jit_compile
    return cached[groups]


def mc_predict(model, x, num_samples=30, batch_size=None):
    """Monte-Carlo predictions: many stochastic forward passes at inference.

    Every stochastic layer samples: Keras's Dropout family (and the dropout of
    recurrent and attention layers) and this pack's stochastic layers (MCDropout,
    DropConnect, DropBlock2D, StochasticDepth, ...). Everything else runs in
    inference mode: BatchNormalization uses its moving statistics and augmentation
    layers stay off, unlike the common `model(x, training=True)` recipe, which
    normalizes with batch statistics. All the samples run in one compiled forward
    pass (several when there are more than `batch_size` rows).

    This pack's layers sample in any model, Keras's dropout layers in Functional
    and Sequential models. Keras dropout inside a subclassed model or a custom
    layer samples only when none of the model's other layers behaves differently
    in training: if it holds BatchNormalization, augmentation layers, `MixUp`,
    `SpectralNormalization`, `WeightNormalization` or a layer of your own that
    takes `training` without declaring `stochastic = True`, `mc_predict` raises a
    `ValueError` (use `MCDropout`, which samples whatever `training` is, or build
    the model with the Functional API).

    Args:
        model: A built `keras.Model` with at least one stochastic layer.
        x: Input array (or list/dict of arrays) of `num_examples` examples.
        num_samples: Positive int, the number of Monte-Carlo samples.
        batch_size: Positive int, the largest number of rows (example-samples) in
            one forward pass. Defaults to 8192.

    Returns:
        An `MCPrediction` with `.samples` `(num_samples, num_examples, ...)`,
        `.mean`, `.std`, `.predictive_entropy` and `.mutual_information`; for a
        model with several outputs, the same structure (list or dict) of them.

    Raises:
        ValueError: When `model` has no stochastic layer (every sample would be
            the same prediction), or cannot be sampled without switching other
            layers to training mode (the message names them and what to do); on
            a bad argument, naming it.

    Reference:
        Gal & Ghahramani, "Dropout as a Bayesian Approximation", ICML 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import keras_smithing
    >>> model = keras.Sequential([
    ...     keras.Input((4,)),
    ...     keras.layers.Dense(32, activation="relu"),
    ...     keras.layers.Dropout(0.5),
    ...     keras.layers.Dense(3, activation="softmax"),
    ... ])
    >>> x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    >>> result = keras_smithing.mc_predict(model, x, num_samples=20)
    >>> print(result.samples.shape, result.mean.shape, result.predictive_entropy.shape)
    (20, 5, 3) (5, 3) (5,)
    >>> most_uncertain = np.argsort(result.predictive_entropy)[-2:]
    """
    num_samples = check_int("num_samples", num_samples)
    max_rows = 8192 if batch_size is None else check_int("batch_size", batch_size)
    if not isinstance(model, keras.Model) or not model.built:
        raise invalid_argument("model", model, "a built keras.Model")
    x = check_array_structure("x", x)
    # Vectorised: the input is stacked `groups` times along the batch axis and run
    # in one compiled forward pass, split into several above `max_rows` rows.
    samples = draw_samples(
        lambda groups, first: _sampler(model, groups), x, num_samples, max_rows
    )
    return keras.tree.map_structure(MCPrediction, samples)
