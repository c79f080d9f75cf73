"""The timing helpers every benchmark uses: warm-up, median of N, same-run ratio."""

import os
import pathlib
import statistics
import subprocess
import sys
import time

JIT_COMPILE_VARIABLE = "SMITHING_BENCH_JIT_COMPILE"


def jit_compile():
    """The `jit_compile` every benchmark model compiles with.

    Keras's default ("auto": XLA on GPU/TPU, not on CPU), or `True` when the runner
    was started with `--jit-compile`.
    """
    return True if os.environ.get(JIT_COMPILE_VARIABLE) == "1" else "auto"


def fresh_process_output(module, *arguments, **run_kwargs):
    """The last stdout line of `python -m benchmarks.<module> *arguments`.

    The process starts fresh from the repository root, so no measurement inherits
    another's imports, compiled functions or Keras state. `run_kwargs` go to
    `subprocess.run` (an environment, a `preexec_fn`).
    """
    output = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *arguments],
        capture_output=True,
        text=True,
        check=True,
        cwd=pathlib.Path(__file__).resolve().parent.parent,
        **run_kwargs,
    )
    return output.stdout.strip().splitlines()[-1]


def median_time(fn, warmup=2, repeats=10):
    """Median wall time of `fn()` in seconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ratio_row(name, candidate_fn, baseline_name, baseline_fn, target=None, repeats=10):
    """Times a candidate and its baseline in the same run, interleaved.

    The two are timed alternately (candidate, baseline, candidate, ...) so that load
    changes on a noisy machine hit both alike.

    Returns:
        A row: benchmark, candidate_s, baseline, baseline_s, ratio, target.
    """
    for fn in (candidate_fn, baseline_fn):
        fn()
        fn()
    candidate, baseline = [], []
    for _ in range(repeats):
        for fn, times in ((candidate_fn, candidate), (baseline_fn, baseline)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    candidate_s, baseline_s = statistics.median(candidate), statistics.median(baseline)
    return {
        "benchmark": name,
        "candidate_s": candidate_s,
        "baseline": baseline_name,
        "baseline_s": baseline_s,
        "ratio": candidate_s / baseline_s,
        "target": target,
    }
