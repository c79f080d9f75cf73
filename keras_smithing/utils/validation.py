"""Argument and data validation shared by every entry point of the pack.

Every check raises `ValueError`, in one of Keras core's two shapes. An argument's
own value (a number, a string, a small config) gets "Invalid value received for
argument `rate`. Expected a float in [0, 1). Received: rate=1.0". Data and states
(arrays, models) get a plain sentence that says what is wrong and what to do, as
Keras's BatchNormalization does for masks: "`x` is empty: pass at least one
example. Received: x.shape=(0, 4)".
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


def invalid_data(name, problem, remedy, received):
    """Returns the pack's `ValueError` for data or a state of argument `name`.

    Args:
        name: The argument's name, as the user wrote it.
        problem: What is wrong, completing "`name` ..." ("is empty").
        remedy: What to do instead ("pass at least one example").
        received: What was received, as `key=value` ("x.shape=(0, 4)").
    """
    return ValueError(f"`{name}` {problem}: {remedy}. Received: {received}")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_bool(name, value):
    """Checks a boolean: `True` or `False` (a NumPy bool too, not 0, 1 or 1.0).

    Returns:
        `value` as a Python `bool`.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise invalid_argument(name, value, "a bool (True or False)")
    return bool(value)


def check_rate(name, value, allow_one=False):
    """Checks a rate (a probability such as a drop rate or a sparsity): a real
    number in [0, 1) (or [0, 1]). Returns a float."""
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
        hint: What to do instead, as a phrase ("scale the data to [0, 1]").

    Returns:
        `x`.
    """
    x = np.asarray(x)
    if x.size and not (np.all(np.isfinite(x)) and x.min() >= 0 and x.max() <= 1):
        raise invalid_data(
            name,
            "needs values in [0, 1] for Bernoulli visible units",
            hint,
            f"min({name})={np.nanmin(x):.3g}, max({name})={np.nanmax(x):.3g}",
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
        expected: What to pass, as a phrase, e.g. "a 2-D array (num_examples,
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
        raise invalid_data(name, "is None", f"pass {expected}", f"{name}=None")
    values = x.data if _is_sparse(x) else None
    if values is None:
        try:
            x = np.asarray(x)
        except ValueError:  # Ragged nested lists.
            raise invalid_data(
                name,
                "is a ragged nested sequence (rows of different lengths)",
                f"pass {expected}",
                f"type({name})={type(x).__name__}",
            ) from None
        values = x
    shape = tuple(x.shape)
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise invalid_data(
            name, "is not numeric", f"pass {expected}", f"{name}.dtype={values.dtype}"
        )
    if not shape or 0 in shape:
        raise invalid_data(
            name, "is empty", f"pass {expected}", f"{name}.shape={shape}"
        )
    if ranks is not None and len(shape) not in tuple(ranks):
        raise invalid_data(
            name, f"has rank {len(shape)}", f"pass {expected}", f"{name}.shape={shape}"
        )
    bad = values.size - np.count_nonzero(np.isfinite(values))
    if bad:
        raise invalid_data(
            name,
            f"has {bad} non-finite value{'s' if bad > 1 else ''} (NaN or inf)",
            "remove or impute them first",
            f"{name}.shape={shape}",
        )
    return x.toarray() if densify and _is_sparse(x) else x


def check_array_structure(name, x):
    """`check_array` on every array of `x` (an array, or a list/dict of arrays,
    e.g. a multi-input model's inputs); all must hold the same number of examples.

    Returns:
        `x` with NumPy arrays as leaves.
    """
    if x is None or (isinstance(x, (list, tuple, dict)) and not x):
        raise invalid_data(
            name,
            "holds no array",
            "pass an array, or a list or dict of arrays",
            f"{name}={x!r}",
        )
    x = keras.tree.map_structure(lambda leaf: check_array(name, leaf), x)
    lengths = [len(leaf) for leaf in keras.tree.flatten(x)]
    if len(set(lengths)) > 1:
        raise invalid_data(
            name,
            "holds arrays of different lengths",
            "give every array the same number of examples",
            f"lengths={lengths}",
        )
    return x


def check_built_model(name, model):
    """Checks that `model` is a built Functional or Sequential `keras.Model`.

    The model must have symbolic `inputs`, so that the outputs of its layers can be
    read with `keras.Model(model.inputs, layer.output)`.

    Returns:
        The model.
    """
    if not isinstance(model, keras.Model):
        raise invalid_argument(name, model, "a keras.Model")
    if not model.built or not getattr(model, "inputs", None):
        raise invalid_data(
            name,
            "has no symbolic inputs (a subclassed or unbuilt model)",
            "use a Functional or Sequential model that starts with keras.Input",
            f"{name}={model.name!r} ({type(model).__name__}, built={model.built})",
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
        raise invalid_data(
            name,
            f"does not fit the model's input shapes {expected}",
            "pass one non-empty array per model input, of its shape",
            f"shapes={shapes}",
        )
    return [check_array(name, a) for a in arrays]


def flat_kernel_shape(name, shape):
    """`(receptive field x inputs, outputs)`: the 2-D view of a kernel `shape`.

    Raises:
        ValueError: naming `name` if `shape` has rank < 2.
    """
    shape = tuple(shape)
    if len(shape) < 2:
        raise invalid_data(
            name,
            f"has rank {len(shape)}",
            "pass a kernel of rank >= 2 (as Dense and Conv layers have)",
            f"shape={shape}",
        )
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
        raise invalid_data(
            "inputs",
            f"has rank {len(input_shape)}",
            f"pass a tensor of shape {expected}",
            f"inputs.shape={tuple(input_shape)}",
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
