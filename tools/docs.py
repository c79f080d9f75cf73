"""Writes the documentation site's generated pages; `make docs` runs it before Sphinx.

    python -m tools.docs

- docs/api/: the API reference, from `tools.api`: an index and one page per
  subpackage (`keras_smithing.layers`, ..., and `keras_smithing` for the top-level
  functions) with an autodoc entry for each public object and a table of the Keras
  objects the subpackage re-exports.
- docs/_generated/: one plot per benchmark family from benchmarks/results.json
  (and one of the per-backend ratios from benchmarks/backends.json), and
  benchmark_figures.md, which docs/benchmarks.md includes.

Both folders are git-ignored: they are written from the code and the stored numbers
on every build, never edited. A file is rewritten only when its text changes, and
files no longer generated are removed.
"""

import json
import math
import re
import textwrap
from pathlib import Path

from tools.api import SUBPACKAGES, keras_reexports, public_objects

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API_DIR = DOCS / "api"
GENERATED_DIR = DOCS / "_generated"
RESULTS = ROOT / "benchmarks" / "results.json"
BACKENDS = ROOT / "benchmarks" / "backends.json"

TITLES = {
    "": "Top-level functions",
    "layers": "Layers",
    "initializers": "Initializers",
    "constraints": "Constraints",
    "optimizers": "Optimizers",
    "optimizers.schedules": "Learning-rate schedules",
    "callbacks": "Callbacks",
    "pretraining": "Pretraining",
    "tuners": "Tuners",
    "datasets": "Datasets",
    "utils": "Utilities",
}
ORDER = ("", *SUBPACKAGES)


def module_name(subpackage):
    """ "layers" -> "keras_smithing.layers"; "" -> "keras_smithing"."""
    return ".".join(filter(None, ("keras_smithing", subpackage)))


def summary(obj):
    """The first sentence line of a docstring, safe in a Markdown table cell."""
    doc = (obj.__doc__ or "").strip()
    line = doc.split("\n\n")[0].replace("\n", " ").strip()
    return line.replace("|", "\\|")


def keras_path(name, value):
    """Where Keras exports a re-exported object, e.g. "keras.layers.Dropout"."""
    paths = getattr(value, "_api_export_path", None) or ()
    if isinstance(paths, str):
        paths = [paths]
    for path in paths:
        if path.rpartition(".")[2] == name:
            return path
    return paths[0] if paths else f"{value.__module__}.{value.__qualname__}"


def api_page(subpackage, members, reexports):
    """The Markdown of one subpackage's reference page."""
    module = module_name(subpackage)
    lines = [f"# {module}", ""]
    lines += [f"{TITLES[subpackage]}: the public objects of `{module}`.", ""]
    lines += ["| Object | Summary |", "| --- | --- |"]
    for name, obj in members:
        lines.append(f"| {{py:obj}}`~{module}.{name}` | {summary(obj)} |")
    lines.append("")
    for heading, kind, test in (
        ("Classes", "autoclass", isinstance_class),
        ("Functions", "autofunction", lambda obj: not isinstance_class(obj)),
    ):
        chosen = [(name, obj) for name, obj in members if test(obj)]
        if not chosen:
            continue
        lines += [f"## {heading}", ""]
        for name, obj in chosen:
            lines += ["```{eval-rst}", f".. {kind}:: {module}.{name}"]
            if isinstance_class(obj) and obj.__bases__ != (object,):
                lines.append("   :show-inheritance:")
            lines += ["```", ""]
    if reexports:
        lines += ["## Re-exported from Keras", ""]
        lines += [
            f"`{module}` also exports these Keras objects, unchanged, so that one "
            "import brings a family together. Their documentation is Keras's.",
            "",
            "| Name | Is |",
            "| --- | --- |",
        ]
        for name, value in reexports:
            lines.append(f"| `{module}.{name}` | `{keras_path(name, value)}` |")
        lines.append("")
    return "\n".join(lines)


def isinstance_class(obj):
    return isinstance(obj, type)


