"""Markdown output shared by `make bench` and `make evidence`: tables and README sections."""

import pathlib
import platform

import keras

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def machine_line():
    """One line naming the machine and library versions a measurement came from."""
    import os

    return (
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, Keras {keras.__version__} "
        f"({keras.backend.backend()} backend)"
    )


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


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def markdown_table(rows, columns):
    """A Markdown table of `rows` (dicts) restricted to `columns`."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def replace_readme_section(name, text, readme=README):
    """Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    content = readme.read_text()
    if start not in content or end not in content:
        raise ValueError(f"README.md has no {start} ... {end} section")
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{text.strip()}\n{end}{tail}")
