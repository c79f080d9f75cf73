"""Wall time a real search needs to first reach target validation accuracies.

A `SmithingHyperModel` MLP on MNIST-1D (7 searched hyperparameters: depth,
width, activation, normalization, dropout, optimizer, learning rate), searched
for `val_accuracy` by `CoarseToFine` with `MedianPruner(reference="reached")`
(the candidate; the median of every trial that reached the epoch) and by
KerasTuner's RandomSearch, Hyperband and BayesianOptimization and Optuna's
TPE sampler with its `MedianPruner` (the baselines), each driving the same
hypermodel with the same data, epochs and batch size. Each search is timed
from its start to the end of the first epoch whose `val_accuracy` reaches each
of a ladder of targets, and stopped at the highest; a target not reached
within the time cap (or before the search ends) counts as the cap. A row
reports, per target, the median over the seeds and how many seeds reached it.
Goal: at most half Hyperband's time.

Every search runs in a fresh process pinned to one CPU core (one intra-op
thread), `CORES` searches at a time, interleaved so that every tuner's searches
share the machine alike: the ladder on ten seeds with a 450 s cap takes about
75 minutes of a 2-core machine (75 min measured), and no search inherits
another's Keras state.

Optuna is optional (`pip install keras-smithing[bench]`): without it the
Optuna row is skipped with a message.

Run: `python -m benchmarks --only search_mnist1d [--quick]`.
"""

import concurrent.futures
import json
import os
import queue
import statistics
import sys
import tempfile
import time
import warnings

import keras
import keras_tuner

from benchmarks.bench_tuners import import_optuna
from benchmarks.timing import fresh_process_output
from keras_smithing.datasets import load_mnist1d
from keras_smithing.tuners import CoarseToFine, MedianPruner, SmithingHyperModel

SPACE = {
    "depth": (1, 3),
    "width": (32, 256),
    "activation": ["relu", "elu", "tanh"],
    "normalization": ["none", "batch", "layer"],
    "dropout": (0.0, 0.3),
    "optimizer": ["sgd", "rmsprop", "adam"],
    "learning_rate": (1e-4, 1e-1),
    "skip": "none",
    "initializer": "he",
    "l2": 0.0,
    "dropconnect": 0.0,
}
MAX_TRIALS = 1000  # Never reached: the time cap or the target ends a search.
BATCH_SIZE = 64
CORES = 2  # Searches at a time, each on its own core.
# KerasTuner's oracles draw the i-th value of a search seeded s from
# `random.Random(s + i)`, and replace a seed of 0 by a random one: seeds 0, 1,
# 2, ... would be one unseeded search and searches drawing the same uniforms,
# one place apart (seed 1's first value is seed 0's second). Their searches get
# seeds this far apart, from 1 on.
KERAS_TUNER_SEED_SPACING = 1_000_003
CANDIDATE = "CoarseToFine+MedianPruner(reference='reached')"


class SearchOver(keras_tuner.errors.FatalError):
    """Ends a search (KerasTuner re-raises a `FatalError` out of `search`)."""


class Stopwatch(keras.callbacks.Callback):
    """Notes when each target is first reached; ends the search at the last or the cap."""

    def __init__(self, start, targets, cap):
        super().__init__()
        self.start, self.targets, self.cap = start, targets, cap
        self.reached, self.best = {}, 0.0  # target -> seconds; best val_accuracy.

    def __deepcopy__(self, memo):
        return self  # KerasTuner copies the callbacks per trial; one clock serves all.

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        value = (logs or {}).get("val_accuracy", 0.0)
        self.best = max(self.best, value)
        for target in self.targets:
            if value >= target and target not in self.reached:
                self.reached[target] = seconds
        if len(self.reached) == len(self.targets) or seconds > self.cap:
            raise SearchOver(f"search over after {seconds:.1f} s")