def api_index(objects):
    lines = [
        "# API reference",
        "",
        "Every public object of the pack, generated from its docstring: the "
        "signature, the arguments, what a call takes and returns, an example that "
        "runs as written (CI runs them all as doctests) and the paper it comes from. "
        "Each object is documented under the subpackage that defines it, e.g. "
        "`keras_smithing.layers.DropConnectDense`.",
        "",
        "```{toctree}",
        ":hidden:",
        "",
    ]
    lines += [module_name(subpackage) for subpackage in ORDER if subpackage in objects]
    lines += ["```", "", "| Module | Objects |", "| --- | --- |"]
    for subpackage in ORDER:
        if subpackage not in objects:
            continue
        module = module_name(subpackage)
        names = ", ".join(
            f"{{py:obj}}`~{module}.{name}`" for name, _ in objects[subpackage]
        )
        lines.append(f"| [{module}]({module}.md) | {names} |")
    lines.append("")
    return "\n".join(lines)


def api_pages():
    """`{file name: Markdown}` of docs/api/."""
    objects = public_objects()
    reexports = keras_reexports()
    pages = {"index.md": api_index(objects)}
    for subpackage in ORDER:
        if subpackage in objects:
            page = api_page(
                subpackage, objects[subpackage], reexports.get(subpackage, [])
            )
            pages[f"{module_name(subpackage)}.md"] = page
    return pages


# --- benchmark plots -----------------------------------------------------------

TARGET = re.compile(r"([<>]=?)\s*([0-9.]+)(?:\s*/\s*([0-9.]+))?")
MET, MISSED, NO_TARGET = "#2e7d32", "#c62828", "#9e9e9e"


def parse_target(target):
    """ "<= 1.2" -> ("<=", 1.2); ">= 6/7" -> (">=", 6/7); None or free text -> None."""
    match = TARGET.match(target or "")
    if not match:
        return None
    return match[1], float(match[2]) / float(match[3] or 1)


def meets(ratio, target):
    op, bound = target
    return {
        "<=": ratio <= bound,
        "<": ratio < bound,
        ">=": ratio >= bound,
        ">": ratio > bound,
    }[op]


def row_label(row, width=75):
    return textwrap.fill(f"{row['benchmark']} — vs {row['baseline']}", width)


