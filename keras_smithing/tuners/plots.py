"""Figures of a recorded search: the objective per trial and per hyperparameter."""

import json
import math
import os

import numpy as np
from matplotlib.figure import Figure

from keras_smithing.tuners.importance import (
    encode,
    hyperparameter_importance,
    load_records,
    log_sampled,
    scored,
)
from keras_smithing.tuners.records import PRUNED, is_bookkeeping, read_records
from keras_smithing.utils.validation import check_int


def _rounds(directory):
    """trial_id -> round, from a `CoarseToFineOracle`'s saved state, if any."""
    path = os.path.join(directory, "oracle.json")
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        state = json.load(file)
    return state.get("coarse_to_fine", {}).get("trial_rounds", {})


def plot_search(directory, path=None):
    """Plots the objective of every trial of a recorded search.

    The first panel shows the objective against the trial number with the
    running best; one panel per tuned (not fixed) hyperparameter shows the
    objective against its values, on a log axis where it was declared with
    `sampling="log"`. Points are coloured by coarse-to-fine round when the
    search ran a `CoarseToFineOracle` (by trial number otherwise), so the
    narrowing of the ranges shows as later rounds crowding around the best
    values. Trials a pruner stopped early are circled in red in the first
    panel (their score is the best epoch they ran); failed trials are marked
    with a cross at its bottom. The objective axis is logarithmic when all values are positive and
    span more than two decades.

    Args:
        directory: The tuner's project directory (`directory/project_name`),
            holding the `TrialRecorder` records.
        path: Optional file path; the figure is saved there when given.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from keras_smithing.tuners import CoarseToFine
    >>> class Bowl(CoarseToFine):
    ...     def run_trial(self, trial, **kwargs):
    ...         x = trial.hyperparameters.Float("x", -5.0, 5.0)
    ...         y = trial.hyperparameters.Float("y", -5.0, 5.0)
    ...         return (x - 1.0) ** 2 + 0.01 * y**2
    >>> tuner = Bowl(max_trials=12, seed=0, directory="bowl", overwrite=True)
    >>> tuner.search(verbose=0)
    >>> from keras_smithing.tuners import plot_search
    >>> figure = plot_search(tuner.project_dir, path="search.png")
    >>> [axes.get_xlabel() for axes in figure.axes[:3]]
    ['trial', 'x', 'y']
    """
    records, meta = read_records(directory)
    objective = meta.get("objective", {"name": "objective", "direction": "min"})
    space = {
        hp["config"]["name"]: hp
        for hp in meta.get("space", {}).get("space", [])
        if hp["class_name"] != "Fixed"  # A fixed value has nothing to show.
    }
    rounds = _rounds(directory)
    done = [
        r
        for r in records
        if r["status"] in ("COMPLETED", PRUNED) and r["score"] is not None
    ]
    pruned = [r for r in done if r["status"] == PRUNED]
    failed = [r for r in records if r["status"] in ("FAILED", "INVALID")]
    colour_of = (
        (lambda r: rounds.get(r["trial_id"], 0))
        if rounds
        else (lambda r: records.index(r))
    )
    colour_label = "round" if rounds else "trial"
    names = list(space) or sorted(
        {n for r in done for n in r["hyperparameters"] if not is_bookkeeping(n)}
    )

    panels = 1 + len(names)
    columns = min(panels, 3)
    rows = math.ceil(panels / columns)
    # A bare `Figure` renders with Agg and leaves pyplot's global state alone.
    figure = Figure(figsize=(4.2 * columns, 3.4 * rows))
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    scores = [r["score"] for r in done]
    log_objective = bool(scores) and min(scores) > 0 and max(scores) / min(scores) > 100
    colours = [colour_of(r) for r in done]

    ax = axes[0]
    numbers = [records.index(r) for r in done]
    scatter = ax.scatter(numbers, scores, c=colours, cmap="viridis", s=14)
    best, running = [], None
    for r in records:
        if r in done:
            better = running is None or (
                r["score"] < running
                if objective["direction"] == "min"
                else r["score"] > running
            )
            running = r["score"] if better else running
        best.append(running)
    ax.step(range(len(records)), best, where="post", color="black", lw=1, label="best")
    if pruned:
        ax.scatter(
            [records.index(r) for r in pruned],
            [r["score"] for r in pruned],
            marker="o",
            facecolors="none",
            edgecolors="red",
            s=40,
            label="pruned",
        )
    if failed:
        bottom = min(scores) if scores else 0
        ax.scatter(
            [records.index(r) for r in failed],
            [bottom] * len(failed),
            marker="x",
            color="red",
            label="failed",
        )
    ax.set(xlabel="trial", ylabel=objective["name"], title="objective vs trial")
    ax.legend(fontsize=7)
    if done:
        figure.colorbar(scatter, ax=ax, label=colour_label)

    for ax, name in zip(axes[1:], names):
        points = [
            (r["hyperparameters"][name], r)
            for r in done
            if name in r["hyperparameters"]
        ]
        config = space.get(name, {}).get("config", {})
        values = [v for v, _ in points]
        if values and all(isinstance(v, (int, float)) for v in values):
            xs = values
        else:
            labels = list(dict.fromkeys(str(v) for v in values))
            xs = [labels.index(str(v)) for v in values]
            ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=7)
        ax.scatter(
            xs,
            [r["score"] for _, r in points],
            c=[colour_of(r) for _, r in points],
            cmap="viridis",
            s=14,
        )
        if config.get("sampling") == "log":
            ax.set_xscale("log")
        if log_objective:
            ax.set_yscale("log")
        ax.set(xlabel=name, ylabel=objective["name"])
    if log_objective:
        axes[0].set_yscale("log")
    for ax in axes[panels:]:
        ax.set_visible(False)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def plot_importance(records, path=None, max_axes=8, include_pruned=False, seed=0):
    """Plots each hyperparameter's importance and the trials in parallel coordinates.

    The left panel shows `hyperparameter_importance` (a random forest's mean
    decrease in impurity, normalized to sum to 1) as bars, most important on
    top. The right panel draws every scored trial as a line across one axis
    per hyperparameter (the `max_axes` most important, left to right) and a
    last axis for the objective, coloured by the objective, best trials on
    top: the values that the good trials share show as bundles of bright
    lines. Numeric axes run from the smallest to the largest value tried (in
    decades where they span more than two), choices are spread evenly, and
    an inactive conditional hyperparameter sits below its axis.

    Args:
        records: A project directory holding `TrialRecorder` records, or the
            records `read_records` returns (or its `(records, meta)` pair).
        path: Optional file path; the figure is saved there when given.
        max_axes: Integer >= 1, the most hyperparameter axes drawn.
        include_pruned: Whether pruned trials count (see
            `hyperparameter_importance`).
        seed: Integer, the forest's random seed.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from keras_smithing.tuners import CoarseToFine
    >>> class Bowl(CoarseToFine):
    ...     def run_trial(self, trial, **kwargs):
    ...         x = trial.hyperparameters.Float("x", -5.0, 5.0)
    ...         y = trial.hyperparameters.Float("y", -5.0, 5.0)
    ...         return (x - 1.0) ** 2 + 0.01 * y**2
    >>> tuner = Bowl(max_trials=12, seed=0, directory="bowl", overwrite=True)
    >>> tuner.search(verbose=0)
    >>> from keras_smithing.tuners import plot_importance
    >>> figure = plot_importance(tuner.project_dir, path="importance.png")
    >>> figure.axes[0].get_xlabel()
    'importance (share)'
    """
    max_axes = check_int("max_axes", max_axes, minimum=1)
    records, meta = load_records(records)
    objective = meta.get("objective", {"name": "objective", "direction": "min"})
    importance = hyperparameter_importance(records, include_pruned, seed)
    shown = scored(records, include_pruned)
    names = list(importance)[:max_axes]
    matrix, labels = encode(shown, names, log_sampled(meta))
    scores = np.array([r["score"] for r in shown])

    figure = Figure(figsize=(4 + 1.1 * (len(names) + 1), 4.2))
    left, right = figure.subplots(
        1, 2, gridspec_kw={"width_ratios": [1, 0.45 * (len(names) + 1)]}
    )
    ordered = list(importance)[::-1]
    left.barh(ordered, [importance[n] for n in ordered], color="tab:blue")
    left.set(xlabel="importance (share)", title="hyperparameter importance")
    left.tick_params(axis="y", labelsize=8)

    low, high = matrix.min(axis=0), matrix.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    positions = (matrix - low) / span
    score_span = np.ptp(scores) or 1.0
    positions = np.column_stack([positions, (scores - scores.min()) / score_span])
    goodness = (
        positions[:, -1] if objective["direction"] == "max" else 1 - positions[:, -1]
    )
    colours = figure.colorbar(
        right.scatter(
            np.full(len(scores), len(names)), positions[:, -1], c=scores, s=10
        ),
        ax=right,
        label=objective["name"],
    ).cmap
    norm_scores = (scores - scores.min()) / score_span
    for i in np.argsort(goodness, kind="stable"):  # The best drawn last, on top.
        right.plot(
            range(len(names) + 1),
            positions[i],
            color=colours(norm_scores[i]),
            alpha=0.7,
            lw=1,
        )
    for axis, categories in enumerate(labels):
        right.axvline(axis, color="grey", lw=0.5)
        if isinstance(categories, list):
            ticks = [
                (position, label)
                for position, label in enumerate(categories)
                if low[axis] <= position
            ]
        else:
            ticks = [(low[axis], None), (high[axis], None)]
        for value, label in ticks:
            if label is None:
                label = _short(10**value if categories == "log" else value)
            right.text(
                axis + 0.04,
                (value - low[axis]) / span[axis],
                label,
                fontsize=6,
                va="center",
            )
    right.axvline(len(names), color="grey", lw=0.5)
    right.set_xticks(range(len(names) + 1), names + [objective["name"]])
    right.tick_params(axis="x", rotation=30, labelsize=7)
    right.set_yticks([])
    right.set_ylim(-0.05, 1.05)
    right.set_title("trials in parallel coordinates")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def _short(value):
    return f"{value:.3g}"