def _keras_tuner(name, hypermodel, seed, epochs):
    common = {
        "hypermodel": hypermodel,
        "objective": "val_accuracy",
        "seed": 1 + KERAS_TUNER_SEED_SPACING * seed,
        "directory": tempfile.mkdtemp(prefix="bench_search_"),
        "project_name": "mnist1d",
    }
    if name == CANDIDATE:
        # Its own draws: a stream per seed and trial (and 0 is a seed). The
        # median of every trial that reached the epoch, not of the completed
        # trials alone: late in a search those are the best few, and trials
        # drawn near them, slower in their first epochs, were stopped at the
        # second or third (on the tuning seeds 10-19, cap 150 s: median time
        # to 0.6 80 s and no miss, against 141 s and 5 misses).
        pruner = MedianPruner(n_startup_trials=3, n_warmup_steps=1, reference="reached")
        return CoarseToFine(
            max_trials=MAX_TRIALS, pruner=pruner, **{**common, "seed": seed}
        )
    if name == "KerasTuner Hyperband":
        return keras_tuner.Hyperband(
            max_epochs=epochs, hyperband_iterations=100, **common
        )
    tuner = {
        "KerasTuner RandomSearch": keras_tuner.RandomSearch,
        "KerasTuner BayesianOptimization": keras_tuner.BayesianOptimization,
    }[name]
    return tuner(max_trials=MAX_TRIALS, **common)


def _optuna_search(optuna, hypermodel, seed, fit):
    """Optuna TPE + MedianPruner drawing the hypermodel's hyperparameters."""
    space = keras_tuner.HyperParameters()
    hypermodel.build(space)  # Declares the hyperparameters.
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    )

    class Report(keras.callbacks.Callback):
        def __init__(self, trial):
            super().__init__()
            self.trial, self.pruned = trial, False

        def on_epoch_end(self, epoch, logs=None):
            self.trial.report(logs["val_accuracy"], epoch)
            if self.trial.should_prune():
                self.model.stop_training = self.pruned = True

    def objective(trial):
        hp = keras_tuner.HyperParameters()
        for p in space.space:
            if isinstance(p, keras_tuner.engine.hyperparameters.Choice):
                value = trial.suggest_categorical(p.name, p.values)
            elif isinstance(p, keras_tuner.engine.hyperparameters.Int):
                value = trial.suggest_int(
                    p.name, p.min_value, p.max_value, log=p.sampling == "log"
                )
            elif isinstance(p, keras_tuner.engine.hyperparameters.Float):
                value = trial.suggest_float(
                    p.name, p.min_value, p.max_value, log=p.sampling == "log"
                )
            else:
                continue  # Fixed.
            hp.values[p.name] = value
        model = hypermodel.build(hp)
        report = Report(trial)
        history = fit(hp, model, report)
        if report.pruned:
            raise optuna.TrialPruned()
        return max(history.history["val_accuracy"])

    study.optimize(objective, n_trials=MAX_TRIALS)


def search(name, seed, epochs, targets, cap):
    """One search: `{"reached": {target: seconds}, "best": best val_accuracy}`."""
    is_optuna = name.startswith("Optuna")
    optuna = import_optuna("bench_search_mnist1d", name) if is_optuna else None
    data = load_mnist1d(seed=0)
    keras.utils.set_random_seed(seed)
    hypermodel = SmithingHyperModel((40,), data.num_classes, search_space=SPACE)
    fit_kwargs = {
        "validation_data": (data.x_val, data.y_val),
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "verbose": 0,
    }
    tuner = None if is_optuna else _keras_tuner(name, hypermodel, seed, epochs)
    stopwatch = Stopwatch(time.perf_counter(), targets, cap)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if is_optuna:
                _optuna_search(
                    optuna,
                    hypermodel,
                    seed,
                    lambda hp, model, report: hypermodel.fit(
                        hp,
                        model,
                        data.x_train,
                        data.y_train,
                        callbacks=[stopwatch, report],
                        **fit_kwargs,
                    ),
                )
            else:
                tuner.search(
                    data.x_train, data.y_train, callbacks=[stopwatch], **fit_kwargs
                )
    except SearchOver:
        pass
    return {"reached": stopwatch.reached, "best": stopwatch.best}


