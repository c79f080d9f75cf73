"""Epochs a pruned CoarseToFine search saves on a real Keras search.

A `SmithingHyperModel` MLP on the digits 60/20/20 split, searched by
`CoarseToFine` for the best validation accuracy: 16 trials of 15 epochs
(quick: 8 trials of 8 epochs), without a pruner, with
`MedianPruner(n_startup_trials=3, n_warmup_steps=1)` and with `MedianPruner()`
(Optuna's defaults), same seed, so the searches draw the same first round
(CoarseToFine's defaults otherwise, so pruned trials in the best third of
their epoch are continued, from the first trial on). The rows report the epochs
trained (candidate: pruned; baseline: unpruned; target: at most 0.6, i.e.
>= 40 % fewer) and the best validation accuracy of each search (target: the
pruned one within 0.01 of the unpruned one). The `candidate_s` and
`baseline_s` columns hold epochs and accuracies, not seconds.

Run: `python -m benchmarks --only pruning [--quick]`.
"""

import tempfile
import time

from keras_smithing.datasets import load_digits
from keras_smithing.tuners import (
    CoarseToFine,
    MedianPruner,
    SmithingHyperModel,
    read_records,
)

SPACE = {
    "depth": (1, 2),
    "width": (32, 256),
    "skip": "none",
    "initializer": "he",
    "normalization": "none",
    "activation": ["relu", "tanh", "sigmoid"],
    "optimizer": ["sgd", "rmsprop", "adam"],
    "dropconnect": 0.0,
}
PRUNERS = (MedianPruner(n_startup_trials=3, n_warmup_steps=1), MedianPruner())


def search(data, trials, epochs, pruner, seed=0):
    """Runs one search: (epochs trained, best val accuracy, pruned, continued)."""
    tuner = CoarseToFine(
        SmithingHyperModel((64,), data.num_classes, search_space=SPACE),
        "val_accuracy",
        max_trials=trials,
        trials_per_round=trials // 2,
        top_k=3,
        seed=seed,
        pruner=pruner,
        directory=tempfile.mkdtemp(prefix="bench_pruning_"),
        project_name="digits",
    )
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=32,
        verbose=0,
    )
    records, _ = read_records(tuner.project_dir)
    trained = sum(len(r["epoch_metrics"].get("val_accuracy", [])) for r in records)
    best = max(r["score"] for r in records if r["score"] is not None)
    pruned = sum(r["status"] == "PRUNED" for r in records)
    continued = sum("tuner/trial_id" in r["hyperparameters"] for r in records)
    return trained, best, pruned, continued


def run(quick: bool) -> list[dict]:
    trials, epochs = (8, 8) if quick else (16, 15)
    data = load_digits(seed=0)
    results = []
    for pruner in (None, *PRUNERS):
        start = time.perf_counter()
        results.append((pruner, search(data, trials, epochs, pruner)))
        print(
            f"{pruner}: epochs, best val_accuracy, pruned, continued trials = "
            f"{results[-1][1]}, {time.perf_counter() - start:.0f} s",
            flush=True,
        )
    theirs, their_best, _, _ = results.pop(0)[1]
    setting = f"digits MLP, {trials} trials x {epochs} epochs"
    rows = []
    for pruner, (ours, our_best, pruned, continued) in results:
        rows += [
            {
                "benchmark": f"{setting}: epochs trained with {pruner} ({pruned} "
                f"trials pruned, {continued} continued) (epochs, not s)",
                "candidate_s": ours,
                "baseline": "CoarseToFine without pruner",
                "baseline_s": theirs,
                "ratio": ours / theirs,
                "target": "<= 0.6",
            },
            {
                "benchmark": f"{setting}: best val_accuracy with {pruner} "
                "(accuracy, not s)",
                "candidate_s": round(our_best, 4),
                "baseline": "CoarseToFine without pruner",
                "baseline_s": round(their_best, 4),
                "ratio": our_best / their_best,
                "target": ">= 0.99 (within 0.01)",
            },
        ]
    return rows
