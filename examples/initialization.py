"""Initialization schemes on a deep ReLU MLP: zero, small uniform, Glorot, He, SVD-orthogonal, LSUV.

The seed notes' initialization section: zero init fails by symmetry (every unit of
a layer gets the same gradient, so they stay identical; with ReLU that gradient is
even exactly 0), tiny random weights make the signal vanish with depth, fan-in/
fan-out scaling (Glorot, He) keeps it alive, and orthogonal (SVD) or data-driven
LSUV initialization does so exactly. Each scheme trains the same 10-layer ReLU MLP
on digits with plain SGD + momentum, from 3 seeds (2 with --quick; the seed fixes
the initial weights, LSUV's batch and the shuffling).

Run: python examples/initialization.py [--quick]
"""

import functools
import math

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
from _seeds import plot_band, seeds, spread

import keras_smithing
from keras_smithing.datasets import load_digits
from keras_smithing.initializers import (
    GlorotUniform,
    HeNormal,
    RandomUniform,
    SVDOrthogonal,
    Zeros,
    lsuv_init,
)

# Each takes the run's seed and is called once per layer.
SCHEMES = {
    "zeros": lambda seed: Zeros(),
    "small uniform": lambda seed: RandomUniform(-0.01, 0.01, seed=seed),
    "Glorot uniform": lambda seed: GlorotUniform(seed=seed),
    "He normal": lambda seed: HeNormal(seed=seed),
    "SVD orthogonal": lambda seed: SVDOrthogonal(gain=math.sqrt(2.0), seed=seed),
    "LSUV": lambda seed: GlorotUniform(seed=seed),  # Then rescaled by lsuv_init.
}


def build_mlp(num_features, num_classes, initializer_fn, depth, width):
    """`depth - 1` ReLU layers and a softmax layer, every kernel from `initializer_fn`."""
    layers = [keras.Input((num_features,))]
    for _ in range(depth - 1):
        layers.append(
            keras.layers.Dense(
                width, activation="relu", kernel_initializer=initializer_fn()
            )
        )
    layers.append(
        keras.layers.Dense(
            num_classes, activation="softmax", kernel_initializer=initializer_fn()
        )
    )
    return keras.Sequential(layers)


def plot_training_curves(results, path=None):
    """Training loss and validation accuracy per epoch for every scheme: the mean
    over seeds, shaded between their min and max.

    `results` maps each scheme to its per-seed dicts with "loss" and "val_accuracy".
    """
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, runs in results.items():
        style = "--" if name == "zeros" else "-"  # Small uniform is drawn over it.
        plot_band(loss_axis, [run["loss"] for run in runs], name, style)
        plot_band(accuracy_axis, [run["val_accuracy"] for run in runs], name, style)
    loss_axis.set(xlabel="epoch", ylabel="training loss", yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
    seed_count = len(next(iter(results.values())))
    loss_axis.set_title(
        f"Deep ReLU MLP on digits, SGD + momentum ({seed_count} seeds, min–max)"
    )
    accuracy_axis.legend(fontsize="small")
    return finish_figure(figure, path)


def main(quick=False):
    data = load_digits()
    depth, width = (8, 32) if quick else (10, 64)
    epochs = 4 if quick else 40
    run_seeds = seeds(quick)
    results = {name: [] for name in SCHEMES}
    for seed in run_seeds:
        for name, initializer_fn in SCHEMES.items():
            keras_smithing.set_seed(seed)
            model = build_mlp(
                data.x_train.shape[1],
                data.num_classes,
                functools.partial(initializer_fn, seed),
                depth,
                width,
            )
            if name == "LSUV":
                lsuv_init(model, data.x_train[:256], seed=seed)
            history = fit_classifier(
                model,
                keras.optimizers.SGD(0.01, momentum=0.9),
                data.x_train,
                data.y_train,
                validation_data=(data.x_val, data.y_val),
                epochs=epochs,
                batch_size=32,
            )
            first_kernel = model.layers[0].kernel.numpy()
            distinct_units = np.unique(np.round(first_kernel, 6), axis=1).shape[1]
            results[name].append(
                {
                    "loss": history.history["loss"],
                    "val_accuracy": history.history["val_accuracy"],
                    "distinct_first_layer_units": int(distinct_units),
                }
            )
            print(
                f"seed {seed} {name:>15}: final loss "
                f"{history.history['loss'][-1]:.3f}, val accuracy "
                f"{history.history['val_accuracy'][-1]:.3f}, "
                f"distinct first-layer units {distinct_units}/{width}"
            )

    plot_training_curves(results, output_path("initialization.png"))
    summary = {
        "depth": depth,
        "width": width,
        "epochs": epochs,
        "seeds": len(run_seeds),
        "val_accuracy": {
            name: spread([run["val_accuracy"][-1] for run in runs])
            for name, runs in results.items()
        },
        "final_loss": {
            name: spread([run["loss"][-1] for run in runs])
            for name, runs in results.items()
        },
        # Per seed: how many first-layer units are still distinct after training.
        "zeros_distinct_first_layer_units": [
            run["distinct_first_layer_units"] for run in results["zeros"]
        ],
        "figure": "examples/output/initialization.png",
    }
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