def _ratio_axis(ax, values, rows):
    """A log axis when the ratios span more than 8x, ticks as plain numbers, the
    parity line at 1."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    finite = [v for v in values if v and math.isfinite(v) and v > 0]
    low, high = min(finite + [1.0]), max(finite + [1.0])
    if high / low > 8:
        ax.set_xscale("log")
        ax.set_xlim(low / 1.6, high * 1.6)
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    else:
        ax.set_xlim(0, high * 1.15)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_ylim(-0.6, rows - 0.4)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("ratio = candidate / baseline, as stored (1 = parity)")
    ax.grid(axis="x", alpha=0.3)


def family_figure(family, result, path=None):
    """Horizontal bars of each row's `ratio`, green when it meets its target, red when
    not, grey without one; the target drawn as a black tick on its row. A row whose
    ratio is undefined (a baseline of 0) has no bar; the title counts them."""
    from matplotlib.figure import Figure

    rows = [row for row in result["rows"] if row["ratio"] is not None]
    undefined = len(result["rows"]) - len(rows)
    heights = [row_label(row).count("\n") + 1 for row in rows]
    fig = Figure(
        figsize=(10, 1.2 + 0.2 * sum(heights) + 0.12 * len(rows)), layout="constrained"
    )
    ax = fig.subplots()
    ys = range(len(rows))[::-1]
    colors, ratios = [], [row["ratio"] for row in rows]
    for y, row in zip(ys, rows):
        target = parse_target(row.get("target"))
        colors.append(
            NO_TARGET
            if target is None
            else MET
            if meets(row["ratio"], target)
            else MISSED
        )
        if target is not None:
            ax.plot([target[1]] * 2, [y - 0.42, y + 0.42], color="black", linewidth=2.2)
            ratios.append(target[1])
    ax.barh(list(ys), [row["ratio"] for row in rows], color=colors, height=0.6)
    for y, row in zip(ys, rows):
        ax.annotate(
            f"{row['ratio']:.3g}",
            (row["ratio"], y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(list(ys), [row_label(row) for row in rows], fontsize=8)
    _ratio_axis(ax, ratios, len(rows))
    ax.set_title(
        f"{family} ({result['mode']}, {result['date']}; black tick = target"
        + (f"; {undefined} without a ratio)" if undefined else ")"),
        fontsize=10,
    )
    if path is not None:
        fig.savefig(path, dpi=90)
    return fig


def backends_figure(family, stored, path=None):
    """Grouped horizontal bars: each row's `ratio` on every backend of
    benchmarks/backends.json, the target as a black tick."""
    from matplotlib.figure import Figure

    variants = sorted(v for v in stored if family in stored[v])
    names, targets, ratios = [], {}, {}
    for variant in variants:
        for row in stored[variant][family]["rows"]:
            name = row_label(row, 60)
            if name not in names:
                names.append(name)
            targets[name] = parse_target(row.get("target"))
            ratios[name, variant] = row["ratio"]
    lines = sum(name.count("\n") + 1 for name in names)
    fig = Figure(
        figsize=(10, 1.4 + 0.3 * max(lines, len(names) * len(variants) * 0.55)),
        layout="constrained",
    )
    ax = fig.subplots()
    step = 0.8 / len(variants)
    cmap = ["#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#558b2f"]
    values = []
    for i, variant in enumerate(variants):
        ys = [
            len(names) - 1 - k - 0.4 + step * (len(variants) - 1 - i + 0.5)
            for k in range(len(names))
        ]
        xs = [ratios.get((name, variant)) or 0 for name in names]
        values += xs
        ax.barh(ys, xs, height=step * 0.9, color=cmap[i % len(cmap)], label=variant)
    for k, name in enumerate(names):
        if targets[name] is not None:
            y = len(names) - 1 - k
            ax.plot(
                [targets[name][1]] * 2,
                [y - 0.45, y + 0.45],
                color="black",
                linewidth=2.2,
            )
            values.append(targets[name][1])
    ax.set_yticks(range(len(names))[::-1], names, fontsize=8)
    _ratio_axis(ax, values, len(names))
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(
        f"{family} on each backend (quick mode; black tick = target)", fontsize=10
    )
    if path is not None:
        fig.savefig(path, dpi=90)
    return fig


def benchmark_pages():
    """`{file name: bytes or str}` of docs/_generated/: the PNGs and the Markdown."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    results = json.loads(RESULTS.read_text())
    stored = json.loads(BACKENDS.read_text()) if BACKENDS.exists() else {}
    files, lines = {}, []
    for family, result in sorted(results.items()):
        buffer = io.BytesIO()
        family_figure(family, result, buffer)
        files[f"{family}.png"] = buffer.getvalue()
        lines += [
            f"```{{rubric}} {family}",
            "```",
            "",
            f"```{{figure}} /_generated/{family}.png",
            f":alt: {family}: ratio per benchmark row against its target",
            f":name: fig-{family.replace('_', '-')}",
            "",
            f"`benchmarks/{family}.py`: each row's ratio (candidate / baseline, "
            "timed in the same run); green meets its target, red misses it, grey has "
            "none.",
            "```",
            "",
        ]
        if any(family in by_family for by_family in stored.values()):
            buffer = io.BytesIO()
            backends_figure(family, stored, buffer)
            files[f"{family}_backends.png"] = buffer.getvalue()
            lines += [
                f"```{{figure}} /_generated/{family}_backends.png",
                f":alt: {family}: ratio per benchmark row on each backend",
                f":name: fig-{family.replace('_', '-')}-backends",
                "",
                f"`benchmarks/{family}.py` on each backend (`make bench-backends`, quick "
                "mode: smaller models than above).",
                "```",
                "",
            ]
    files["benchmark_figures.md"] = "\n".join(lines)
    return files


def write(folder, files):
    """Write `files` into `folder`, touching only what changed; remove the rest."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in set(p.name for p in folder.iterdir() if p.is_file()) - set(files):
        (folder / stale).unlink()
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        path = folder / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


def main():
    write(API_DIR, api_pages())
    write(GENERATED_DIR, benchmark_pages())
    print(
        f"tools.docs: wrote {API_DIR.relative_to(ROOT)}/ and {GENERATED_DIR.relative_to(ROOT)}/"
    )


if __name__ == "__main__":
    main()
