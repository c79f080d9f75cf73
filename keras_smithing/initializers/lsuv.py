"""Layer-Sequential Unit-Variance initialization (Mishkin & Matas, 2016)."""

import dataclasses
import warnings

import keras
import numpy as np

from keras_smithing.initializers.orthogonal import SVDOrthogonal
from keras_smithing.utils.backend import moments_over_processes
from keras_smithing.utils.validation import (
    check_built_model,
    check_float,
    check_int,
    check_model_inputs,
    invalid_argument,
    model_input_structure,
)

_KERNEL_LAYERS = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
)
_DEAD_STD = 1e-8


@dataclasses.dataclass(frozen=True)
class LSUVLayerReport:
    """What `lsuv_init` did to one layer.

    Attributes:
        name: The layer's name.
        status: "converged" (std within `tol` of the target), "max_iter" (still
            outside after `max_iter` rescalings), "dead" (std ~0: LSUV stopped
            here) or "skipped" (after a dead layer).
        iterations: Number of rescalings applied.
        initial_std: Std of the layer's pre-activation output on the batch after
            the orthogonal pre-initialization (NaN when skipped).
        final_std: Std after the last rescaling (NaN when skipped).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.initializers import lsuv_init
    >>> model = keras.Sequential([
    ...     keras.Input((20,)),
    ...     keras.layers.Dense(32, activation="relu", name="hidden"),
    ...     keras.layers.Dense(3, name="logits"),
    ... ])
    >>> x = np.random.default_rng(0).normal(size=(256, 20)).astype("float32")
    >>> first = lsuv_init(model, x, seed=0)[0]
    >>> print(first.name, first.status, abs(first.final_std - 1.0) <= 0.1)
    hidden converged True
    """

    name: str
    status: str
    iterations: int
    initial_std: float
    final_std: float


def _pre_activation_std(layer, inputs):
    """Std of `layer(inputs)` with its fused activation switched off."""
    activation = layer.activation
    layer.activation = keras.activations.linear
    try:
        outputs = layer(inputs, training=False)
    finally:
        layer.activation = activation
    outputs = keras.ops.convert_to_numpy(outputs).astype("float64")
    # Under multi-process training each process measures its own `x_batch`; the
    # std is pooled over all of them, so every process rescales its replicated
    # kernel by the same factor (in one process nothing changes).
    count, _, m2 = moments_over_processes(
        outputs.size, outputs.mean(), np.square(outputs - outputs.mean()).sum()
    )
    return float(np.sqrt(m2 / count))


def lsuv_init(model, x_batch, target_std=1.0, tol=0.1, max_iter=10, seed=None):
    """Layer-Sequential Unit-Variance initialization of a built model, in place.

    First gives every `Dense`, `EinsumDense` and `Conv1D/2D/3D` kernel an
    orthonormal initialization (`SVDOrthogonal`); then, from the first such layer
    to the last, divides the layer's kernel by the std of its output on `x_batch`
    (times `target_std`) until that std is within `tol` of `target_std`. The
    output measured is the pre-activation (the layer with its fused activation
    switched off), as in the paper. Biases are left as they are. Layers of nested
    sub-models are not visited.

    The std is taken over all elements of the output (batch, positions and units),
    as in the paper. A layer whose output std is ~0 on the batch (every output
    equal, e.g. because the ReLU units before it are all dead or `x_batch` is all
    zeros) cannot be rescaled: LSUV warns, stops there and leaves that layer and
    the later ones with their orthogonal pre-initialization.

    Args:
        model: A built Functional or Sequential `keras.Model`.
        x_batch: A batch of inputs for the model (array, list or dict of arrays),
            a few hundred examples.
        target_std: Positive float, the std each layer's output should have.
        tol: Positive float, the accepted distance between std and `target_std`.
        max_iter: Integer >= 1, the most rescalings per layer.
        seed: Integer seed (or None) of the orthogonal pre-initialization.

    Returns:
        A list with one `LSUVLayerReport` per visited layer, in order.

    Reference:
        Mishkin & Matas, "All you need is a good init", ICLR 2016.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.initializers import lsuv_init
    >>> model = keras.Sequential([
    ...     keras.Input((20,)),
    ...     keras.layers.Dense(32, activation="relu"),
    ...     keras.layers.Dense(32, activation="relu"),
    ...     keras.layers.Dense(3),
    ... ])
    >>> x = np.random.default_rng(0).normal(size=(256, 20)).astype("float32")
    >>> report = lsuv_init(model, x, seed=0)  # Then compile and fit as usual.
    >>> print([r.status for r in report])
    ['converged', 'converged', 'converged']
    """
    model = check_built_model("model", model)
    x_batch = check_model_inputs("x_batch", x_batch, model)
    model_inputs = model_input_structure(model)
    x_batch = keras.tree.pack_sequence_as(model_inputs, x_batch)
    target_std = check_float("target_std", target_std, minimum=0.0)
    tol = check_float("tol", tol, minimum=0.0)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    layers = [layer for layer in model.layers if isinstance(layer, _KERNEL_LAYERS)]
    if not layers:
        raise invalid_argument(
            "model", model, "a model with at least one Dense or Conv layer"
        )

    initializer = SVDOrthogonal(seed=keras.random.SeedGenerator(seed))
    for layer in layers:
        layer.kernel.assign(initializer(layer.kernel.shape, layer.kernel.dtype))

    report = []
    for layer in layers:
        if report and report[-1].status in ("dead", "skipped"):
            report.append(LSUVLayerReport(layer.name, "skipped", 0, np.nan, np.nan))
            continue
        inputs = keras.Model(model_inputs, layer.input)(x_batch, training=False)
        initial_std = std = _pre_activation_std(layer, inputs)
        iterations = 0
        while abs(std - target_std) > tol and std > _DEAD_STD and iterations < max_iter:
            layer.kernel.assign(layer.kernel * (target_std / std))
            std = _pre_activation_std(layer, inputs)
            iterations += 1
        if std <= _DEAD_STD:
            status = "dead"
            warnings.warn(
                f"lsuv_init: the output of layer '{layer.name}' has std {std:.3g} on "
                "`x_batch`, so its kernel cannot be rescaled (are the units before "
                "it dead, or is `x_batch` all zeros?). Stopped at this layer; it "
                "and the later layers keep their orthogonal pre-initialization.",
                stacklevel=2,
            )
        elif abs(std - target_std) <= tol:
            status = "converged"
        else:
            status = "max_iter"
        report.append(LSUVLayerReport(layer.name, status, iterations, initial_std, std))
    return report
