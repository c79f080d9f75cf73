"""Very deep MLPs on digits: a plain net stalls, residual and highway nets train.

Fifty weight layers of width 64 (20 in quick mode) between the input projection
and the softmax:
- plain: 50 sigmoid Dense layers (the classic deep net that does not learn);
- residual: 25 pre-activation `ResidualBlock`s (two layers each, layer norm);
- highway: 50 ReLU `Highway` layers, with the transform-gate bias at -2 (the
  default) and at -3 (the recommendation for 50+ layers).
All use Adam 1e-3 and batch size 64, and train from 3 seeds (2 with --quick; the
seed fixes the initial weights and the shuffling); we report validation accuracy
per epoch and plot the training-loss and accuracy curves (mean over seeds, min–max
shaded).

Run: python examples/deep_highway.py [--quick]
"""

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
from keras_smithing.datasets import load_digits
from keras_smithing.layers import Highway, ResidualBlock

WIDTH = 64
LABELS = {
    "plain": "plain (sigmoid)",
    "residual": "residual blocks",
    "highway-2": "highway, gate bias -2",
    "highway-3": "highway, gate bias -3",
}


def build_model(kind, depth, num_features, num_classes):
    """A `depth`-layer MLP of the given kind: plain, residual, highway-2 or highway-3."""
    inputs = keras.Input((num_features,))
    h = keras.layers.Dense(WIDTH, activation="relu")(inputs)
    if kind == "plain":
        for _ in range(depth):
            h = keras.layers.Dense(WIDTH, activation="sigmoid")(h)
    elif kind == "residual":
        for _ in range(depth // 2):
            h = ResidualBlock(WIDTH, normalization="layer")(h)
    else:
        bias = keras.initializers.Constant(-float(kind.split("-")[1]))
        for _ in range(depth):
            h = Highway(activation="relu", transform_bias_initializer=bias)(h)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(h)
    return keras.Model(inputs, outputs, name=kind)


def plot_curves(histories, depth, path=None):
    """Training loss and validation accuracy per epoch, one band (mean, min–max over
    seeds) per model. `histories` maps each kind to its per-seed history dicts."""
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, runs in histories.items():
        plot_band(loss_axis, [h["loss"] for h in runs], LABELS[name])
        plot_band(accuracy_axis, [h["val_accuracy"] for h in runs], LABELS[name])
    loss_axis.set(xlabel="epoch", ylabel="training loss", yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
    accuracy_axis.legend()
    seed_count = len(next(iter(histories.values())))
    figure.suptitle(
        f"{depth}-layer MLPs on digits (Adam 1e-3, {seed_count} seeds, min–max)"
    )
    return finish_figure(figure, path)


def main(quick: bool = False) -> dict:
    data = load_digits()
    depth, epochs = (20, 3) if quick else (50, 15)
    kinds = ["plain", "residual", "highway-2", "highway-3"]
    run_seeds = seeds(quick)
    histories = {kind: [] for kind in kinds}
    for seed in run_seeds:
        for kind in kinds:
            keras_smithing.set_seed(seed)
            model = build_model(kind, depth, data.x_train.shape[1], data.num_classes)
            history = fit_classifier(
                model,
                keras.optimizers.Adam(1e-3),
                data.x_train,
                data.y_train,
                validation_data=(data.x_val, data.y_val),
                epochs=epochs,
                batch_size=64,
            )
            histories[kind].append(history.history)
            print(
                f"seed {seed} {kind:>10}: val accuracy by epoch "
                + " ".join(f"{a:.2f}" for a in history.history["val_accuracy"])
            )
    plot_curves(histories, depth, output_path("deep_highway.png"))
    result = {
        "depth": depth,
        "epochs": epochs,
        "seeds": len(run_seeds),
        "final_val_accuracy": {
            kind: spread([h["val_accuracy"][-1] for h in runs])
            for kind, runs in histories.items()
        },
        "final_train_loss": {
            kind: spread([h["loss"][-1] for h in runs])
            for kind, runs in histories.items()
        },
        "figure": "examples/output/deep_highway.png",
    }
    print_summary(result)
    return result


if __name__ == "__main__":
    run_main(main, __doc__)
