"""The timing helpers every benchmark uses: warm-up, median of N, same-run ratio."""

import os
import statistics
import time

JIT_COMPILE_VARIABLE = "SMITHING_BENCH_JIT_COMPILE"


def jit_compile():
    """The `jit_compile` every benchmark model compiles with.

    Keras's default ("auto": XLA on GPU/TPU, not on CPU), or `True` when the runner
    was started with `--jit-compile`.
    """
    return True if os.environ.get(JIT_COMPILE_VARIABLE) == "1" else "auto"


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
