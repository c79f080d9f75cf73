"""Benchmark-specific Markdown: the device name, the per-backend table and the README's
headline figures (the sections themselves are written by tools/pages.py)."""

import keras

from tools.pages import markdown_table


def device_name():
    """The accelerator the active Keras backend computes on, or "CPU"."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return details.get("device_name", "GPU")
    elif backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            return device.device_kind
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    return "CPU"


def backends_markdown(stored):
    """One row per benchmark and baseline, one `ratio` column per device, backend
    and jit setting."""
    variants = sorted(stored)
    ratios, targets, runs = {}, {}, []
    for variant in variants:
        results = stored[variant].values()
        modes = sorted({result["mode"] for result in results})
        dates = sorted({result["date"] for result in results})
        runs.append(f"{variant} ({'/'.join(modes)}, {'/'.join(dates)})")
        for _, result in sorted(stored[variant].items()):
            for row in result["rows"]:
                name = f"{row['benchmark']} vs {row['baseline']}"
                ratios.setdefault(name, {})[variant] = row["ratio"]
                targets[name] = row.get("target")
    rows = [
        {"benchmark vs baseline": name, **values, "target": targets[name]}
        for name, values in ratios.items()
    ]
    return (
        "Measured by `make bench-backends` (`ratio` = candidate / baseline, both "
        "timed in the same run on the same backend; `jit`: every model compiled "
        "with `jit_compile=True`). Runs: "
        + "; ".join(runs)
        + ".\n\n"
        + markdown_table(rows, ["benchmark vs baseline", *variants, "target"])
    )


# The README's headline figures: (benchmark prefix, baseline prefix).
# Each must match one stored row; a renamed benchmark fails the writer and its test.
HEADLINES = (
    ("mc_predict, 30 samples", "loop of 30"),
    ("tta_predict, 16 copies", "loop of 16"),
    ("DropConnectDense train step, rate 0.5", "Dense+Dropout"),
    ("LayerNormLSTM train step", "RNN(LSTMCell)"),
    ("digits MLP, 16 trials x 15 epochs: epochs", "CoarseToFine"),
    ("Hartmann-6: trials", "Optuna TPE"),
    ("digits MLP, 16 trials x 4 epochs: median s between", "KerasTuner RandomSearch"),
    ("RBM PCD fit", "sklearn BernoulliRBM (float32"),
)


def _headline_row(results, benchmark, baseline):
    rows = [
        row
        for result in results.values()
        for row in result["rows"]
        if row["benchmark"].startswith(benchmark)
        and row["baseline"].startswith(baseline)
    ]
    if not rows:
        raise ValueError(
            f"No stored benchmark row starts with {benchmark!r} against {baseline!r}: "
            "update HEADLINES in benchmarks/report.py to the row's new name."
        )
    return rows[0]


def headline_markdown(results):
    """The README's short table of headline ratios, read from the stored rows."""
    lines = [
        "| benchmark | baseline | ratio | target |",
        "|---|---|---|---|",
    ]
    for benchmark, baseline in HEADLINES:
        row = _headline_row(results, benchmark, baseline)
        target = row.get("target") or ""
        lines.append(
            f"| {row['benchmark']} | {row['baseline']} | {row['ratio']:.3g} "
            f"| {target} |"
        )
    return (
        "From `make bench` on a 2-core CPU (candidate / baseline, both measured in the "
        "same run; below 1 is faster or fewer):\n\n" + "\n".join(lines)
    )
