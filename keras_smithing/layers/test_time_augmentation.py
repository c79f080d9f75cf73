"""Test-time augmentation: `tta_predict` averages predictions over augmented inputs.

A model trained on augmented data (random shifts, flips, crops, noise) is usually
more accurate when its predictions are averaged over augmented copies of each test
input than on the input alone. `tta_predict` draws those copies in one compiled
pass, as `mc_predict` draws its Monte-Carlo samples. What counts as an augmentation
layer is in `keras_smithing.layers.training_mode` (`is_augmentation`).
"""

import weakref

import keras

from keras_smithing.layers.mc_dropout import MCDropout, MCPrediction
from keras_smithing.layers.sampling import StackedSampler, draw_samples
from keras_smithing.layers.stochastic import is_stochastic
from keras_smithing.layers.training_mode import (
    KERAS_AUGMENTATION_LAYERS,
    is_augmentation,
    is_keras_sampler,
    sampling_network,
)
from keras_smithing.utils.compat import flatten_layers
from keras_smithing.utils.validation import (
    check_array_structure,
    check_bool,
    check_int,
    invalid_argument,
)

__all__ = ["KERAS_AUGMENTATION_LAYERS", "is_augmentation", "tta_predict"]


def _sampled_layers(transforms, mc_dropout):
    """`(samples, rewire)` predicates: the layers that must sample, and the Keras
    ones among them that sample only when called with `training=True`."""

    def rewire(layer):
        own_augmentation = transforms is None and is_augmentation(layer)
        return own_augmentation or (mc_dropout and is_keras_sampler(layer))

    def samples(layer):
        stochastic = mc_dropout and is_stochastic(layer)
        return rewire(layer) or stochastic or isinstance(layer, MCDropout)

    return samples, rewire


def _check_sampled(model, transforms, mc_dropout):
    """Raises when `model` holds nothing that the chosen mode would sample."""
    layers = flatten_layers(model)
    if transforms is None and not any(is_augmentation(layer) for layer in layers):
        raise invalid_argument(
            "transforms",
            None,
            "a list of layers or functions to apply to `x`, since `model` has no "
            "training-only augmentation layer (such as RandomShift1D or RandomFlip)",
        )
    if mc_dropout and not any(is_stochastic(layer) for layer in layers):
        raise ValueError(
            f"`mc_dropout=True`, but `{model.name}` has no stochastic layer: its "
            "samples would not cover the model's uncertainty. Add dropout "
            "(`Dropout` with rate > 0, `MCDropout`, ...), or pass "
            "`mc_dropout=False`."
        )


def _check_transforms(transforms):
    if transforms is None:
        return None
    if (
        not isinstance(transforms, (list, tuple))
        or not transforms
        or not all(callable(t) for t in transforms)
    ):
        raise invalid_argument(
            "transforms",
            transforms,
            "None or a non-empty list of layers or functions of the input",
        )
    return tuple(transforms)


_SAMPLERS = weakref.WeakKeyDictionary()


def _samplers(model, transforms, mc_dropout):
    """The cached samplers of `model` for these transforms (identity) and mode."""
    cached = _SAMPLERS.get(model)
    same = cached is not None and cached["mc_dropout"] == mc_dropout
    same = same and _same_transforms(cached["transforms"], transforms)
    if same:
        return cached
    _check_sampled(model, transforms, mc_dropout)
    samples, rewire = _sampled_layers(transforms, mc_dropout)
    network, rebuilt = sampling_network(
        model,
        samples=samples,
        rewire=rewire,
        scope=mc_dropout,
        advice="Pass the augmentation as `transforms` (the model then runs in "
        "inference mode), use `keras_smithing.layers.MCDropout` for dropout, or "
        "build the model with the Functional API.",
    )
    cached = {"network": network, "transforms": transforms, "mc_dropout": mc_dropout}
    if rebuilt:  # A cache entry must not keep `model` alive.
        _SAMPLERS[model] = cached
    return cached


def _same_transforms(a, b):
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _sampler(model, cached, groups, first):
    transforms = cached["transforms"]
    offset = 0 if transforms is None else first % len(transforms)
    if (groups, offset) not in cached:
        copies = None
        if transforms is not None:
            copies = [transforms[(offset + k) % len(transforms)] for k in range(groups)]
        sampler = StackedSampler(
            cached["network"], groups, scope=cached["mc_dropout"], transforms=copies
        )
        if model.compiled:  # Same XLA choice as the model's own predict.
            sampler.jit_compile = model.jit_compile
        cached[(groups, offset)] = sampler
    return cached[(groups, offset)]


