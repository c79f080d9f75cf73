"""Seeds and their spread, for the examples that compare methods (not an example itself).

A comparison of methods is run once per seed (the seed fixes the initial weights,
the shuffling and any masks), so each verdict in the gallery can be set against the
seed-to-seed spread. These helpers pick the seeds, summarize a number over them and
draw per-seed curves as their mean with min–max shading. They live beside
`_common.py` rather than in it: `tools/evidence.py` fingerprints each example with
the sibling modules it imports, so the examples that do not compare seeds keep
their stored numbers.
"""

import numpy as np

FULL_SEEDS = 3
QUICK_SEEDS = 2


def seeds(quick):
    """The seeds of a run: 3 in the full setting, 2 in the quick one."""
    return list(range(QUICK_SEEDS if quick else FULL_SEEDS))


def spread(values, digits=4):
    """Mean, standard deviation, min and max of one number measured once per seed.

    Args:
        values: The per-seed values.
        digits: Rounding of the stored numbers.

    Returns:
        A dict with "mean", "std" (population), "min", "max" and "values".
    """
    values = np.asarray(values, dtype=float)
    return {
        "mean": round(float(values.mean()), digits),
        "std": round(float(values.std()), digits),
        "min": round(float(values.min()), digits),
        "max": round(float(values.max()), digits),
        "values": [round(float(v), digits) for v in values],
    }


def plot_band(axis, curves, label, style="-", **kwargs):
    """Plots per-seed curves as their mean line, shaded between their min and max.

    Args:
        axis: A matplotlib Axes.
        curves: Per-seed sequences of equal length (one value per epoch).
        label: The legend label.
        style: The mean line's matplotlib format string.
        **kwargs: Passed to `axis.plot` (marker, color, ...).

    Returns:
        The mean line.
    """
    curves = np.asarray(curves, dtype=float)
    x = np.arange(1, curves.shape[1] + 1)
    (line,) = axis.plot(x, curves.mean(axis=0), style, label=label, **kwargs)
    axis.fill_between(
        x, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.2
    )
    return line
