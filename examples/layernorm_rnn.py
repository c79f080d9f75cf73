"""Layer normalization for recurrent nets: LSTM vs LayerNormLSTM on MNIST-1D.

Each MNIST-1D example is read as a length-40 sequence of scalars. Two one-layer
recurrent classifiers of the same width are trained identically (Adam 1e-3,
batch 64): `keras.layers.LSTM` and `keras_smithing.layers.LayerNormLSTM`, which
normalizes the gate pre-activations and the cell state at every step (Ba et al.
2016). We report validation accuracy per epoch and plot both curves.

Run: python examples/layernorm_rnn.py [--quick]
"""

import argparse
import json
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import keras_smithing  # noqa: E402
from keras_smithing.datasets import load_mnist1d  # noqa: E402
from keras_smithing.layers import LayerNormLSTM  # noqa: E402

OUTPUT = pathlib.Path(__file__).resolve().parent / "output"


def build_model(recurrent_layer, num_classes):
    """Sequence `(40, 1)` -> recurrent layer -> softmax."""
    inputs = keras.Input((40, 1))
    h = recurrent_layer(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(h))


def plot_accuracy(histories, path=None):
    """Training loss and validation accuracy per epoch for each model."""
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, history in histories.items():
        epochs = range(1, len(history["loss"]) + 1)
        loss_axis.plot(epochs, history["loss"], label=name)
        accuracy_axis.plot(epochs, history["val_accuracy"], label=name)
    loss_axis.set(xlabel="epoch", ylabel="training loss")
    accuracy_axis.set(xlabel="epoch", ylabel="validation accuracy")
    accuracy_axis.legend()
    figure.suptitle("MNIST-1D as a 40-step sequence")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


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
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        history = model.fit(
            x_train,
            data.y_train,
            validation_data=(x_val, data.y_val),
            epochs=epochs,
            batch_size=64,
            verbose=0,
        )
        seconds[name] = (time.perf_counter() - start) / epochs
        histories[name] = history.history
        print(
            f"{name:>14}: val accuracy "
            + " ".join(f"{a:.2f}" for a in history.history["val_accuracy"])
            + f" ({seconds[name]:.1f} s/epoch)"
        )
    OUTPUT.mkdir(exist_ok=True)
    plot_accuracy(histories, OUTPUT / "layernorm_rnn.png")
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
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
