"""Batch normalization speeds up training; precise statistics fix early validation.

The same 6-hidden-layer sigmoid MLP on digits, trained with SGD (momentum 0.9):
- without batch norm;
- with BatchNormalization after every hidden Dense layer (its test-time
  statistics are the default moving averages, momentum 0.99);
- the same, plus `PreciseBatchNorm`, which recomputes the population mean and
  variance over the whole training set before each validation (the seed notes'
  "at test time use the mean/variance of the entire training sample").
Each variant trains from 3 seeds (2 with --quick; the seed fixes the initial
weights and the shuffling). We report, per variant and seed, the epochs needed to
reach the target validation accuracy, and plot validation accuracy per epoch (mean
over seeds, min–max shaded).

Run: python examples/batchnorm_convergence.py [--quick]
"""

import keras
import matplotlib.pyplot as plt
from _common import (
    epochs_to,
    finish_figure,
    fit_classifier,
    output_path,
    print_summary,
    run_main,
)
from _seeds import plot_band, seeds, spread

import keras_smithing
from keras_smithing.callbacks import PreciseBatchNorm
from keras_smithing.datasets import load_digits

TARGET = 0.9


def build_model(batch_norm, num_features, num_classes, depth=6, width=64):
    """A sigmoid MLP, optionally with BatchNormalization before each activation."""
    layers = [keras.Input((num_features,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(width, use_bias=not batch_norm))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation("sigmoid"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax"))
    return keras.Sequential(layers)


def plot_accuracy(histories, path=None):
    """Validation accuracy per epoch, one band (mean, min–max over seeds) per variant.

    `histories` maps each variant to its per-seed `History.history` dicts.
    """
    figure, axis = plt.subplots(figsize=(6, 3.8))
    for name, runs in histories.items():
        plot_band(axis, [h["val_accuracy"] for h in runs], name, marker=".")
    axis.axhline(TARGET, color="gray", linestyle=":", label=f"target {TARGET}")
    axis.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
    seed_count = len(next(iter(histories.values())))
    axis.set_title(
        f"6-layer sigmoid MLP on digits, SGD + momentum ({seed_count} seeds)"
    )
    axis.legend()
    return finish_figure(figure, path)


def main(quick: bool = False) -> dict:
    data = load_digits()
    epochs = 6 if quick else 30
    variants = {
        "no batch norm": (False, False),
        "batch norm (moving averages)": (True, False),
        "batch norm + PreciseBatchNorm": (True, True),
    }
    run_seeds = seeds(quick)
    histories = {name: [] for name in variants}
    for seed in run_seeds:
        for name, (batch_norm, precise) in variants.items():
            keras_smithing.set_seed(seed)
            model = build_model(batch_norm, data.x_train.shape[1], data.num_classes)
            history = fit_classifier(
                model,
                keras.optimizers.SGD(0.1, momentum=0.9),
                data.x_train,
                data.y_train,
                validation_data=(data.x_val, data.y_val),
                epochs=epochs,
                batch_size=32,
                callbacks=[PreciseBatchNorm(data.x_train)] if precise else [],
            )
            histories[name].append(history.history)
            print(
                f"seed {seed} {name:>30}: val accuracy "
                + " ".join(f"{a:.2f}" for a in history.history["val_accuracy"])
            )
    plot_accuracy(histories, output_path("batchnorm_convergence.png"))
    result = {
        "epochs": epochs,
        "seeds": len(run_seeds),
        "target_val_accuracy": TARGET,
        # Per seed; None where that seed never reaches the target.
        "epochs_to_target": {
            name: [epochs_to(h["val_accuracy"], TARGET) for h in runs]
            for name, runs in histories.items()
        },
        "first_epoch_val_accuracy": {
            name: spread([h["val_accuracy"][0] for h in runs])
            for name, runs in histories.items()
        },
        "final_val_accuracy": {
            name: spread([h["val_accuracy"][-1] for h in runs])
            for name, runs in histories.items()
        },
        "figure": "examples/output/batchnorm_convergence.png",
    }
    print_summary(result)
    return result


if __name__ == "__main__":
    run_main(main, __doc__)
