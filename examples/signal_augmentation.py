"""1-D data augmentation inside `model.fit`: MNIST-1D MLPs and CNNs.

The seed notes: "generate more data by modifying training inputs ... combine
primitive shifts". MNIST-1D signals are digit templates that were circularly
shifted, scaled and made noisy, so the same primitives are the natural
augmentation: `RandomShift1D(4)` (circular, ±4 steps) and `RandomJitter(0.1)`,
placed as the first layers of the model. They act only in training: `fit` sees a
new shift and new noise for every example at every epoch, `evaluate` and `predict`
see the raw signals. No hand-made NumPy loop, no enlarged dataset in memory.

Models: an MLP (two hidden layers of 512 ReLU units), the same MLP with batch
normalization + dropout 0.2, with and without augmentation, and a CNN (three
stride-2 Conv1D layers of 32 channels) with and without augmentation. All train
with Adam (1e-2), batch 100, for a fixed number of epochs (300; no early stopping,
the final model is tested), mean ± std over 3 seeds (2 with --quick; the seed fixes
the initial weights, the masks and the augmentation draws). The figure shows one
signal through each augmentation layer.

Run: python examples/signal_augmentation.py [--quick]
"""

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
from keras_smithing.datasets import load_mnist1d
from keras_smithing.layers import (
    BatchNormalization,
    Dropout,
    Pipeline,
    RandomJitter,
    RandomScale1D,
    RandomShift1D,
    RandomTimeWarp1D,
)

MODELS = (
    "MLP",
    "MLP + BN + dropout",
    "MLP + BN + dropout + augmentation",
    "CNN",
    "CNN + augmentation",
)
WIDTH = 512


def augmentation(seed):
    """Circular shifts of up to ±4 steps, then jitter of stddev 0.1."""
    return Pipeline([RandomShift1D(4, seed=seed), RandomJitter(0.1, seed=seed + 1)])


def build_model(name, seed=0):
    """One of MODELS, for (batch, 40) signals and 10 classes (logits)."""
    inputs = keras.Input((40,))
    x = augmentation(seed)(inputs) if name.endswith("augmentation") else inputs
    if name.startswith("MLP"):
        for i in range(2):
            x = keras.layers.Dense(WIDTH)(x)
            if "BN" in name:
                x = BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
            if "dropout" in name:
                x = Dropout(0.2, seed=seed + 10 + i)(x)
    else:
        x = keras.layers.Reshape((40, 1))(x)
        for _ in range(3):
            x = keras.layers.Conv1D(32, 5, strides=2, padding="same")(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def plot_augmented_signals(signal, path=None, num_draws=5, seed=0):
    """One MNIST-1D signal and `num_draws` training-mode outputs of each layer.

    Returns:
        The matplotlib Figure.
    """
    layers = {
        "RandomShift1D(4)": RandomShift1D(4, seed=seed),
        "RandomScale1D((0.7, 1.3))": RandomScale1D((0.7, 1.3), seed=seed),
        "RandomTimeWarp1D(0.5)": RandomTimeWarp1D(0.5, seed=seed),
        "RandomJitter(0.1)": RandomJitter(0.1, seed=seed),
        "Shift + Jitter (the recipe)": augmentation(seed),
    }
    figure, axes = plt.subplots(1, len(layers), figsize=(3.4 * len(layers), 3))
    batch = np.repeat(signal[None], num_draws, axis=0)
    steps = np.arange(len(signal))
    for axis, (title, layer) in zip(axes, layers.items()):
        augmented = keras.ops.convert_to_numpy(layer(batch, training=True))
        for row in augmented:
            axis.plot(steps, row, lw=0.9, alpha=0.7)
        axis.plot(steps, signal, "k", lw=2, label="original")
        axis.set_title(title, fontsize="small")
        axis.set_xlabel("step")
    axes[0].legend(fontsize="x-small")
    figure.suptitle("MNIST-1D: one signal (black) and augmented draws (colors)")
    return finish_figure(figure, path)


def main(quick=False):
    seeds = range(2) if quick else range(3)
    epochs = 12 if quick else 300
    data = load_mnist1d()
    accuracies = {name: [] for name in MODELS}
    for seed in seeds:
        for name in MODELS:
            keras_smithing.set_seed(seed)
            model = build_model(name, seed=100 * seed)
            model.fit(
                data.x_train, data.y_train, epochs=epochs, batch_size=100, verbose=0
            )
            _, accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)
            accuracies[name].append(float(accuracy))
            print(f"seed {seed} {name:>34}: test accuracy {accuracy:.4f}", flush=True)
    summary = {
        name: {
            "test_accuracy_mean": float(np.mean(values)),
            "test_accuracy_std": float(np.std(values)),
        }
        for name, values in accuracies.items()
    }
    print(f"\n{'model':<36}{'test accuracy':>20}")
    for name, row in summary.items():
        print(
            f"{name:<36}{row['test_accuracy_mean']:>12.4f} ± "
            f"{row['test_accuracy_std']:.4f}"
        )
    plot_augmented_signals(data.x_train[0], output_path("signal_augmentation.png"))
    summary.update(seeds=len(seeds), epochs=epochs, train_examples=len(data.y_train))
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
