"""Adaptive gradient clipping, unit by unit (Brock et al., 2021)."""

import keras
from keras import ops

from keras_smithing.optimizers.wrapper import OptimizerWrapper
from keras_smithing.utils.backend import (
    clip_unitwise_batched,
    multi_tensor_optimizers,
)
from keras_smithing.utils.validation import check_float, invalid_argument

# The floor of a gradient norm in the clipping factor, as in the paper's reference
# code: it keeps the division finite for an all-zero gradient (which is never
# clipped, so the value never reaches the result).
_MIN_GRADIENT_NORM = 1e-6


def unitwise_norm(x):
    """The L2 norm of each output unit of `x`, broadcastable against `x`.

    Scalars, vectors (biases, scales) and tensors with at most one axis longer than
    1 get one norm for the whole tensor; other tensors (Dense and convolution
    kernels, whose output units are on the last axis in Keras) one norm per index
    of the last axis, over all the other axes. This is the paper's reference
    `unitwise_norm`, except for rank-3 tensors: it treats them as multi-head
    linear kernels (norms over axis 0), here they are Conv1D kernels.

    Args:
        x: A tensor.

    Returns:
        A float32 tensor of the norms, of rank `ndim(x)` (or a scalar).
    """
    x = ops.cast(x, "float32")
    axes = _unit_axes(x)
    if axes is None:
        return ops.sqrt(ops.sum(ops.square(x)))
    return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=True))


def _unit_axes(x):
    """The axes a unit's norm sums over in `x` (all but the last), or None when
    one norm covers the whole tensor (at most one axis longer than 1)."""
    if sum(size != 1 for size in x.shape) <= 1:
        return None
    return tuple(range(len(x.shape) - 1))


def clip_unitwise(gradient, variable, clip_factor, epsilon):
    """Clips `gradient` unit by unit to `clip_factor * max(||w||, epsilon)`.

    Args:
        gradient: The gradient tensor of `variable`.
        variable: The variable (or its value).
        clip_factor: The largest allowed ratio `||g|| / max(||w||, epsilon)`.
        epsilon: The floor of the weight norm.

    Returns:
        The clipped gradient, of the dtype of `gradient`.
    """
    max_norm = ops.maximum(unitwise_norm(variable), epsilon) * clip_factor
    grad_norm = unitwise_norm(gradient)
    # The factor has one entry per unit, so only one op runs over the gradient.
    factor = ops.where(
        grad_norm > max_norm,
        max_norm / ops.maximum(grad_norm, _MIN_GRADIENT_NORM),
        1.0,
    )
    return ops.cast(ops.cast(gradient, "float32") * factor, gradient.dtype)


@keras.saving.register_keras_serializable(package="keras_smithing")
class AdaptiveGradientClipping(OptimizerWrapper):
    """Adaptive gradient clipping (AGC): clips each unit's gradient relative to its weights.

    For every output unit (each index of the last axis of a Dense or convolution
    kernel, whose norm is taken over all the other axes; the whole tensor for
    biases and other vectors), when `||g|| / max(||w||, epsilon) > clip_factor`
    the gradient is rescaled to `g * clip_factor * max(||w||, epsilon) / ||g||`;
    otherwise it is kept. The clipped gradients then go to the inner optimizer,
    which does the step. Unlike a fixed `clipnorm`, the bound follows the size of
    the weights, so it suits large batches and learning rates, and stands in for
    batch normalization's implicit step control in normalizer-free networks. Norms
    are computed in float32.

    The paper uses `clip_factor` 0.01 to 0.16 (smaller for larger batches) and does
    not clip the final classifier layer. Under mixed precision, wrap this optimizer
    in `keras.optimizers.LossScaleOptimizer` (`model.compile` does it under the
    `"mixed_float16"` policy), so that it clips unscaled gradients; an inner
    `LossScaleOptimizer` is refused. With an inner `gradient_accumulation_steps`,
    each batch's gradient is clipped before accumulation.

    Args:
        optimizer: The `keras.optimizers.Optimizer` (or its name) that takes the
            step with the clipped gradients. Its learning rate, iterations,
            slots and options (weight decay, EMA, Keras's own clipping) are used
            as they are.
        clip_factor: Float > 0, the largest allowed ratio of a unit's gradient
            norm to its weight norm (`lambda` in the paper, 0.01 by default).
        epsilon: Float > 0, the floor of the weight norm, which lets weights
            initialized at zero (biases) move (1e-3 in the paper).
        name: String, the optimizer's name.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.optimizers import AdaptiveGradientClipping
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.Dense(16, activation="relu"),
    ...         keras.layers.Dense(3, activation="softmax"),
    ...     ]
    ... )
    >>> optimizer = AdaptiveGradientClipping(
    ...     keras.optimizers.SGD(0.1, momentum=0.9), clip_factor=0.01
    ... )
    >>> model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    >>> _ = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    >>> int(optimizer.iterations)  # The inner optimizer's steps: 2 epochs of 4.
    8

    Reference:
        Brock, De, Smith & Simonyan, "High-Performance Large-Scale Image
        Recognition Without Normalization", ICML 2021, Section 4.1.
    """

    def __init__(self, optimizer, clip_factor=0.01, epsilon=1e-3, name=None):
        clip_factor = check_float("clip_factor", clip_factor, minimum=0.0)
        epsilon = check_float("epsilon", epsilon, minimum=0.0)
        super().__init__(optimizer, name=name)
        if isinstance(self.inner_optimizer, keras.optimizers.LossScaleOptimizer):
            raise invalid_argument(
                "optimizer",
                self.inner_optimizer,
                "an optimizer other than a LossScaleOptimizer (wrap "
                "AdaptiveGradientClipping in the LossScaleOptimizer instead, so "
                "that it clips unscaled gradients)",
            )
        self.clip_factor = clip_factor
        self.epsilon = epsilon

    def wrapped_apply(self, grads, trainable_variables):
        present = [i for i, grad in enumerate(grads) if grad is not None]
        gradients = [ops.convert_to_tensor(grads[i]) for i in present]
        variables = [trainable_variables[i] for i in present]
        if multi_tensor_optimizers():
            # Eager PyTorch: every gradient at once, the same float operations.
            values = clip_unitwise_batched(
                gradients,
                variables,
                [_unit_axes(variable) for variable in variables],
                self.clip_factor,
                self.epsilon,
                _MIN_GRADIENT_NORM,
            )
        else:
            values = [
                clip_unitwise(gradient, variable.value, self.clip_factor, self.epsilon)
                for gradient, variable in zip(gradients, variables)
            ]
        clipped = list(grads)
        for i, value in zip(present, values):
            clipped[i] = value
        self.inner_optimizer.apply(clipped, trainable_variables)

    def get_config(self):
        config = super().get_config()
        config.update({"clip_factor": self.clip_factor, "epsilon": self.epsilon})
        return config
