"""Small data: a Bayesian MLP vs the same MLP with dropout vs plain, with calibration.

The seed notes: "Only a small sample? Go Bayesian Neural Networks!" and dropout as
Bayesian model averaging. The same 2-hidden-layer MLP is trained on 100 and 300
labelled digits and on 500 labelled MNIST-1D signals, three ways:

- plain: Dense layers, no regularization;
- dropout: Dense + Dropout(0.5), predicting with the dropout network's mean
  (weight scaling) and, as MC dropout, with the average of 30 `mc_predict` samples;
- Bayesian: BayesianDense layers (Flipout, Gaussian prior, `kl_weight =
  1 / num_labelled`), predicting with the average of 30 posterior samples
  (`keras_smithing.mc_predict`).

For each method: test accuracy and expected calibration error (ECE, 10 equal-width
confidence bins), mean ± std over seeds (the seed fixes the labelled subset, the
initial weights and the noise), and a reliability diagram pooled over seeds.

Run: python examples/bayesian_small_data.py [--quick]
"""

import math

import keras
import matplotlib.pyplot as plt
import numpy as np
from _common import (
    finish_figure,
    output_path,
    print_summary,
    run_main,
)

import keras_smithing
from keras_smithing.datasets import load_dataset
from keras_smithing.layers import BayesianDense, Dropout
from keras_smithing.utils import reliability

TASKS = (("digits", 100), ("digits", 300), ("mnist1d", 500))
METHODS = ("plain", "dropout", "MC dropout", "Bayesian")
WIDTH = 128
PRIOR_STDDEV = 1.0
MC_SAMPLES = 30


def build_mlp(kind, input_dim, num_labeled, seed=0):
    """The input_dim-128-128-10 MLP: "plain", "dropout" or "Bayesian"."""
    layers = [keras.Input((input_dim,))]
    for i, units in enumerate((WIDTH, WIDTH, 10)):
        activation = "softmax" if units == 10 else "relu"
        if kind == "Bayesian":
            layers.append(
                BayesianDense(
                    units,
                    activation=activation,
                    prior_stddev=PRIOR_STDDEV,
                    kl_weight=1 / num_labeled,
                    seed=seed + i,
                )
            )
            continue
        layers.append(keras.layers.Dense(units, activation=activation))
        if kind == "dropout" and units != 10:
            layers.append(Dropout(0.5, seed=seed + i))
    return keras.Sequential(layers)


def plot_reliability(pooled, path=None):
    """One reliability diagram per task; one line per method.

    Args:
        pooled: `{task_name: {method: (probabilities, labels)}}`, pooled over
            seeds.
        path: Where to save the PNG, or None.

    Returns:
        The matplotlib Figure.
    """
    figure, axes = plt.subplots(1, len(pooled), figsize=(4.2 * len(pooled), 4))
    for axis, (task, methods) in zip(np.atleast_1d(axes), pooled.items()):
        axis.plot([0, 1], [0, 1], "k:", label="perfect calibration")
        for method, (probabilities, labels) in methods.items():
            curve = reliability(probabilities, labels)
            axis.plot(
                curve.confidence,
                curve.accuracy,
                "o-",
                ms=3,
                label=f"{method} (ECE {curve.ece:.3f})",
            )
        axis.set(xlabel="confidence", ylabel="accuracy", title=task)
        axis.set(xlim=(0, 1), ylim=(0, 1))
        axis.legend(fontsize="x-small", loc="upper left")
    figure.suptitle("Reliability diagrams, test sets pooled over seeds")
    return finish_figure(figure, path)


def predict(kind, model, x):
    """Class probabilities: the network's mean, or the average of MC samples."""
    if kind in ("MC dropout", "Bayesian"):
        return keras_smithing.mc_predict(model, x, num_samples=MC_SAMPLES).mean
    return model.predict(x, verbose=0)


def run_task(dataset, num_labeled, seeds, steps):
    """Trains every method on every seed; returns per-method metrics and pools."""
    metrics = {m: {"accuracy": [], "ece": []} for m in METHODS}
    pooled = {m: ([], []) for m in METHODS}
    for seed in seeds:
        data = load_dataset(dataset, num_labeled=num_labeled, seed=seed)
        epochs = math.ceil(steps * 32 / num_labeled)
        for kind in ("plain", "dropout", "Bayesian"):
            keras_smithing.set_seed(seed)
            model = build_mlp(kind, data.x_train.shape[1], num_labeled, 100 * seed)
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss="sparse_categorical_crossentropy",
            )
            model.fit(
                data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0
            )
            for method in (kind, "MC dropout") if kind == "dropout" else (kind,):
                probabilities = predict(method, model, data.x_test)
                accuracy = float(np.mean(probabilities.argmax(axis=1) == data.y_test))
                ece = reliability(probabilities, data.y_test).ece
                metrics[method]["accuracy"].append(accuracy)
                metrics[method]["ece"].append(ece)
                pooled[method][0].append(probabilities)
                pooled[method][1].append(data.y_test)
                print(
                    f"{dataset} {num_labeled} labels, seed {seed}, {method:>10}: "
                    f"accuracy {accuracy:.4f}, ECE {ece:.4f}",
                    flush=True,
                )
    pooled = {m: (np.concatenate(p), np.concatenate(y)) for m, (p, y) in pooled.items()}
    return metrics, pooled


def main(quick=False):
    seeds = range(2) if quick else range(5)
    steps = 150 if quick else 2000
    summary, pooled = {}, {}
    for dataset, num_labeled in TASKS:
        task = f"{dataset}, {num_labeled} labels"
        metrics, pooled[task] = run_task(dataset, num_labeled, seeds, steps)
        summary[f"{dataset}_{num_labeled}"] = {
            method: {
                f"{name}_{stat}": float(fn(values))
                for name, values in scores.items()
                for stat, fn in (("mean", np.mean), ("std", np.std))
            }
            for method, scores in metrics.items()
        }
    print(f"\n{'task':<22}{'method':<12}{'test accuracy':>18}{'ECE':>18}")
    for task, methods in summary.items():
        for method, row in methods.items():
            print(
                f"{task:<22}{method:<12}"
                f"{row['accuracy_mean']:>10.4f} ± {row['accuracy_std']:.4f}"
                f"{row['ece_mean']:>10.4f} ± {row['ece_std']:.4f}"
            )
    plot_reliability(pooled, output_path("bayesian_small_data.png"))
    summary.update(seeds=len(seeds), steps=steps, prior_stddev=PRIOR_STDDEV)
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
