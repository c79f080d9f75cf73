"""Does unsupervised pretraining pay off with few labels? Digits, several seeds.

The same sigmoid MLP (64-128-64-10) is fine-tuned on 100, 200 or 500 labelled digits
after four starts: random initialization, a deep belief net (`DeepBeliefNetwork`
pretrained greedily with CD-1, unrolled by `to_mlp`), a stacked denoising
autoencoder (`GreedyLayerwisePretraining(method="dae")` inside `model.fit`), and,
as a single-stage alternative, a `HybridRBMClassifier` (discriminative +
alpha * generative). Pretraining sees all training images without labels; every
model fine-tunes with Adam and early stopping on the validation split, and is
scored on the test split. A fifth arm fine-tunes the DBN "gently", as the user guide
recommends: `LayerwiseLearningRate` scales the pretrained layers' learning rate by
0.1 while the new output layer learns at the full rate. Prints mean +- std test accuracy over the seeds; the
gallery quotes the table whatever it shows.
"""

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from _common import (
    finish_figure,
    output_path,
    print_summary,
    run_main,
)

from keras_smithing.callbacks import GreedyLayerwisePretraining
from keras_smithing.datasets import load_digits
from keras_smithing.optimizers import LayerwiseLearningRate
from keras_smithing.pretraining import (
    DeepBeliefNetwork,
    HybridRBMClassifier,
)

HIDDEN = [128, 64]
METHODS = [
    "random init",
    "DBN (RBM) pretraining",
    "SdA pretraining",
    "hybrid RBM",
    "DBN, gentle fine-tuning",
]


def mlp(seed):
    """The MLP every method fine-tunes: sigmoid hidden layers, softmax output."""
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((64,))]
    layers += [keras.layers.Dense(units, activation="sigmoid") for units in HIDDEN]
    layers.append(keras.layers.Dense(10, activation="softmax"))
    return keras.Sequential(layers)


def fit_and_score(model, data, epochs, callbacks=()):
    """Fits a compiled model with early stopping on validation; test accuracy."""
    (x, y), (x_val, y_val), (x_test, y_test) = data
    stop = keras.callbacks.EarlyStopping(
        patience=15, restore_best_weights=True, start_from_epoch=5
    )
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=32,
        validation_data=(x_val, y_val),
        callbacks=[*callbacks, stop],
        verbose=0,
    )
    logs = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    return float(logs["accuracy"])


def fine_tune(model, data, epochs, callbacks=(), pretrained_rate=None):
    """Adam 3e-3; with `pretrained_rate`, the DBN layers learn at that multiple."""
    optimizer = keras.optimizers.Adam(3e-3)
    if pretrained_rate is not None:
        optimizer = LayerwiseLearningRate(
            optimizer, multipliers={"dbn_dense_.*": pretrained_rate}
        )
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return fit_and_score(model, data, epochs, callbacks)


def hybrid(data, epochs, seed):
    model = HybridRBMClassifier(HIDDEN[0], num_classes=10, alpha=0.01, seed=seed)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    return fit_and_score(model, data, epochs)


def run_seed(seed, label_counts, epochs, pretrain_epochs):
    """Test accuracy of each method at each label count, for one seed."""
    unlabeled = load_digits(seed=seed).x_train
    dbn = DeepBeliefNetwork(HIDDEN, seed=seed)
    dbn.pretrain(unlabeled, epochs_per_layer=pretrain_epochs, batch_size=20)
    results = {}
    for count in label_counts:
        splits = load_digits(num_labeled=count, seed=seed)
        data = list(splits)
        keras.utils.set_random_seed(seed)
        dbn_mlp = dbn.to_mlp(num_classes=10)
        keras.utils.set_random_seed(seed)
        gentle_mlp = dbn.to_mlp(num_classes=10)
        sda = GreedyLayerwisePretraining(
            unlabeled, method="dae", epochs_per_layer=pretrain_epochs, seed=seed
        )
        results[count] = {
            METHODS[0]: fine_tune(mlp(seed), data, epochs),
            METHODS[1]: fine_tune(dbn_mlp, data, epochs),
            METHODS[2]: fine_tune(mlp(seed), data, epochs, callbacks=[sda]),
            METHODS[3]: hybrid(data, epochs, seed),
            METHODS[4]: fine_tune(gentle_mlp, data, epochs, pretrained_rate=0.1),
        }
        print(f"seed {seed}, {count} labels:", results[count])
    return results


def plot_accuracy(table, path=None):
    """Mean +- std test accuracy against the number of labels, per method.

    Args:
        table: `{method: {label_count: (mean, std)}}`.
        path: Where to save the PNG, or None.

    Returns:
        The Figure.
    """
    figure, axis = plt.subplots(figsize=(6, 4))
    for method, rows in table.items():
        counts = sorted(rows)
        means = [rows[c][0] for c in counts]
        stds = [rows[c][1] for c in counts]
        axis.errorbar(counts, means, yerr=stds, marker="o", capsize=3, label=method)
    axis.set_xscale("log")
    axis.set_xticks(sorted(next(iter(table.values()))))
    axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.set_xlabel("labelled training examples")
    axis.set_ylabel("test accuracy (mean +- std over seeds)")
    axis.set_title("Digits: pretraining with few labels")
    axis.legend()
    return finish_figure(figure, path)


def main(quick: bool = False) -> dict:
    label_counts = [100] if quick else [100, 200, 500]
    seeds = [0] if quick else [0, 1, 2, 3, 4]
    epochs = 40 if quick else 200
    pretrain_epochs = 3 if quick else 20
    runs = [run_seed(seed, label_counts, epochs, pretrain_epochs) for seed in seeds]
    table = {
        method: {
            count: (
                float(np.mean([run[count][method] for run in runs])),
                float(np.std([run[count][method] for run in runs])),
            )
            for count in label_counts
        }
        for method in METHODS
    }
    print(f"test accuracy, mean +- std over {len(seeds)} seeds")
    print(f"{'labels':>8} " + " ".join(f"{m:>24}" for m in METHODS))
    for count in label_counts:
        cells = " ".join(
            f"{table[m][count][0]:>15.3f} +- {table[m][count][1]:.3f}" for m in METHODS
        )
        print(f"{count:>8} {cells}")
    plot_accuracy(table, path=output_path("pretraining.png"))
    results = {
        "seeds": len(seeds),
        "accuracy": {
            method: {str(c): {"mean": v[0], "std": v[1]} for c, v in rows.items()}
            for method, rows in table.items()
        },
    }
    print_summary(results)
    return results


if __name__ == "__main__":
    run_main(main, __doc__)
