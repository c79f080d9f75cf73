"""Runs every benchmarks/bench_*.py and reports ratios against same-run baselines.

Usage: python -m benchmarks [--quick] [--only SUBSTRING] [--no-readme]

Writes benchmarks/RESULTS.md and the README's benchmark section from the output.
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
COLUMNS = ["benchmark", "candidate_s", "baseline", "baseline_s", "ratio", "target"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    rows = []
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only not in path.stem:
            continue
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{path.stem}")
        module_rows = module.run(quick=args.quick)
        for row in module_rows:
            row.setdefault("module", path.stem)
            print(json.dumps(row))
        rows += module_rows
        print(f"# {path.stem}: {time.perf_counter() - start:.0f} s", flush=True)
    table = markdown_table(rows, COLUMNS)
    print(table)
    if args.only or args.no_readme:
        return
    mode = "quick mode (`--quick`, fewer repeats)" if args.quick else "full mode"
    text = (
        f"Measured by `make bench` ({mode}) on {machine_line()}, "
        f"{time.strftime('%Y-%m-%d')}. Times are medians in seconds; `ratio` is "
        "candidate / baseline, both measured in the same run.\n\n" + table
    )
    (HERE / "RESULTS.md").write_text("# Benchmark results\n\n" + text + "\n")
    replace_readme_section("benchmarks", text)


if __name__ == "__main__":
    main()
