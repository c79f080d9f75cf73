"""Monte-Carlo dropout: dropout that stays on at inference, and `mc_predict`."""

import warnings
import weakref

import keras
import numpy as np

from keras_smithing.layers.sampling import (
    StackedSampler,
    draw_samples,
    predict_chunks,
    sampling_graph,
)
from keras_smithing.layers.stochastic import KERAS_SAMPLING_LAYERS, is_stochastic
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
    several realizations of the randomness). Use `keras_smithing.mc_predict` to draw and summarize the
    samples. Plain `Dropout` layers need no replacement for that: `mc_predict`
    samples them too; `MCDropout` is for models that must be stochastic in every
    `predict` call.

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


def _warn_unreached(model, reached):
    """Warns about Keras samplers out of reach; returns whether any layer samples."""
    layers = flatten_layers(model)
    stochastic = any(is_stochastic(layer) for layer in layers)
    if not stochastic:
        warnings.warn(
            f"mc_predict: {model.name} has no stochastic layer; every sample is "
            "the same prediction.",
            stacklevel=4,
        )
    for layer in layers:  # Declared stochastic: handles its sublayers itself.
        if getattr(layer, "stochastic", False):
            reached.update(id(sub) for sub in flatten_layers(layer, include_self=True))
    missed = [
        layer.name
        for layer in layers
        if isinstance(layer, KERAS_SAMPLING_LAYERS)
        and is_stochastic(layer)
        and id(layer) not in reached
    ]
    if missed:
        warnings.warn(
            "mc_predict cannot make these Keras layers sample (they are inside a "
            f"subclassed model or a custom layer): {missed}. Use "
            "keras_smithing.layers.MCDropout there.",
            stacklevel=4,
        )
    return stochastic


_SAMPLERS = weakref.WeakKeyDictionary()


def _is_keras_sampler(layer):
    return isinstance(layer, KERAS_SAMPLING_LAYERS)


def _samplers(model):
    """The cached samplers of `model`: its sampling graph and one per group count."""
    cached = _SAMPLERS.get(model)
    if cached is None:
        reached = set()
        network = sampling_graph(model, _is_keras_sampler, reached)
        stochastic = _warn_unreached(model, reached)
        cached = {"network": network if stochastic else None}
        if network is not model:  # A cache entry must not keep `model` alive.
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
    normalizes with batch statistics. The samples are drawn vectorised: the input
    is stacked `num_samples` times along the batch axis and run in one compiled
    forward pass, split into several when there are more than `batch_size` rows.
    Keras layers inside a subclassed model or a custom layer are out of reach (a
    warning names them); see `keras_smithing.layers.stochastic`.

    Args:
        model: A built `keras.Model` (Functional or Sequential for Keras's own
            dropout layers to sample; any model for this pack's layers).
        x: Input array (or list/dict of arrays) of `num_examples` examples.
        num_samples: Positive int, the number of Monte-Carlo samples.
        batch_size: Positive int, the largest number of rows (example-samples) in
            one forward pass. Defaults to 8192.

    Returns:
        An `MCPrediction` with `.samples` `(num_samples, num_examples, ...)`,
        `.mean`, `.std`, `.predictive_entropy` and `.mutual_information`; for a
        model with several outputs, the same structure (list or dict) of them.

    Reference:
        Gal & Ghahramani, "Dropout as a Bayesian Approximation", ICML 2016.

    Example:

    >>> result = mc_predict(model, x_test, num_samples=30)
    >>> uncertain = np.argsort(result.predictive_entropy)[-10:]
    """
    num_samples = check_int("num_samples", num_samples)
    max_rows = 8192 if batch_size is None else check_int("batch_size", batch_size)
    if not isinstance(model, keras.Model) or not model.built:
        raise invalid_argument("model", model, "a built keras.Model")
    x = check_array_structure("x", x)
    num_examples = len(keras.tree.flatten(x)[0])
    if _samplers(model)["network"] is None:  # Deterministic: all samples equal.
        prediction = predict_chunks(model, x, num_examples, min(num_examples, max_rows))
        return keras.tree.map_structure(
            lambda p: MCPrediction(np.repeat(p[None], num_samples, axis=0)),
            prediction,
        )
    samples = draw_samples(
        lambda groups, first: _sampler(model, groups), x, num_samples, max_rows
    )
    return keras.tree.map_structure(MCPrediction, samples)