def _search_on_core(cores, job):
    """Runs `search(*job)` in a fresh process pinned to a free core from `cores`."""
    core = cores.get()
    threads = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    try:
        output = fresh_process_output(
            "bench_search_mnist1d",
            "--search",
            json.dumps(job),
            env={**os.environ, **threads, "OMP_NUM_THREADS": "1"},
            preexec_fn=lambda: os.sched_setaffinity(0, {core}),
        )
    finally:
        cores.put(core)
    result = json.loads(output)
    print(f"{job[0]}, seed {job[1]}: {result}", flush=True)
    result["reached"] = {float(t): s for t, s in result["reached"].items()}
    return result


def run(quick: bool) -> list[dict]:
    # Quick: 3 seeds, 8 epochs a trial, 45 s cap; full: 10 seeds, 15 epochs, 450 s.
    # Ten seeds, not five: a rung is reached within a tuner's first few random
    # trials on some seeds and after minutes on others, and on five seeds the
    # median of one tuner moved by 2x between seed sets (CoarseToFine against
    # TPE at 0.6: 2.2x on seeds 0-4, 0.94x on seeds 10-19).
    seeds, epochs, cap, targets = (
        ([0, 1, 2], 8, 45.0, [0.45, 0.5])
        if quick
        else (list(range(10)), 15, 450.0, [0.5, 0.55, 0.6])
    )
    optuna = import_optuna("bench_search_mnist1d", "the Optuna TPE row is")
    names = [
        CANDIDATE,
        "KerasTuner RandomSearch",
        "KerasTuner Hyperband",
        "KerasTuner BayesianOptimization",
    ] + (["Optuna TPE+MedianPruner"] if optuna else [])
    cores = queue.Queue()
    for core in sorted(os.sched_getaffinity(0))[:CORES]:
        cores.put(core)
    jobs = [(name, seed, epochs, targets, cap) for seed in seeds for name in names]
    with concurrent.futures.ThreadPoolExecutor(cores.qsize()) as pool:
        results = list(pool.map(lambda job: _search_on_core(cores, job), jobs))
    outcomes = {name: [] for name in names}
    for (name, *_), result in zip(jobs, results):
        outcomes[name].append(result)
    summaries = {}  # (name, target) -> (median seconds, seeds that reached it)
    for name, searches in outcomes.items():
        for target in targets:
            seconds = [search["reached"].get(target, cap) for search in searches]
            summaries[name, target] = (
                statistics.median(seconds),
                sum(target in search["reached"] for search in searches),
            )
            print(f"{name}, {target}: s per seed {[round(s) for s in seconds]}")
        best = [round(search["best"], 3) for search in searches]
        print(f"{name}: best val_accuracy per seed {best}", flush=True)
    n, rows = len(seeds), []
    for target in targets:
        ours, reached = summaries[names[0], target]
        for name in names[1:]:
            theirs, their_reached = summaries[name, target]
            rows.append(
                {
                    "benchmark": f"mnist1d MLP, 7 hyperparameters: s to "
                    f"val_accuracy >= {target}, median of {n} seeds ({names[0]}, "
                    f"{reached}/{n} reached; {epochs} epochs a trial, one core a "
                    f"search, misses count as the {cap:.0f} s cap)",
                    "candidate_s": ours,
                    "baseline": f"{name} ({their_reached}/{n} reached)",
                    "baseline_s": theirs,
                    "ratio": ours / theirs,
                    "target": "<= 0.5" if name == "KerasTuner Hyperband" else None,
                }
            )
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--search"]:
        print(json.dumps(search(*json.loads(sys.argv[2]))))
    else:
        print("\n".join(json.dumps(row) for row in run("--quick" in sys.argv)))
