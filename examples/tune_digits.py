"""Tuning an MLP on digits with the pack's tricks as hyperparameters.

The seed notes on hyperparameter search: random search over log-uniform scales,
then a "guided" coarse-to-fine narrowing around the best trials, every run
recorded with its seed. `SmithingHyperModel` offers the tricks (depth, width,
activation, initializer incl. SVD-orthogonal and LSUV, normalization, L2,
dropout, DropConnect, residual and highway blocks, SGD/Nesterov/RMSprop/Adam/
Lookahead, learning rate); `CoarseToFine` searches them on the digits 60/20/20
split with early stopping, stops trials that trail the median of the earlier
ones at the same epoch (`MedianPruner`), records every trial (`trials.csv`,
`trials.sqlite`); `plot_search` draws the search and `plot_importance` how much
each hyperparameter mattered. The best configuration's test accuracy is
measured once, at the end.

Run: python examples/tune_digits.py [--quick]
"""

import tempfile
import time

import keras
from _common import output_path, print_summary, run_main

from keras_smithing.datasets import load_digits
from keras_smithing.tuners import (
    CoarseToFine,
    MedianPruner,
    SmithingHyperModel,
    hyperparameter_importance,
    plot_importance,
    plot_search,
    read_records,
)

# Quick mode narrows the default space to plain, well-initialized blocks.
QUICK_SPACE = {
    "depth": (1, 2),
    "width": (64, 256),
    "skip": "none",
    "initializer": ["he", "svd_orthogonal"],
    "activation": ["relu", "elu", "tanh"],
    "optimizer": ["adam", "nesterov"],
    "dropconnect": 0.0,
}


def main(quick: bool = False) -> dict:
    data = load_digits(seed=0)
    max_trials, epochs = (6, 20) if quick else (20, 40)
    hypermodel = SmithingHyperModel(
        (64,), data.num_classes, search_space=QUICK_SPACE if quick else None
    )
    directory = tempfile.mkdtemp(prefix="tune_digits_")
    tuner = CoarseToFine(
        hypermodel,
        objective="val_accuracy",
        max_trials=max_trials,
        trials_per_round=3 if quick else 5,
        top_k=2,
        seed=0,
        pruner=MedianPruner(n_startup_trials=3, n_warmup_steps=2),
        directory=directory,
        project_name="digits",
    )
    start = time.perf_counter()
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=32,
        callbacks=[
            keras.callbacks.EarlyStopping(
                "val_accuracy", patience=8, restore_best_weights=True
            )
        ],
        verbose=0,
    )
    minutes = (time.perf_counter() - start) / 60

    records, _ = read_records(tuner.project_dir)
    completed = [r for r in records if r["status"] == "COMPLETED"]
    pruned = [r for r in records if r["status"] == "PRUNED"]
    # KerasTuner's best model is the best completed trial's: a pruned trial's
    # partial score is not a result.
    best = max(completed, key=lambda r: r["score"])
    best_model = tuner.get_best_models(1)[0]
    _, test_accuracy = best_model.evaluate(data.x_test, data.y_test, verbose=0)
    first_hit = next(
        (i + 1 for i, r in enumerate(records) if (r["score"] or 0) >= 0.975), None
    )

    figure = output_path("tune_digits_search.png")
    plot_search(tuner.project_dir, path=str(figure))
    importance = hyperparameter_importance(tuner.project_dir)
    plot_importance(
        tuner.project_dir, path=str(output_path("tune_digits_importance.png"))
    )
    for r in records:
        print(
            f"trial {r['trial_id']}: {r['status']:9} val_acc={r['score']} "
            f"seed={r['seed']} {r['wall_time_s']:.1f}s {r['error'] or ''}"
        )
    print(f"best trial {best['trial_id']}: {best['hyperparameters']}")
    print(f"records: {tuner.project_dir}/trials.csv; figure: {figure}")
    results = {
        "trials": len(records),
        "failed_trials": len(records) - len(completed) - len(pruned),
        "pruned_trials": len(pruned),
        "epochs_trained": sum(
            len(r["epoch_metrics"].get("val_accuracy", [])) for r in records
        ),
        "max_epochs": len(records) * epochs,
        "importance": {k: round(v, 3) for k, v in importance.items()},
        "minutes": round(minutes, 2),
        "best_val_accuracy": round(best["score"], 4),
        "trials_to_0.975": first_hit,
        "best_test_accuracy": round(float(test_accuracy), 4),
        "best_seed": best["seed"],
    }
    print_summary(results)
    return results


if __name__ == "__main__":
    run_main(main, __doc__)
