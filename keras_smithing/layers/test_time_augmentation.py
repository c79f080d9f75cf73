"""Test-time augmentation: `tta_predict` averages predictions over augmented inputs.

A model trained on augmented data (random shifts, flips, crops, noise) is usually
more accurate when its predictions are averaged over augmented copies of each test
input than on the input alone. `tta_predict` draws those copies in one compiled
pass, as `mc_predict` draws its Monte-Carlo samples.

What counts as an augmentation layer (sampled when `transforms=None`): a layer that
declares the class attribute `augmentation = True` (this pack's `RandomShift1D`,
`RandomScale1D`, `RandomTimeWarp1D`, `RandomJitter`, `RandomFeatureMask`; declare it
on your own training-only augmentation layers), one of Keras's per-example random
augmentation layers (`KERAS_AUGMENTATION_LAYERS`: `RandomFlip`, `RandomTranslation`,
`RandomRotation`, `RandomZoom`, `RandomCrop`, ..., and `GaussianNoise`), or a
`keras.layers.Pipeline` holding one. `MixUp` and `CutMix` are left out: they mix
different examples of the batch.
"""

import warnings
import weakref

import keras

from keras_smithing.layers.mc_dropout import MCPrediction
from keras_smithing.layers.sampling import (
    StackedSampler,
    draw_samples,
    sampling_graph,
)
from keras_smithing.layers.stochastic import KERAS_SAMPLING_LAYERS
from keras_smithing.utils.compat import flatten_layers
from keras_smithing.utils.validation import (
    check_array_structure,
    check_int,
    invalid_argument,
)

KERAS_AUGMENTATION_LAYERS = (
    keras.layers.AugMix,
    keras.layers.GaussianNoise,
    keras.layers.RandAugment,
    keras.layers.RandomBrightness,
    keras.layers.RandomColorDegeneration,
    keras.layers.RandomColorJitter,
    keras.layers.RandomContrast,
    keras.layers.RandomCrop,
    keras.layers.RandomElasticTransform,
    keras.layers.RandomErasing,
    keras.layers.RandomFlip,
    keras.layers.RandomGaussianBlur,
    keras.layers.RandomGrayscale,
    keras.layers.RandomHue,
    keras.layers.RandomInvert,
    keras.layers.RandomPerspective,
    keras.layers.RandomPosterization,
    keras.layers.RandomRotation,
    keras.layers.RandomSaturation,
    keras.layers.RandomSharpness,
    keras.layers.RandomShear,
    keras.layers.RandomTranslation,
    keras.layers.RandomZoom,
)


def is_augmentation(layer):
    """Whether `layer` is a training-only augmentation layer `tta_predict` samples."""
    if getattr(layer, "augmentation", False):
        return True
    if isinstance(layer, keras.layers.Pipeline):
        return any(is_augmentation(sub) for sub in layer.layers)
    return isinstance(layer, KERAS_AUGMENTATION_LAYERS)


def _is_augmentation_or_dropout(layer):
    return is_augmentation(layer) or isinstance(layer, KERAS_SAMPLING_LAYERS)


def _is_dropout(layer):
    return isinstance(layer, KERAS_SAMPLING_LAYERS)


def _never(layer):
    return False


def _check_reached(model, reached):
    """Raises if no augmentation layer of `model` samples; warns about the missed."""
    layers = flatten_layers(model)
    for layer in layers:  # Called in training mode: its sublayers too.
        if id(layer) in reached:
            reached.update(id(sub) for sub in flatten_layers(layer))
    augmentations = [layer for layer in layers if is_augmentation(layer)]
    missed = [layer.name for layer in augmentations if id(layer) not in reached]
    if len(missed) == len(augmentations):
        where = (
            f"its augmentation layers {missed} are inside a subclassed model or a "
            "custom layer, out of reach"
            if missed
            else "it has no training-only augmentation layer (such as RandomShift1D "
            "or RandomFlip)"
        )
        raise invalid_argument(
            "transforms",
            None,
            f"a list of layers or functions to apply to `x`, since `model` cannot "
            f"be augmented by itself: {where}",
        )
    if missed:
        warnings.warn(
            "tta_predict cannot make these augmentation layers sample (they are "
            f"inside a subclassed model or a custom layer): {missed}.",
            stacklevel=4,
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
    if transforms is None:
        samples = _is_augmentation_or_dropout if mc_dropout else is_augmentation
    else:
        samples = _is_dropout if mc_dropout else _never
    reached = set()
    network = sampling_graph(model, samples, reached)
    if transforms is None:
        _check_reached(model, reached)
    cached = {"network": network, "transforms": transforms, "mc_dropout": mc_dropout}
    if network is not model:  # A cache entry must not keep `model` alive.
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

    The copies are drawn vectorised, as in `mc_predict`: the input is stacked
    `num_samples` times along the batch axis and run in one compiled forward pass,
    split into several when there are more than `batch_size` rows.

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

    >>> inputs = keras.Input((40,))
    >>> x = RandomShift1D(4, seed=0)(inputs)
    >>> x = keras.layers.Dense(100, activation="relu")(x)
    >>> model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    >>> # ... model.fit(x_train, y_train) ...
    >>> result = tta_predict(model, x_test, num_samples=32)
    >>> labels = result.mean.argmax(axis=-1)
    >>> flips = [lambda x: x, lambda x: keras.ops.flip(x, axis=2)]
    >>> result = tta_predict(image_model, images, num_samples=2, transforms=flips)
    """
    num_samples = check_int("num_samples", num_samples)
    max_rows = 8192 if batch_size is None else check_int("batch_size", batch_size)
    if not isinstance(model, keras.Model) or not model.built:
        raise invalid_argument("model", model, "a built keras.Model")
    transforms = _check_transforms(transforms)
    if not isinstance(mc_dropout, bool):
        raise invalid_argument("mc_dropout", mc_dropout, "a bool")
    x = check_array_structure("x", x)
    cached = _samplers(model, transforms, mc_dropout)
    samples = draw_samples(
        lambda groups, first: _sampler(model, cached, groups, first),
        x,
        num_samples,
        max_rows,
    )
    return keras.tree.map_structure(MCPrediction, samples)
