"""Runs benchmarks/bench_*.py and reports ratios against same-run baselines.

Usage: python -m benchmarks [--quick] [--only NAME_OR_SUBSTRING] [--no-pages]
                            [--by-backend [--jit-compile]]

Each module's rows are stored in benchmarks/results.json (committed) with the mode,
date and machine they were measured in, so `--only` re-measures one module and keeps
the others. docs/benchmarks.md's table and the README's headline figures are rewritten
from the stored rows. A quick run never replaces a stored full-mode module.

`--by-backend` stores the rows in benchmarks/backends.json instead, under the device
and the active Keras backend (plus "jit" with `--jit-compile`, which compiles every
model with `jit_compile=True`: XLA, or `torch.compile` on PyTorch), and rewrites the
per-backend table of docs/benchmarks.md; `python -m benchmarks.backends` runs every combination.
"""

import argparse
import importlib
import json
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.report import backends_markdown, device_name, headline_markdown
from benchmarks.timing import JIT_COMPILE_VARIABLE
from tools.pages import machine_line, markdown_table, replace_section

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
BACKEND_RESULTS = HERE / "backends.json"
COLUMNS = ["benchmark", "candidate_s", "baseline", "baseline_s", "ratio", "target"]
# Modules that compare search strategies (trials to a minimum, the epochs a pruner
# saves, a search's time to a target accuracy), not a Keras computation: not per
# backend.
GLOBAL = (
    "bench_tuners",
    "bench_pruning_search",
    "bench_search_mnist1d",
    "bench_hpo_tables",
)


def results_markdown(results):
    """The table of every stored row, preceded by where and when each was measured."""
    groups = {}
    for module, result in sorted(results.items()):
        run = (result["mode"], result["machine"], result["date"])
        groups.setdefault(run, []).append(module)
    where = "; ".join(
        f"{', '.join(modules)} in {mode} mode on {machine}, {date}"
        for (mode, machine, date), modules in groups.items()
    )
    rows = [row for module in sorted(results) for row in results[module]["rows"]]
    return (
        f"Measured by `make bench`: {where}. Times are medians in seconds; `ratio` "
        "is candidate / baseline, both measured in the same run.\n\n"
        + markdown_table(rows, COLUMNS)
    )


def _measure(module_names, quick, stored):
    """Runs the named modules; returns `{module: result}` (keeps full over quick)."""
    mode = "quick" if quick else "full"
    results = {}
    for name in module_names:
        if quick and stored.get(name, {}).get("mode") == "full":
            print(f"# {name}: kept the stored full-mode rows", flush=True)
            continue
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        rows = module.run(quick=quick)
        for row in rows:
            print(json.dumps(row), flush=True)
        results[name] = {
            "mode": mode,
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine_line(),
            "seconds": round(time.perf_counter() - start, 1),
            "rows": rows,
        }
        print(f"# {name}: {results[name]['seconds']:.0f} s", flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--no-pages", action="store_true")
    parser.add_argument("--by-backend", action="store_true")
    parser.add_argument("--jit-compile", action="store_true")
    args = parser.parse_args()
    if args.jit_compile:
        os.environ[JIT_COMPILE_VARIABLE] = "1"
    stems = [path.stem for path in sorted(HERE.glob("bench_*.py"))]
    # `--only` a module's full name runs that module alone, else every module whose
    # name contains it.
    chosen = [args.only] if args.only in stems else [s for s in stems if args.only in s]
    names = [s for s in chosen if not (args.by_backend and s in GLOBAL)]
    if args.by_backend:
        import keras

        variant = f"{device_name()} · {keras.backend.backend()}"
        variant += " · jit" if args.jit_compile else ""
        stored = (
            json.loads(BACKEND_RESULTS.read_text()) if BACKEND_RESULTS.exists() else {}
        )
        stored.setdefault(variant, {}).update(
            _measure(names, args.quick, stored.get(variant, {}))
        )
        BACKEND_RESULTS.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
        text = backends_markdown(stored)
        print(text)
        if not args.no_pages:
            replace_section("backends", text)
        return
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(_measure(names, args.quick, results))
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    text = results_markdown(results)
    print(text)
    if not args.no_pages:
        replace_section("benchmarks", text)
        replace_section("headlines", headline_markdown(results))


if __name__ == "__main__":
    main()
