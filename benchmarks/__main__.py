"""Runs benchmarks/bench_*.py and reports ratios against same-run baselines.

Usage: python -m benchmarks [--quick] [--only SUBSTRING] [--no-readme]

Each module's rows are stored in benchmarks/results.json (committed) with the mode,
date and machine they were measured in, so `--only` re-measures one module and keeps
the others. benchmarks/RESULTS.md and the README's benchmark section are rewritten
from the stored rows. A quick run never replaces a stored full-mode module.
"""

import argparse
import importlib
import json
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.report import machine_line, markdown_table, replace_readme_section

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
COLUMNS = ["benchmark", "candidate_s", "baseline", "baseline_s", "ratio", "target"]


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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only not in path.stem:
            continue
        if args.quick and results.get(path.stem, {}).get("mode") == "full":
            print(f"# {path.stem}: kept the stored full-mode rows", flush=True)
            continue
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{path.stem}")
        rows = module.run(quick=args.quick)
        for row in rows:
            print(json.dumps(row), flush=True)
        results[path.stem] = {
            "mode": mode,
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine_line(),
            "seconds": round(time.perf_counter() - start, 1),
            "rows": rows,
        }
        print(f"# {path.stem}: {results[path.stem]['seconds']:.0f} s", flush=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    text = results_markdown(results)
    print(text)
    if not args.no_readme:
        (HERE / "RESULTS.md").write_text("# Benchmark results\n\n" + text + "\n")
        replace_readme_section("benchmarks", text)


if __name__ == "__main__":
    main()
