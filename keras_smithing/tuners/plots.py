"""Figures of a recorded search: objective vs trial and vs each hyperparameter."""

import json
import math
import os

from matplotlib.figure import Figure

from keras_smithing.tuners.records import PRUNED, read_records


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
    names = list(space) or sorted({n for r in done for n in r["hyperparameters"]})

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