def tta_predict(
    model, x, num_samples=16, transforms=None, batch_size=None, mc_dropout=False
):
    """Test-time augmentation: predictions averaged over augmented copies of `x`.

    With `transforms=None` the model augments its own input: its training-only
    augmentation layers (this pack's `RandomShift1D`, `RandomJitter`, ...; Keras's
    `RandomFlip`, `RandomTranslation`, `RandomCrop`, `GaussianNoise`, ...; see the
    module docstring) run in training mode, each copy of each example drawing its
    own transformation, while every other layer runs in inference mode:
    BatchNormalization uses its moving statistics and Dropout is off. With a list
    of `transforms`, sample `s` applies `transforms[s % len(transforms)]` to `x`
    (layers are called with `training=True`, so a random layer draws anew for every
    copy) and the model runs entirely in inference mode, its own augmentation
    layers included; with `num_samples` a multiple of `len(transforms)` every
    transform weighs the same, so a list of deterministic transforms gives exactly
    the mean prediction over them. Random transforms must be layers (their
    `SeedGenerator` makes them reproducible); functions must use `keras.ops`.
    All the copies run in one compiled forward pass (several when there are more
    than `batch_size` rows), as in `mc_predict`.

    Monte-Carlo dropout composes in two ways: `mc_dropout=True` also samples every
    stochastic layer `mc_predict` samples (Keras's Dropout family, this pack's
    DropConnect, StochasticDepth, Bayesian layers, ...), so that the spread covers
    both the input transformations and the model's uncertainty; and `MCDropout`
    layers sample in every prediction, so they stay stochastic here too.

    Args:
        model: A built `keras.Model` (Functional or Sequential for its own
            augmentation layers to be sampled; any model with `transforms`).
        x: Input array (or list/dict of arrays) of `num_examples` examples.
        num_samples: Positive int, the number of augmented copies per example.
        transforms: None (sample the model's augmentation layers), or a list of
            layers or functions, each mapping a batch of inputs to augmented
            inputs of the same shape.
        batch_size: Positive int, the largest number of rows (example-copies) in
            one forward pass. Defaults to 8192.
        mc_dropout: Whether the stochastic layers sample as in `mc_predict`.

    Returns:
        An `MCPrediction` (as `mc_predict` returns) with `.samples`
        `(num_samples, num_examples, ...)`, `.mean` (for a softmax output, the
        mean class probabilities: the TTA prediction), `.std`,
        `.predictive_entropy` and `.mutual_information`; for a model with several
        outputs, the same structure (list or dict) of them. Average probabilities,
        not logits: give a model that outputs logits a `Softmax` layer first.

    Raises:
        ValueError: With `transforms=None`, when no augmentation layer of `model`
            can be sampled; on a bad argument, naming it.

    Reference:
        Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
        Convolutional Neural Networks", NeurIPS 2012 (averaging predictions over
        crops and flips at test time).

    Example:

    A model that augments its own input (trained with `model.fit` as usual):

    >>> import keras
    >>> import numpy as np
    >>> import keras_smithing
    >>> from keras_smithing.layers import RandomShift1D
    >>> model = keras.Sequential([
    ...     keras.Input((40,)),
    ...     RandomShift1D(4),
    ...     keras.layers.Dense(10, activation="softmax"),
    ... ])
    >>> x = np.random.default_rng(0).normal(size=(8, 40)).astype("float32")
    >>> result = keras_smithing.tta_predict(model, x, num_samples=16)
    >>> labels = result.mean.argmax(axis=-1)
    >>> print(result.samples.shape, labels.shape)
    (16, 8, 10) (8,)

    With deterministic `transforms` (here each signal and its mirror image), the
    result is the mean prediction over them:

    >>> mirror = [lambda s: s, lambda s: keras.ops.flip(s, axis=1)]
    >>> result = keras_smithing.tta_predict(model, x, num_samples=2, transforms=mirror)
    >>> both = model.predict(x, verbose=0) + model.predict(x[:, ::-1], verbose=0)
    >>> print(np.allclose(result.mean, both / 2, atol=1e-6))
    True
    """
    num_samples = check_int("num_samples", num_samples)
    max_rows = 8192 if batch_size is None else check_int("batch_size", batch_size)
    if not isinstance(model, keras.Model) or not model.built:
        raise invalid_argument("model", model, "a built keras.Model")
    transforms = _check_transforms(transforms)
    mc_dropout = check_bool("mc_dropout", mc_dropout)
    x = check_array_structure("x", x)
    # Vectorised as in `mc_predict`: the input is stacked once per copy along the
    # batch axis and run in one compiled pass, split above `max_rows` rows.
    cached = _samplers(model, transforms, mc_dropout)
    samples = draw_samples(
        lambda groups, first: _sampler(model, cached, groups, first),
        x,
        num_samples,
        max_rows,
    )
    return keras.tree.map_structure(MCPrediction, samples)
