"""Layer normalization for recurrent nets: LSTM vs LayerNormLSTM on MNIST-1D.

Each MNIST-1D example is read as a length-40 sequence of scalars. Two one-layer
recurrent classifiers of the same width are trained identically (Adam 1e-3,
batch 64): `keras.layers.LSTM` and `keras_smithing.layers.LayerNormLSTM`, which
normalizes the gate pre-activations and the cell state at every step (Ba et al.
2016). Each trains from 3 seeds (2 with --quick; the seed fixes the initial weights
and the shuffling). We report validation accuracy per epoch and plot both curves
(mean over seeds, min–max shaded).

Run: python examples/layernorm_rnn.py [--quick]
"""

import time

import keras
import matplotlib.pyplot as plt
from _common import (
    finish_figure,
    fit_classifier,
    output_path,
    print_summary,
    run_main,
)
from _seeds import plot_band, seeds, spread

import keras_smithing
from keras_smithing.datasets import load_mnist1d
from keras_smithing.layers import LayerNormLSTM


def build_model(recurrent_layer, num_classes):
    """Sequence `(40, 1)` -> recurrent layer -> softmax."""
    inputs = keras.Input((40, 1))
    h = recurrent_layer(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(h))


def plot_accuracy(histories, path=None):
    """Training loss and validation accuracy per epoch for each model: the mean over
    seeds, shaded between their min and max.

    `histories` maps each model to its per-seed `History.history` dicts.
    """
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, runs in histories.items():
        plot_band(loss_axis, [h["loss"] for h in runs], name)
        plot_band(accuracy_axis, [h["val_accuracy"] for h in runs], name)
    loss_axis.set(xlabel="epoch", ylabel="training loss")
    accuracy_axis.set(xlabel="epoch", ylabel="validation accuracy")
    accuracy_axis.legend()
    seed_count = len(next(iter(histories.values())))
    figure.suptitle(f"MNIST-1D as a 40-step sequence ({seed_count} seeds, min–max)")
    return finish_figure(figure, path)


def main(quick: bool = False) -> dict:
    data = load_mnist1d(num_samples=1500 if quick else 5000)
    x_train, x_val = data.x_train[..., None], data.x_val[..., None]
    epochs, units = (3, 32) if quick else (30, 64)
    layers = {
        "LSTM": lambda: keras.layers.LSTM(units),
        "LayerNormLSTM": lambda: LayerNormLSTM(units),
    }
    run_seeds = seeds(quick)
    histories = {name: [] for name in layers}
    seconds = {name: [] for name in layers}
    for seed in run_seeds:
        for name, make_layer in layers.items():
            keras_smithing.set_seed(seed)
            model = build_model(make_layer(), data.num_classes)
            start = time.perf_counter()
            history = fit_classifier(
                model,
                keras.optimizers.Adam(1e-3),
                x_train,
                data.y_train,
                validation_data=(x_val, data.y_val),
                epochs=epochs,
                batch_size=64,
            )
            seconds[name].append((time.perf_counter() - start) / epochs)
            histories[name].append(history.history)
            print(
                f"seed {seed} {name:>14}: val accuracy "
                + " ".join(f"{a:.2f}" for a in history.history["val_accuracy"])
                + f" ({seconds[name][-1]:.1f} s/epoch)"
            )
    plot_accuracy(histories, output_path("layernorm_rnn.png"))
    result = {
        "epochs": epochs,
        "units": units,
        "train_examples": len(x_train),
        "seeds": len(run_seeds),
        "final_val_accuracy": {
            name: spread([h["val_accuracy"][-1] for h in runs])
            for name, runs in histories.items()
        },
        "best_val_accuracy": {
            name: spread([max(h["val_accuracy"]) for h in runs])
            for name, runs in histories.items()
        },
        "seconds_per_epoch": {
            name: spread(values, digits=2) for name, values in seconds.items()
        },
        "figure": "examples/output/layernorm_rnn.png",
    }
    print_summary(result)
    return result


if __name__ == "__main__":
    run_main(main, __doc__)
