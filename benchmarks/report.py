"""Benchmark-specific Markdown: the device name and the per-backend table (the README
sections themselves are written by tools/readme.py)."""

import keras

from tools.readme import markdown_table


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
