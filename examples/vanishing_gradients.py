"""Vanishing gradients: per-layer gradient norms of a 20-layer sigmoid, tanh and ReLU+He MLP.

The seed notes: the sigmoid's derivative is at most 0.25, so back-propagating
through a deep stack multiplies the gradient by a small factor per layer and the
first layers stop learning; ReLU with He initialization keeps it alive. The
`GradientHealth` callback measures every layer's gradient norm on a fixed probe
batch during an ordinary `fit` and flags the vanishing case.

Run: python examples/vanishing_gradients.py [--quick]
"""

import warnings

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
from keras_smithing.callbacks import GradientHealth
from keras_smithing.datasets import load_digits

CONFIGS = {
    "sigmoid + Glorot": ("sigmoid", "glorot_uniform"),
    "tanh + Glorot": ("tanh", "glorot_uniform"),
    "ReLU + He": ("relu", "he_normal"),
}


def build_mlp(num_features, num_classes, activation, initializer, depth, width):
    """`depth` Dense layers (the last one the softmax classifier)."""
    layers = [keras.Input((num_features,))]
    for i in range(depth - 1):
        layers.append(
            keras.layers.Dense(
                width,
                activation=activation,
                kernel_initializer=initializer,
                name=f"dense_{i + 1}",
            )
        )
    layers.append(
        keras.layers.Dense(num_classes, activation="softmax", name=f"dense_{depth}")
    )
    return keras.Sequential(layers)


def plot_gradient_norms(results, path=None):
    """Per-layer gradient norm at initialization, and validation accuracy per epoch."""
    figure, (norm_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, result in results.items():
        depth = np.arange(1, len(result["initial_gradient_norms"]) + 1)
        norm_axis.plot(depth, result["initial_gradient_norms"], "o-", label=name)
        epochs = np.arange(1, len(result["val_accuracy"]) + 1)
        accuracy_axis.plot(epochs, result["val_accuracy"], label=name)
    norm_axis.set(
        xlabel="layer (1 = nearest the input)",
        ylabel="gradient norm at initialization",
        yscale="log",
        title="Gradient norm per layer",
    )
    accuracy_axis.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
    accuracy_axis.set_title("Training a 20-layer MLP on digits")
    for axis in (norm_axis, accuracy_axis):
        axis.legend()
    return finish_figure(figure, path)


def main(quick=False):
    data = load_digits()
    depth, width = 20, 32 if quick else 64
    epochs = 3 if quick else 30
    probe = (data.x_train[:256], data.y_train[:256])
    results = {}
    for name, (activation, initializer) in CONFIGS.items():
        keras_smithing.set_seed(0)
        model = build_mlp(
            data.x_train.shape[1],
            data.num_classes,
            activation,
            initializer,
            depth,
            width,
        )
        health = GradientHealth(probe, every_n_batches=10)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = fit_classifier(
                model,
                keras.optimizers.Adam(1e-3),
                data.x_train,
                data.y_train,
                validation_data=(data.x_val, data.y_val),
                epochs=epochs,
                batch_size=32,
                callbacks=[health],
            )
        norms = health.history["gradient_norm"]
        initial = [norms[layer.name][0] for layer in model.layers]
        results[name] = {
            "initial_gradient_norms": initial,
            "first_to_last_ratio": initial[0] / initial[-1],
            "flagged_vanishing": any(
                "vanishing gradients" in str(w.message) for w in caught
            ),
            "val_accuracy": history.history["val_accuracy"],
        }
        print(
            f"{name:>16}: first/last gradient ratio {initial[0] / initial[-1]:.2e}, "
            f"flagged vanishing: {results[name]['flagged_vanishing']}, "
            f"final val accuracy {history.history['val_accuracy'][-1]:.3f}"
        )

    plot_gradient_norms(results, output_path("vanishing_gradients.png"))
    summary = {
        "depth": depth,
        "epochs": epochs,
        "figure": "examples/output/vanishing_gradients.png",
    }
    for name, result in results.items():
        key = name.split()[0].lower()
        summary[f"{key}_first_to_last_ratio"] = float(
            f"{result['first_to_last_ratio']:.3g}"
        )
        summary[f"{key}_flagged_vanishing"] = result["flagged_vanishing"]
        summary[f"{key}_val_accuracy"] = round(float(result["val_accuracy"][-1]), 4)
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
