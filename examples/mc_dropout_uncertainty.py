"""Monte-Carlo dropout: is the model less sure about inputs unlike its training data?

The seed notes' "sampling at test time": keep dropout on at inference, sample many
predictions, and read uncertainty from their spread (Gal & Ghahramani 2016). A
digits MLP with BatchNormalization and dropout is trained as usual; then
`keras_smithing.mc_predict` samples its dropout masks (BatchNormalization keeps its
moving statistics) on the test digits (in distribution) and on three shifted sets:
noisy digits, digits rotated by 90 degrees, and uniform-noise images. We compare
the predictive entropy of the MC mean with that of the ordinary deterministic
prediction and of the common `model(x, training=True)` recipe (which also switches
BatchNormalization to the statistics of each batch: we feed it mixed batches of all
sets, as a deployed model would meet them), by how well
entropy separates test digits from each shifted set (AUROC), and draw a
reliability (calibration) diagram on the test digits. The whole comparison runs
from 3 seeds (2 with --quick; the seed fixes the initial weights, the shuffling and
the dropout masks); the numbers are means and spreads over seeds, the figures show
seed 0 with each method's ECE over all seeds.

Run: python examples/mc_dropout_uncertainty.py [--quick]
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
from _seeds import seeds, spread
from sklearn.metrics import roc_auc_score

import keras_smithing
from keras_smithing import mc_predict
from keras_smithing.datasets import load_digits
from keras_smithing.layers import BatchNormalization, Dropout
from keras_smithing.utils import reliability


def build_mlp(width=256, rate=0.5, seed=0):
    """64 -> [Dense, BatchNormalization, ReLU, Dropout] x 2 -> softmax."""
    layers = [keras.Input((64,))]
    for i in range(2):
        layers += [
            keras.layers.Dense(width),
            BatchNormalization(),
            keras.layers.Activation("relu"),
            Dropout(rate, seed=seed + i),
        ]
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def shifted_sets(x, seed=0):
    """Test digits with noise, rotated by 90 degrees, and pure-noise images."""
    rng = np.random.default_rng(seed)
    noisy = np.clip(x + rng.normal(0, 0.3, x.shape), 0, 1)
    rotated = np.rot90(x.reshape(-1, 8, 8), axes=(1, 2)).reshape(-1, 64)
    noise = rng.uniform(0, 1, x.shape)
    return {
        "noisy digits": noisy.astype("float32"),
        "rotated digits": rotated.astype("float32"),
        "uniform noise": noise.astype("float32"),
    }


def training_true_recipe(model, sets, num_samples, batch_size=64, seed=0):
    """Mean of `model(x, training=True)` samples, as a deployed model meets inputs:
    every set shuffled together into mixed batches (BatchNormalization then
    normalizes each batch with that batch's statistics)."""
    names = list(sets)
    pool = np.concatenate([sets[name] for name in names])
    order = np.random.default_rng(seed).permutation(len(pool))
    total = np.zeros((len(pool), 10))
    for _ in range(num_samples):
        for start in range(0, len(pool), batch_size):
            rows = order[start : start + batch_size]
            total[rows] += np.asarray(model(pool[rows], training=True))
    splits = np.cumsum([len(sets[name]) for name in names])[:-1]
    return dict(zip(names, np.split(total / num_samples, splits)))


def entropy(p):
    """Entropy (nats) of class distributions along the last axis."""
    p = np.clip(p, 1e-12, 1)
    return -(p * np.log(p)).sum(axis=-1)


def plot_entropy_histograms(entropies, path=None):
    """Predictive-entropy histograms of each set, one panel per method."""
    methods = list(entropies)
    figure, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 3.4))
    bins = np.linspace(0, np.log(10), 30)
    for axis, method in zip(axes, methods):
        for name, values in entropies[method].items():
            axis.hist(values, bins=bins, histtype="step", density=True, label=name)
        axis.set(xlabel="predictive entropy (nats)", title=f"{method}, seed 0")
    axes[0].set_ylabel("density")
    axes[-1].legend(fontsize="small")
    return finish_figure(figure, path)


