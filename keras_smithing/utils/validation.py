"""Argument validation shared by every constructor in the pack.

Every check raises `ValueError` with one message shape, copied from Keras core:
"Invalid value received for argument `rate`. Expected a float in [0, 1).
Received: rate=1.0".
"""

import math
import numbers


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
        strict: Whether the bounds themselves are excluded.
    """
    ok = _is_real(value) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if ok and maximum is not None:
        ok = value < maximum if strict else value <= maximum
    if not ok:
        parts = []
        if minimum is not None:
            parts.append(f"{'>' if strict else '>='} {minimum}")
        if maximum is not None:
            parts.append(f"{'<' if strict else '<='} {maximum}")
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
