"""Gradual pruning of a digits MLP: accuracy vs sparsity, magnitude vs OBD saliency.

A 64-256-256-10 ReLU MLP is trained on scikit-learn's digits with Adam; the pruned
runs start from the same initial weights and train the same number of epochs, with
`WeightPruning` raising each Dense kernel's sparsity along Zhu & Gupta's cubic
schedule (2017) over the middle of training (masks re-ranked once per epoch), then
fine-tuning at the final sparsity. Two criteria are compared: weight magnitude and
Optimal Brain Damage's saliency ½·h·w² (LeCun et al. 1990), with h the
empirical-Fisher diagonal on 64 training examples. The goal: 90 % of every Dense
kernel at zero for at most one point of test accuracy lost.

Run: python examples/pruning.py [--quick]
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
from _common import (
    finish_figure,
    fit_classifier,
    output_path,
    print_summary,
    run_main,
)

import keras_smithing
from keras_smithing.callbacks import WeightPruning
from keras_smithing.datasets import load_digits

CRITERIA = ("magnitude", "saliency")
GOAL_SPARSITY = 0.9
BATCH_SIZE = 32


def build_mlp(width=256):
    """A 64-width-width-10 ReLU MLP with He initialization."""
    layers = [keras.Input((64,))]
    for _ in range(2):
        layers.append(
            keras.layers.Dense(width, activation="relu", kernel_initializer="he_normal")
        )
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def kernel_sparsity(model):
    """The fraction of exact zeros of each Dense kernel, in layer order."""
    return [
        float(np.mean(keras.ops.convert_to_numpy(layer.kernel) == 0))
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense)
    ]


def train(data, seed, epochs, pruning=None):
    """Trains a fresh MLP (initial weights fixed by `seed`); returns test accuracy."""
    keras_smithing.set_seed(seed)
    model = build_mlp()
    fit_classifier(
        model,
        keras.optimizers.Adam(1e-3),
        data.x_train,
        data.y_train,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        callbacks=[pruning] if pruning else (),
    )
    _, accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)
    return float(accuracy), kernel_sparsity(model)


def plot_accuracy_vs_sparsity(dense, results, targets, path=None):
    """Test accuracy (mean over seeds) against the target sparsity, per criterion."""
    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    for criterion, style in zip(CRITERIA, ("o-", "s--")):
        means = [np.mean(results[criterion][t]) for t in targets]
        axis.plot([100 * t for t in targets], means, style, label=criterion)
    axis.axhline(dense, color="k", linewidth=1, label="dense")
    axis.axhline(dense - 0.01, color="k", linestyle=":", label="dense − 1 point")
    axis.axvline(100 * GOAL_SPARSITY, color="tab:gray", linewidth=0.8)
    axis.set(xlabel="zeros in every Dense kernel (%)", ylabel="test accuracy")
    axis.set_title("Gradual pruning of a digits MLP 64-256-256-10")
    axis.legend(loc="best")
    return finish_figure(figure, path)


def main(quick=False):
    data = load_digits()
    seeds = range(1) if quick else range(3)
    targets = (0.8, 0.9) if quick else (0.5, 0.8, 0.9, 0.95, 0.98)
    # Dense for the first epochs, pruned over the middle, fine-tuned at the end.
    epochs, start, end = (40, 5, 25) if quick else (60, 12, 40)
    steps_per_epoch = -(-len(data.x_train) // BATCH_SIZE)
    probe = (data.x_train[:64], data.y_train[:64])
    dense = [train(data, seed, epochs)[0] for seed in seeds]
    results = {c: {t: [] for t in targets} for c in CRITERIA}
    reached = {c: {} for c in CRITERIA}
    for criterion in CRITERIA:
        for target in targets:
            for seed in seeds:
                pruning = WeightPruning(
                    target,
                    criterion=criterion,
                    start_epoch=start,
                    end_epoch=end,
                    frequency=steps_per_epoch,
                    probe_data=probe if criterion == "saliency" else None,
                )
                accuracy, sparsity = train(data, seed, epochs, pruning)
                results[criterion][target].append(accuracy)
                reached[criterion][target] = min(sparsity)
                print(
                    f"seed {seed} {criterion:>9} {target:.0%}: test accuracy "
                    f"{accuracy:.4f}, kernel sparsity {[f'{s:.3f}' for s in sparsity]}"
                )
    dense_mean = float(np.mean(dense))
    print(f"dense: test accuracy {dense_mean:.4f} over {len(dense)} seed(s)")
    plot_accuracy_vs_sparsity(dense_mean, results, targets, output_path("pruning.png"))
    summary = {
        "epochs": epochs,
        "prune_epochs": [start, end],
        "seeds": len(seeds),
        "dense_test_accuracy": dense_mean,
    }
    for criterion in CRITERIA:
        summary[criterion] = {
            f"{target:g}": {
                "test_accuracy": float(np.mean(results[criterion][target])),
                "min_kernel_sparsity": reached[criterion][target],
            }
            for target in targets
        }
    at_goal = {c: summary[c][f"{GOAL_SPARSITY:g}"]["test_accuracy"] for c in CRITERIA}
    summary["goal_points_lost"] = {
        c: 100 * (dense_mean - accuracy) for c, accuracy in at_goal.items()
    }
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
