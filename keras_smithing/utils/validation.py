"""Argument validation shared by every constructor in the pack.

Every check raises `ValueError` with one message shape, copied from Keras core:
"Invalid value received for argument `rate`. Expected a float in [0, 1).
Received: rate=1.0".
"""

import math
import numbers

import keras
import numpy as np


def invalid_argument(name, value, expected):
    """Returns the pack's `ValueError` for argument `name`.

    Args:
        name: The argument's name, as the user wrote it.
        value: The value received.
        expected: What is allowed, as a phrase ("a float in [0, 1)").
    """
    return ValueError(
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"Received: {name}={value!r}"
    )


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_rate(name, value, allow_one=False):
    """Checks a drop rate: a real number in [0, 1) (or [0, 1]). Returns a float."""
    if (
        not _is_real(value)
        or math.isnan(value)
        or value < 0
        or (value > 1 if allow_one else value >= 1)
    ):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise invalid_argument(name, value, f"a float in {interval}")
    return float(value)


def check_int(name, value, minimum=1, maximum=None):
    """Checks an integer in [minimum, maximum]. Returns it as `int`."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int or value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise invalid_argument(name, value, f"an integer {bound}")
    return int(value)


def check_float(name, value, minimum=None, maximum=None, strict=True):
    """Checks a finite real number against optional bounds. Returns a float.

    Args:
        name: The argument's name.
        value: The value received.
        minimum: Lower bound, or None.
        maximum: Upper bound, or None.
        strict: Whether the bounds themselves are excluded: a bool for both, or a
            pair `(lower, upper)`, e.g. `(True, False)` for `(minimum, maximum]`.
    """
    low_strict, high_strict = (strict, strict) if isinstance(strict, bool) else strict
    ok = _is_real(value) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if low_strict else value >= minimum
    if ok and maximum is not None:
        ok = value < maximum if high_strict else value <= maximum
    if not ok:
        parts = []
        if minimum is not None:
            parts.append(f"{'>' if low_strict else '>='} {minimum}")
        if maximum is not None:
            parts.append(f"{'<' if high_strict else '<='} {maximum}")
        bounds = " and ".join(parts)
        raise invalid_argument(
            name, value, "a finite float" + (f" {bounds}" if bounds else "")
        )
    return float(value)


def check_one_of(name, value, allowed):
    """Checks that `value` is one of `allowed`. Returns it."""
    if value not in allowed:
        raise invalid_argument(name, value, f"one of {sorted(allowed, key=str)}")
    return value


def check_range(name, value, allow_equal=False):
    """Checks a `(low, high)` pair with low < high (or <=). Returns a float pair."""
    try:
        low, high = value
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise invalid_argument(name, value, "a pair (low, high) of floats") from None
    ordered = low <= high if allow_equal else low < high
    if not (math.isfinite(low) and math.isfinite(high)) or not ordered:
        relation = "<=" if allow_equal else "<"
        raise invalid_argument(
            name, value, f"a pair (low, high) with low {relation} high"
        )
    return low, high


def check_unit_interval(name, x, hint):
    """Checks that every value of the array `x` lies in [0, 1] (Bernoulli data).

    Args:
        name: The argument's name.
        x: A NumPy array.
        hint: What to do instead, appended to the message.

    Returns:
        `x`.
    """
    x = np.asarray(x)
    if x.size and not (np.all(np.isfinite(x)) and x.min() >= 0 and x.max() <= 1):
        raise invalid_argument(
            name,
            f"an array with values in [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}]",
            f"values in [0, 1] for Bernoulli visible units. {hint}",
        )
    return x


def _is_sparse(x):
    """Whether `x` is a scipy.sparse matrix or array (scipy comes with sklearn)."""
    return hasattr(x, "tocsr") and hasattr(x, "nnz")


def is_dataset(x):
    """Whether `x` is a dataset read lazily (tf.data, PyDataset, DataLoader,
    generator), which entry points pass on unchecked; None, arrays, nested lists,
    numbers and sparse matrices are data to check now."""
    return not (
        x is None
        or hasattr(x, "shape")
        and hasattr(x, "dtype")
        or isinstance(x, (list, tuple, numbers.Number))
        or _is_sparse(x)
    )


def check_array(name, x, ranks=None, expected=None, densify=False):
    """Checks in-memory data given to an entry point: the pack's one data check.

    Rejects None, non-numeric, empty (no example), wrong-rank and non-finite (NaN
    or inf) data. A scipy.sparse matrix is checked on its stored values.

    Args:
        name: The argument's name.
        x: An array-like or a scipy.sparse matrix.
        ranks: The allowed ranks, or None for any rank >= 1.
        expected: The allowed shapes as a phrase, e.g. "a 2-D array (num_examples,
            features)"; defaults to one built from `ranks`.
        densify: Whether to return a sparse matrix as a dense array.

    Returns:
        `x` as a NumPy array (a sparse matrix unchanged unless `densify`).
    """
    if expected is None:
        expected = "a non-empty, finite, numeric array"
        if ranks is not None:
            expected += " of rank " + " or ".join(str(rank) for rank in ranks)
    if x is None:
        raise invalid_argument(name, None, expected)
    values = x.data if _is_sparse(x) else None
    if values is None:
        try:
            x = np.asarray(x)
        except ValueError:  # Ragged nested lists.
            raise invalid_argument(name, "a ragged nested sequence", expected) from None
        values = x
    shape = tuple(x.shape)
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise invalid_argument(name, f"an array of dtype {values.dtype}", expected)
    if not shape or 0 in shape:
        raise invalid_argument(name, f"an array of shape {shape}", expected)
    if ranks is not None and len(shape) not in tuple(ranks):
        raise invalid_argument(name, f"an array of shape {shape}", expected)
    bad = values.size - np.count_nonzero(np.isfinite(values))
    if bad:
        raise invalid_argument(
            name,
            f"an array of shape {shape} with {bad} non-finite values (NaN or inf)",
            "finite values",
        )
    return x.toarray() if densify and _is_sparse(x) else x


def check_array_structure(name, x):
    """`check_array` on every array of `x` (an array, or a list/dict of arrays,
    e.g. a multi-input model's inputs); all must hold the same number of examples.

    Returns:
        `x` with NumPy arrays as leaves.
    """
    if x is None or (isinstance(x, (list, tuple, dict)) and not x):
        raise invalid_argument(name, x, "an array, or a list or dict of arrays")
    x = keras.tree.map_structure(lambda leaf: check_array(name, leaf), x)
    lengths = {len(leaf) for leaf in keras.tree.flatten(x)}
    if len(lengths) > 1:
        raise invalid_argument(
            name,
            f"arrays of {sorted(lengths)} examples",
            "arrays with the same number of examples",
        )
    return x


def check_built_model(name, model):
    """Checks that `model` is a built Functional or Sequential `keras.Model`.

    The model must have symbolic `inputs`, so that the outputs of its layers can be
    read with `keras.Model(model.inputs, layer.output)`.

    Returns:
        The model.
    """
    if (
        not isinstance(model, keras.Model)
        or not model.built
        or not getattr(model, "inputs", None)
    ):
        raise invalid_argument(
            name,
            model,
            "a built Functional or Sequential keras.Model with symbolic inputs "
            "(start it with keras.Input)",
        )
    return model


def model_input_structure(model):
    """The symbolic inputs of a Functional or Sequential model, as it expects them.

    A single `KerasTensor` for a single-input model, else the (list or dict)
    structure the Functional model was built with. Use it to build probe models,
    `keras.Model(model_input_structure(model), layer.output)`, and to pack the
    arrays of `check_model_inputs` for calling them.
    """
    return model.inputs[0] if len(model.inputs) == 1 else model.input


def check_model_inputs(name, x, model):
    """Checks that `x` (array, list or dict of arrays) fits `model.input`.

    Returns:
        `x` as a list of NumPy arrays, in the order of `model.inputs` (pack them with
        `keras.tree.pack_sequence_as(model_input_structure(model), arrays)`).
    """
    structure = model_input_structure(model)
    if isinstance(x, dict):
        same_keys = isinstance(structure, dict) and set(x) == set(structure)
        arrays = keras.tree.flatten(x) if same_keys else []
    elif isinstance(x, (list, tuple)):
        arrays = list(x)
    else:
        arrays = [x]
    expected = [tuple(tensor.shape) for tensor in model.inputs]
    shapes = [np.shape(a) for a in arrays]
    fits = len(shapes) == len(expected) and all(
        len(got) == len(want)
        and got[0] > 0
        and all(w is None or g == w for g, w in zip(got[1:], want[1:]))
        for got, want in zip(shapes, expected)
    )
    if not fits:
        raise invalid_argument(
            name,
            f"inputs of shapes {shapes}",
            f"inputs matching the model's input shapes {expected}",
        )
    return [check_array(name, a) for a in arrays]


def flat_kernel_shape(name, shape):
    """`(receptive field x inputs, outputs)`: the 2-D view of a kernel `shape`.

    Raises:
        ValueError: naming `name` if `shape` has rank < 2.
    """
    shape = tuple(shape)
    if len(shape) < 2:
        raise invalid_argument(name, shape, "a shape of rank >= 2")
    return math.prod(shape[:-1]), shape[-1]


def check_rank(input_shape, ranks, expected):
    """Checks a layer's input rank in `build`; the error names argument `inputs`.

    Args:
        input_shape: The input shape, batch axis included.
        ranks: The allowed ranks (an iterable of ints).
        expected: The allowed shapes, as a phrase ("(batch, steps) or (batch,
            steps, channels)").

    Returns:
        The rank.
    """
    if len(input_shape) not in tuple(ranks):
        raise invalid_argument(
            "inputs", tuple(input_shape), f"a tensor of shape {expected}"
        )
    return len(input_shape)


def check_keras_optimizer(name, value):
    """Checks a Keras optimizer or its name ("adam"). Returns the optimizer."""
    try:
        optimizer = keras.optimizers.get(value)
    except ValueError:
        optimizer = None
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise invalid_argument(name, value, "a keras.optimizers.Optimizer or its name")
    return optimizer


def check_objective(objective):
    """Raises the pack's `ValueError` for an objective KerasTuner cannot use."""
    # Imported here: only the tuners call this, the rest of utils needs no KerasTuner.
    import keras_tuner
    from keras_tuner.engine.metrics_tracking import infer_metric_direction

    if isinstance(objective, list):
        for item in objective:
            check_objective(item)
    elif not (
        objective is None
        or isinstance(objective, keras_tuner.Objective)
        or (isinstance(objective, str) and infer_metric_direction(objective))
    ):
        raise invalid_argument(
            "objective",
            objective,
            "a `keras_tuner.Objective`, a list of them, or the name of a metric "
            "whose direction KerasTuner can infer (such as 'val_loss')",
        )
    return objective


def check_ranges(hyperparameters):
    """Raises the pack's `ValueError` for a numeric range with min >= max in a
    KerasTuner `HyperParameters`."""
    for hp in hyperparameters.space:
        numeric = hasattr(hp, "min_value") and hasattr(hp, "max_value")  # Int, Float.
        if numeric and not hp.min_value < hp.max_value:
            raise invalid_argument(
                "min_value",
                hp.min_value,
                f"a value below `max_value`={hp.max_value} for hyperparameter "
                f"'{hp.name}'",
            )
