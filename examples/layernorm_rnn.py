"""Layer normalization for recurrent nets: LSTM vs LayerNormLSTM on MNIST-1D.

Each MNIST-1D example is read as a length-40 sequence of scalars. Two one-layer
recurrent classifiers of the same width are trained identically (Adam 1e-3,
batch 64): `keras.layers.LSTM` and `keras_smithing.layers.LayerNormLSTM`, which
normalizes the gate pre-activations and the cell state at every step (Ba et al.
2016). We report validation accuracy per epoch and plot both curves.

Run: python examples/layernorm_rnn.py [--quick]
"""

import time

import keras
from _common import (
    finish_figure,
    fit_classifier,
    output_path,
    plot_loss_and_accuracy,
    print_summary,
    run_main,
)

import keras_smithing
from keras_smithing.datasets import load_mnist1d
from keras_smithing.layers import LayerNormLSTM


def build_model(recurrent_layer, num_classes):
    """Sequence `(40, 1)` -> recurrent layer -> softmax."""
    inputs = keras.Input((40, 1))
    h = recurrent_layer(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(h))


def plot_accuracy(histories, path=None):
    """Training loss and validation accuracy per epoch for each model."""
    figure, _, accuracy_axis = plot_loss_and_accuracy(histories)
    accuracy_axis.legend()
    figure.suptitle("MNIST-1D as a 40-step sequence")
    return finish_figure(figure, path)


def main(quick: bool = False) -> dict:
    data = load_mnist1d(num_samples=1500 if quick else 5000)
    x_train, x_val = data.x_train[..., None], data.x_val[..., None]
    epochs, units = (3, 32) if quick else (30, 64)
    histories, seconds = {}, {}
    for name, make_layer in (
        ("LSTM", lambda: keras.layers.LSTM(units)),
        ("LayerNormLSTM", lambda: LayerNormLSTM(units)),
    ):
        keras_smithing.set_seed(0)
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
        seconds[name] = (time.perf_counter() - start) / epochs
        histories[name] = history.history
        print(
            f"{name:>14}: val accuracy "
            + " ".join(f"{a:.2f}" for a in history.history["val_accuracy"])
            + f" ({seconds[name]:.1f} s/epoch)"
        )
    plot_accuracy(histories, output_path("layernorm_rnn.png"))
    result = {
        "epochs": epochs,
        "units": units,
        "train_examples": len(x_train),
        "final_val_accuracy": {
            name: round(float(h["val_accuracy"][-1]), 4)
            for name, h in histories.items()
        },
        "best_val_accuracy": {
            name: round(float(max(h["val_accuracy"])), 4)
            for name, h in histories.items()
        },
        "seconds_per_epoch": {name: round(s, 2) for name, s in seconds.items()},
        "figure": "examples/output/layernorm_rnn.png",
    }
    print_summary(result)
    return result


if __name__ == "__main__":
    run_main(main, __doc__)