def plot_reliability(curves, eces, path=None):
    """Reliability diagram of one seed: accuracy against confidence, per method,
    labelled with the method's ECE over all seeds (`eces`: `{method: [ece, ...]}`)."""
    figure, axis = plt.subplots(figsize=(4.6, 4.2))
    axis.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    for method, curve in curves.items():
        axis.plot(
            curve.confidence,
            curve.accuracy,
            "o-",
            label=f"{method} (ECE {np.mean(eces[method]):.3f} ± "
            f"{np.std(eces[method]):.3f})",
        )
    axis.set(xlabel="confidence (max probability)", ylabel="accuracy")
    seed_count = len(next(iter(eces.values())))
    axis.set_title(f"Test digits, seed 0 (ECE over {seed_count} seeds)")
    axis.legend(fontsize="small")
    return finish_figure(figure, path)


def run_seed(data, sets, seed, epochs, num_samples):
    """Trains one model from `seed` and scores every method on it.

    Returns:
        `(results, entropies, curves)`: per method, its numbers, its entropies per
        set and its reliability curve on the test digits.
    """
    keras_smithing.set_seed(seed)
    model = build_mlp(seed=100 * seed)
    fit_classifier(
        model,
        keras.optimizers.Adam(1e-3),
        data.x_train,
        data.y_train,
        epochs=epochs,
        batch_size=64,
    )
    predict = {
        "deterministic": lambda x: model.predict(x, verbose=0),
        "MC dropout (mc_predict)": lambda x: mc_predict(model, x, num_samples).mean,
    }
    entropies, curves, results = {}, {}, {}
    for method in [*predict, "training=True recipe"]:
        if method in predict:
            probabilities = {name: predict[method](x) for name, x in sets.items()}
        else:
            probabilities = training_true_recipe(model, sets, num_samples, seed=seed)
        entropies[method] = {name: entropy(p) for name, p in probabilities.items()}
        curves[method] = reliability(probabilities["test digits"], data.y_test)
        inside = entropies[method]["test digits"]
        accuracy = np.mean(probabilities["test digits"].argmax(-1) == data.y_test)
        results[method] = {
            "test_accuracy": float(accuracy),
            "ece": float(curves[method].ece),
            "mean_entropy": {
                name: float(values.mean()) for name, values in entropies[method].items()
            },
            "auroc": {
                name: float(
                    roc_auc_score(
                        np.r_[np.zeros(len(inside)), np.ones(len(values))],
                        np.r_[inside, values],
                    )
                )
                for name, values in entropies[method].items()
                if name != "test digits"
            },
        }
        row = results[method]
        print(
            f"seed {seed} {method:>24}: accuracy {row['test_accuracy']:.4f}, ECE "
            f"{row['ece']:.4f}, entropy "
            + ", ".join(f"{k} {v:.3f}" for k, v in row["mean_entropy"].items())
            + "; AUROC "
            + ", ".join(f"{k} {v:.3f}" for k, v in row["auroc"].items())
        )
    return results, entropies, curves


def main(quick=False):
    epochs = 15 if quick else 80
    num_samples = 20 if quick else 100
    data = load_digits()
    sets = {"test digits": data.x_test, **shifted_sets(data.x_test)}
    per_seed = []
    for seed in seeds(quick):
        results, entropies, curves = run_seed(data, sets, seed, epochs, num_samples)
        per_seed.append(results)
        if seed == 0:
            first_entropies, first_curves = entropies, curves
    methods = list(per_seed[0])
    eces = {method: [r[method]["ece"] for r in per_seed] for method in methods}
    plot_entropy_histograms(first_entropies, output_path("mc_dropout_entropy.png"))
    plot_reliability(first_curves, eces, output_path("mc_dropout_reliability.png"))
    summary = {"epochs": epochs, "num_samples": num_samples, "seeds": len(per_seed)}
    for method in methods:
        rows = [r[method] for r in per_seed]
        summary[method] = {
            "test_accuracy": spread([row["test_accuracy"] for row in rows]),
            "ece": spread([row["ece"] for row in rows]),
            "mean_entropy": {
                name: round(
                    float(np.mean([row["mean_entropy"][name] for row in rows])), 4
                )
                for name in rows[0]["mean_entropy"]
            },
            "auroc": {
                name: spread([row["auroc"][name] for row in rows])
                for name in rows[0]["auroc"]
            },
        }
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
