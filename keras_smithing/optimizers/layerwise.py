"""Layer-wise learning rates: gentle fine-tuning of pretrained layers."""

import re
import warnings

import keras
from keras import ops

from keras_smithing.optimizers.wrapper import OptimizerWrapper
from keras_smithing.utils.backend import rescale_step
from keras_smithing.utils.validation import check_float, invalid_argument


def _check_multipliers(multipliers):
    if not isinstance(multipliers, dict) or not multipliers:
        raise invalid_argument(
            "multipliers", multipliers, "a non-empty dict {pattern: factor}"
        )
    checked = {}
    for pattern, factor in multipliers.items():
        try:
            re.compile(pattern)
        except (TypeError, re.error):
            raise invalid_argument(
                "multipliers",
                multipliers,
                f"regular-expression string keys (bad pattern {pattern!r})",
            ) from None
        checked[pattern] = check_float(
            f"multipliers[{pattern!r}]", factor, minimum=0.0, strict=False
        )
    return checked


@keras.saving.register_keras_serializable(package="keras_smithing")
class LayerwiseLearningRate(OptimizerWrapper):
    """Scales the inner optimizer's learning rate per variable, by name pattern.

    Each trainable variable gets the factor of the first pattern (in dict order)
    that `re.search` finds in its path (`variable.path`, e.g.
    `"sequential/dense_1/kernel"`: a layer's variables are matched by
    `"dense_1/"`), or 1. The inner optimizer takes its step on every variable, then the step of a
    variable with factor `f != 1` is rescaled: `w <- w_old + f * (w_new - w_old)`.
    For every Keras optimizer whose update is linear in the learning rate (SGD with
    or without momentum or Nesterov, RMSprop, Adagrad, Adam, AdamW, Nadam, Adamax,
    Lion; not Ftrl) this is exactly training that variable with learning rate
    `f * lr`, schedules included, because their slots do not depend on the
    learning rate. Factor 0 freezes a variable: it keeps its value exactly (the
    inner slots still record its gradients). Use small factors on pretrained
    layers and 1 on a new head for "gentle" fine-tuning. A pattern that matches no
    variable triggers one warning when the optimizer is built. Like
    `keras.optimizers.LossScaleOptimizer`, the wrapper has no hyperparameters of
    its own besides `multipliers`: the learning rate, `iterations` and state are
    the inner optimizer's and are saved with it.

    Args:
        optimizer: The `keras.optimizers.Optimizer` (or its name) to wrap.
        multipliers: Dict `{pattern: factor}`: regular expressions searched in
            variable paths, and float factors >= 0 of the learning rate.
        name: String, the optimizer's name.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.optimizers import LayerwiseLearningRate
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.Dense(16, activation="relu", name="stem"),
    ...         keras.layers.Dense(16, activation="relu", name="backbone"),
    ...         keras.layers.Dense(3, activation="softmax", name="head"),
    ...     ]
    ... )
    >>> stem_kernel = model.get_layer("stem").kernel.numpy()
    >>> optimizer = LayerwiseLearningRate(
    ...     keras.optimizers.Adam(1e-3),
    ...     multipliers={"backbone/": 0.1, "stem/": 0.0},  # The head keeps 1e-3.
    ... )
    >>> model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    >>> _ = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    >>> optimizer.factor(model.get_layer("backbone").kernel)
    0.1
    >>> bool(np.array_equal(model.get_layer("stem").kernel.numpy(), stem_kernel))
    True
    """

    def __init__(self, optimizer, multipliers, name=None):
        multipliers = _check_multipliers(multipliers)
        super().__init__(optimizer, name=name)
        self.multipliers = multipliers

    def factor(self, variable):
        """Returns the learning-rate factor of `variable` (1.0 when unmatched)."""
        path = getattr(variable, "path", variable.name)
        for pattern, factor in self.multipliers.items():
            if re.search(pattern, path):
                return factor
        return 1.0

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        paths = [getattr(v, "path", v.name) for v in var_list]
        unused = [
            p for p in self.multipliers if not any(re.search(p, x) for x in paths)
        ]
        if unused:
            warnings.warn(
                f"LayerwiseLearningRate: the `multipliers` patterns {unused} match "
                f"no trainable variable. Variable paths: {paths}",
                stacklevel=2,
            )

    def wrapped_apply(self, grads, trainable_variables):
        scaled = [
            (variable, factor)
            for variable in trainable_variables
            if (factor := self.factor(variable)) != 1.0
        ]
        before = [ops.copy(variable.value) for variable, _ in scaled]
        self.inner_optimizer.apply(grads, trainable_variables)
        for (variable, factor), old in zip(scaled, before):
            if factor == 0.0:
                self.assign(variable, old)
            else:
                rescale_step(variable, old, factor, self.assign)

    def get_config(self):
        config = super().get_config()
        config["multipliers"] = dict(self.multipliers)
        return config
