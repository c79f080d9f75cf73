"""Which layers behave differently in training, and the network that samples a model.

`mc_predict` and `tta_predict` make some layers of a model sample at inference
(stochastic layers, augmentation layers) while every other layer stays in inference
mode. Keras layers cannot be told so directly: `sampling_graph` rebuilds a
Functional or Sequential graph around the same layers and calls just those with
`training=True`. Layers that graph cannot reach (inside a subclassed model or a
custom layer) only sample when the whole model is called with `training=True`,
which is right exactly when no other layer of the model behaves differently in
training; `sampling_network` chooses between the two, or raises.

What counts as an augmentation layer (sampled by `tta_predict` when `transforms=None`):
a layer that declares the class attribute `augmentation = True` (this pack's
`RandomShift1D`, `RandomScale1D`, `RandomTimeWarp1D`, `RandomJitter`,
`RandomFeatureMask`; declare it on your own training-only augmentation layers), one of
Keras's per-example random augmentation layers (`KERAS_AUGMENTATION_LAYERS`:
`RandomFlip`, `RandomTranslation`, `RandomRotation`, `RandomZoom`, `RandomCrop`, ...,
and `GaussianNoise`), or a `keras.layers.Pipeline` holding one. `MixUp` and `CutMix`
are left out: they mix different examples of the batch.
"""

import inspect

import keras

from keras_smithing.layers.sampling import TrainingCall, sampling_graph
from keras_smithing.layers.stochastic import KERAS_SAMPLING_LAYERS, is_stochastic
from keras_smithing.layers.weight_normalization import WeightNormalization
from keras_smithing.utils.compat import flatten_layers

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

# Layers whose training mode does something other than sampling: batch statistics
# (the BatchNormalization family, GhostBatchNormalization included), a power
# iteration or a data-dependent initialization that write to the layer's state,
# examples mixed across the batch.
TRAINING_MODE_LAYERS = (
    keras.layers.BatchNormalization,
    keras.layers.SpectralNormalization,
    keras.layers.MixUp,
    keras.layers.CutMix,
    WeightNormalization,
)

_KNOWN_MODULES = ("keras.", "keras_smithing.")


def is_augmentation(layer):
    """Whether `layer` is a training-only augmentation layer `tta_predict` samples."""
    if getattr(layer, "augmentation", False):
        return True
    if isinstance(layer, keras.layers.Pipeline):
        return any(is_augmentation(sub) for sub in layer.layers)
    return isinstance(layer, KERAS_AUGMENTATION_LAYERS)


def is_keras_sampler(layer):
    """Whether `layer` is a Keras stochastic layer, sampling only in training."""
    return isinstance(layer, KERAS_SAMPLING_LAYERS) and is_stochastic(layer)


def _undeclared(layer):
    """Whether `layer` is a layer of the user's own whose training mode is unknown:
    it takes `training` and holds no sublayer that would explain why (a block
    that only passes `training` on to Keras layers is judged by those)."""
    if type(layer).__module__.startswith(_KNOWN_MODULES) or flatten_layers(layer):
        return False
    return "training" in inspect.signature(layer.call).parameters


def changes_in_training(layer):
    """Whether `layer`'s output or state depends on its `training` argument."""
    return (
        is_stochastic(layer)
        or is_augmentation(layer)
        or isinstance(layer, TRAINING_MODE_LAYERS)
        or _undeclared(layer)
    )


def sampling_network(model, samples, rewire, scope, advice):
    """The network whose inference call samples `model`, and whether it was rebuilt.

    Args:
        model: A `keras.Model`.
        samples: Predicate on a layer: whether it must sample.
        rewire: Predicate on a Keras layer that samples only when called with
            `training=True`: whether to do so (part of `samples`).
        scope: Whether the network runs inside a `sampling_scope`, where layers
            declaring `stochastic = True` sample (with their sublayers).
        advice: What the user can do when `model` cannot be sampled (a sentence
            of the error message).

    Returns:
        `(network, rebuilt)`: the rebuilt graph of `model` (`rebuilt` true), or
        `model` itself when nothing it needs is out of reach, or `model` called
        with `training=True` when that samples exactly the `samples` layers.

    Raises:
        ValueError: When `rewire` layers are out of reach and calling `model`
            with `training=True` would change other layers too.
    """
    reached = set()
    network = sampling_graph(model, rewire, reached)
    layers = flatten_layers(model)
    for layer in layers:  # Layers that sample, and make their sublayers sample.
        if id(layer) in reached or (scope and getattr(layer, "stochastic", False)):
            reached.update(id(sub) for sub in flatten_layers(layer, include_self=True))
    missed = [
        layer.name for layer in layers if rewire(layer) and id(layer) not in reached
    ]
    if not missed:
        return network, network is not model
    kept_off = [
        layer for layer in layers if changes_in_training(layer) and not samples(layer)
    ]
    if kept_off:
        declare = ""
        if any(_undeclared(layer) for layer in kept_off):
            declare = (
                " A layer of your own whose training mode only samples can declare "
                "`stochastic = True` (or `augmentation = True`)."
            )
        raise ValueError(
            f"The layers {missed} of `{model.name}` cannot be made to sample alone "
            "(they are inside a subclassed model or a custom layer), and calling "
            "the model with `training=True` would also switch these layers to "
            f"training mode: {[layer.name for layer in kept_off]}. {advice}{declare}"
        )
    # Nothing else changes in training: the whole model in training mode samples
    # exactly the layers it must.
    return TrainingCall(model), False
