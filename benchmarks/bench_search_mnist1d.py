"""Wall time a real search needs to first reach a target validation accuracy.

A `SmithingHyperModel` MLP on MNIST-1D (7 searched hyperparameters: depth,
width, activation, normalization, dropout, optimizer, learning rate), searched
for `val_accuracy` by `CoarseToFine` with `MedianPruner` (the candidate) and
by KerasTuner's RandomSearch, Hyperband and BayesianOptimization and Optuna's
TPE sampler with its `MedianPruner` (the baselines), each driving the same
hypermodel with the same data, epochs and batch size. Each search is timed
from its start to the end of the first epoch whose `val_accuracy` reaches
`target`, and stopped there; a search that has not reached it within the time
cap (or that ends first) counts as the cap. A row reports the median over the
seeds and how many seeds reached the target. Goal: at most half Hyperband's
time.

Optuna is optional (`pip install keras-smithing[bench]`): without it the
Optuna row is skipped with a message.

Run: `python -m benchmarks --only search_mnist1d [--quick]`.
"""

import statistics
import tempfile
import time
import warnings

import keras
import keras_tuner

from benchmarks.bench_tuners import import_optuna
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


class SearchOver(keras_tuner.errors.FatalError):
    """Ends a search (KerasTuner re-raises a `FatalError` out of `search`)."""

    def __init__(self, seconds, reached):
        super().__init__(f"search over after {seconds:.1f} s (reached: {reached})")
        self.seconds, self.reached = seconds, reached


class Stopwatch(keras.callbacks.Callback):
    """Raises `SearchOver` at the first epoch at `target`, or past `cap` seconds."""

    def __init__(self, start, target, cap):
        super().__init__()
        self.start, self.target, self.cap = start, target, cap

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        if (logs or {}).get("val_accuracy", 0.0) >= self.target:
            raise SearchOver(seconds, True)
        if seconds > self.cap:
            raise SearchOver(self.cap, False)


def _keras_tuner(name, hypermodel, seed, epochs):
    common = {
        "hypermodel": hypermodel,
        "objective": "val_accuracy",
        "seed": seed,
        "directory": tempfile.mkdtemp(prefix="bench_search_"),
        "project_name": "mnist1d",
    }
    if name == "CoarseToFine+MedianPruner":
        pruner = MedianPruner(n_startup_trials=3, n_warmup_steps=1)
        return CoarseToFine(max_trials=MAX_TRIALS, pruner=pruner, **common)
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


def search(name, data, seed, epochs, target, cap, optuna=None):
    """Seconds to `target` (the cap when not reached) and whether it was reached."""
    keras.utils.set_random_seed(seed)
    hypermodel = SmithingHyperModel((40,), data.num_classes, search_space=SPACE)
    fit_kwargs = {
        "validation_data": (data.x_val, data.y_val),
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "verbose": 0,
    }
    tuner = None if optuna else _keras_tuner(name, hypermodel, seed, epochs)
    start = time.perf_counter()
    stopwatch = Stopwatch(start, target, cap)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if optuna:
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
    except SearchOver as over:
        return over.seconds, over.reached
    return cap, False  # The search ended before the cap without reaching it.


def run(quick: bool) -> list[dict]:
    # Quick: 3 seeds, 8 epochs a trial, 45 s cap; full: 5 seeds, 15 epochs, 180 s.
    seeds, epochs, cap, target = (
        ([0, 1, 2], 8, 45.0, 0.5) if quick else ([0, 1, 2, 3, 4], 15, 180.0, 0.6)
    )
    data = load_mnist1d(seed=0)
    optuna = import_optuna("bench_search_mnist1d", "the Optuna TPE row is")
    names = [
        "CoarseToFine+MedianPruner",
        "KerasTuner RandomSearch",
        "KerasTuner Hyperband",
        "KerasTuner BayesianOptimization",
    ] + (["Optuna TPE+MedianPruner"] if optuna else [])
    summaries = {}
    for name in names:
        results = [
            search(
                name,
                data,
                seed,
                epochs,
                target,
                cap,
                optuna if name[:6] == "Optuna" else None,
            )
            for seed in seeds
        ]
        print(
            f"{name}: (s, reached) per seed {[(round(s, 1), r) for s, r in results]}",
            flush=True,
        )
        summaries[name] = (
            statistics.median(seconds for seconds, _ in results),
            sum(reached for _, reached in results),
        )
    ours, reached = summaries.pop(names[0])
    n = len(seeds)
    return [
        {
            "benchmark": f"mnist1d MLP, 7 hyperparameters: s to val_accuracy >= "
            f"{target}, median of {n} seeds ({names[0]}, {reached}/{n} reached; "
            f"{epochs} epochs a trial, misses count as the {cap:.0f} s cap)",
            "candidate_s": ours,
            "baseline": f"{name} ({their_reached}/{n} reached)",
            "baseline_s": theirs,
            "ratio": ours / theirs,
            "target": "<= 0.5" if name == "KerasTuner Hyperband" else None,
        }
        for name, (theirs, their_reached) in summaries.items()
    ]
