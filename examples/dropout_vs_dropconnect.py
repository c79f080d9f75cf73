"""No regularization vs dropout vs DropConnect on 300 labelled digits.

The seed notes' dropout section: with few labels a wide MLP overfits, dropping
activations (dropout) or weights (DropConnect, Wan et al. 2013) regularizes it.
The same 64-256-256-10 MLP is trained on a class-balanced subset of 300 labelled
digits, once per method and seed (the seed fixes the subset, the initial weights
and the masks), and evaluated on the full held-out test split.

Run: python examples/dropout_vs_dropconnect.py [--quick]
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
from keras_smithing.datasets import load_digits
from keras_smithing.layers import DropConnectDense, Dropout

METHODS = ("no regularization", "dropout 0.5", "DropConnect 0.5")


def build_mlp(method, width=256, seed=0):
    """A 64-width-width-10 MLP regularized by `method` (one of METHODS)."""
    layers = [keras.Input((64,))]
    for i in range(2):
        if method == "DropConnect 0.5":
            layers.append(
                DropConnectDense(width, 0.5, activation="relu", seed=seed + i)
            )
        else:
            layers.append(keras.layers.Dense(width, activation="relu"))
            if method == "dropout 0.5":
                layers.append(Dropout(0.5, seed=seed + i))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def plot_results(train_accuracies, test_accuracies, path=None):
    """Train and test accuracy per method: mean ± std bars, one dot per seed."""
    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    for i, method in enumerate(METHODS):
        for offset, accuracies, label in (
            (-0.2, train_accuracies, "train"),
            (0.2, test_accuracies, "test"),
        ):
            values = accuracies[method]
            axis.bar(
                i + offset,
                np.mean(values),
                width=0.4,
                yerr=np.std(values),
                capsize=4,
                color="tab:blue" if label == "train" else "tab:orange",
                alpha=0.6,
                label=label if i == 0 else None,
            )
            axis.plot([i + offset] * len(values), values, "k.", markersize=4)
    axis.set_xticks(range(len(METHODS)), METHODS)
    low = min(min(v) for v in test_accuracies.values())
    axis.set(ylabel="accuracy", ylim=(max(0.0, low - 0.05), 1.01))
    axis.set_title("300 labelled digits, MLP 64-256-256-10 (dots: seeds)")
    axis.legend(loc="lower right")
    return finish_figure(figure, path)


def main(quick=False):
    seeds = range(2) if quick else range(5)
    epochs = 30 if quick else 300
    train_accuracies = {method: [] for method in METHODS}
    test_accuracies = {method: [] for method in METHODS}
    for seed in seeds:
        data = load_digits(num_labeled=300, seed=seed)
        for method in METHODS:
            keras_smithing.set_seed(seed)
            model = build_mlp(method, seed=100 * seed)
            fit_classifier(
                model,
                keras.optimizers.Adam(1e-3),
                data.x_train,
                data.y_train,
                epochs=epochs,
                batch_size=32,
            )
            _, train = model.evaluate(data.x_train, data.y_train, verbose=0)
            _, test = model.evaluate(data.x_test, data.y_test, verbose=0)
            train_accuracies[method].append(float(train))
            test_accuracies[method].append(float(test))
            print(f"seed {seed} {method:>18}: train {train:.4f}, test {test:.4f}")
    summary = {
        method: {
            "test_accuracy_mean": float(np.mean(test_accuracies[method])),
            "test_accuracy_std": float(np.std(test_accuracies[method])),
            "train_accuracy_mean": float(np.mean(train_accuracies[method])),
            "seeds": len(test_accuracies[method]),
        }
        for method in METHODS
    }
    for method, row in summary.items():
        print(
            f"{method:>18}: test accuracy {row['test_accuracy_mean']:.4f} ± "
            f"{row['test_accuracy_std']:.4f} over {row['seeds']} seeds "
            f"(train {row['train_accuracy_mean']:.4f})"
        )
    plot_results(
        train_accuracies, test_accuracies, output_path("dropout_vs_dropconnect.png")
    )
    summary["epochs"] = epochs
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
