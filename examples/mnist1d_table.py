"""The MNIST-1D table of Greydanus (2020): the paper's baselines, then smithed.

"Scaling down deep learning" reports test accuracies of about 32 % (logistic
regression), 68 % (MLP), 94 % (CNN) and 91 % (GRU) on MNIST-1D. This example
trains the same four architectures twice, mean ± std over seeds:

* plain: the paper's models and training (Adam, learning rate 1e-2, batch 100,
  Keras defaults everywhere else, about the paper's 6000 steps);
* smithed: the same layers and widths plus tricks of the trade: He
  initialization, batch normalization (MLP, CNN), a cosine learning-rate decay,
  and, except for the linear model, 1-D augmentation inside `model.fit`
  (`RandomShift1D` circular shifts and `RandomJitter` noise: MNIST-1D digits are
  circularly shifted noisy templates).

Every number is the final model's test accuracy (no selection on test). A last
column averages the smithed model's softmax over augmented copies of each test
signal with `keras_smithing.tta_predict` (test-time augmentation): either
`TTA_SAMPLES` copies drawn by the model's own augmentation layers, or every
circular shift within ±k (`keras.ops.roll` transforms), whichever scores best on
the validation split.

Run: python examples/mnist1d_table.py [--quick]
"""

import time

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
    RandomJitter,
    RandomShift1D,
)

PAPER = {"logistic": 0.32, "MLP": 0.68, "CNN": 0.94, "GRU": 0.91}
GOALS = {"MLP": 0.88, "CNN": 0.97}
# Largest training shift of each smithed model, chosen on validation accuracy
# (None: no augmentation; shifted copies do not help a linear model).
MAX_SHIFT = {"logistic": None, "MLP": 6, "CNN": 4, "GRU": 4}
TTA_SHIFTS = (2, 4, 6, 8)
# Copies drawn from the model's own augmentation layers by `tta_predict`.
TTA_SAMPLES = 64
STEPS = 40
BATCH = 100


def _sequence_input(name):
    """(batch, 40) inputs for dense models, (batch, 40, 1) for Conv1D and GRU."""
    return keras.Input((STEPS, 1) if name in ("CNN", "GRU") else (STEPS,))


def build_model(name, smithed, seed=0):
    """One of the paper's four architectures, plain or smithed, returning logits.

    Args:
        name: "logistic", "MLP" (two hidden layers of 100), "CNN" (three stride-2
            Conv1D layers of 25 channels, as the paper's ConvBase) or "GRU" (a
            bidirectional GRU of 6 units read out from every step).
        smithed: Whether to add augmentation, He initialization and batch
            normalization around the same layers.
        seed: Seed of the augmentation layers.

    Returns:
        An uncompiled `keras.Model`.
    """
    inputs = _sequence_input(name)
    x = inputs
    if smithed and MAX_SHIFT[name] is not None:
        x = RandomShift1D(MAX_SHIFT[name], fill="wrap", seed=seed)(x)
        x = RandomJitter(0.1, seed=seed + 1)(x)
    init = "he_normal" if smithed else "glorot_uniform"

    def block(layer, x):
        # Smithed: layer without bias -> batch norm -> ReLU; plain: layer + ReLU.
        x = layer(x)
        return keras.layers.ReLU()(BatchNormalization()(x) if smithed else x)

    if name == "MLP":
        for _ in range(2):
            dense = keras.layers.Dense(
                100, use_bias=not smithed, kernel_initializer=init
            )
            x = block(dense, x)
    elif name == "CNN":
        for kernel_size in (5, 3, 3):
            x = keras.layers.ZeroPadding1D(1)(x)  # PyTorch's padding=1.
            conv = keras.layers.Conv1D(
                25,
                kernel_size,
                strides=2,
                use_bias=not smithed,
                kernel_initializer=init,
            )
            x = block(conv, x)
        x = keras.layers.Flatten()(x)
    elif name == "GRU":
        x = keras.layers.Bidirectional(keras.layers.GRU(6, return_sequences=True))(x)
        x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, kernel_initializer=init)(x)
    return keras.Model(
        inputs, outputs, name=f"{name}_{'smithed' if smithed else 'plain'}"
    )


def circular_shifts(max_shift):
    """Test-time transforms: every circular shift of the signal within ±max_shift."""
    return [
        lambda x, shift=shift: keras.ops.roll(x, shift, axis=1)
        for shift in range(-max_shift, max_shift + 1)
    ]


def tta_accuracy(probabilities, x, y, transforms):
    """Accuracy of the mean softmax over test-time augmented copies (`tta_predict`).

    `transforms=None` samples the model's own augmentation layers `TTA_SAMPLES`
    times; a list of deterministic transforms is averaged exactly, once each.
    """
    num_samples = TTA_SAMPLES if transforms is None else len(transforms)
    result = keras_smithing.tta_predict(
        probabilities, x, num_samples=num_samples, transforms=transforms
    )
    return float(np.mean(np.argmax(result.mean, axis=-1) == y))


def accuracy(model, x, y):
    """Top-1 accuracy of a model's predictions (logits or probabilities)."""
    predictions = model.predict(x, batch_size=1000, verbose=0)
    return float(np.mean(np.argmax(predictions, axis=-1) == y))


def train(name, smithed, data, epochs, seed):
    """Trains one model; returns its test accuracy and, if smithed, the TTA one."""
    keras_smithing.set_seed(seed)
    model = build_model(name, smithed, seed=1000 * seed)
    steps_per_epoch = int(np.ceil(len(data.y_train) / BATCH))
    learning_rate = 1e-2
    if smithed:
        decay_steps = epochs * steps_per_epoch
        learning_rate = keras.optimizers.schedules.CosineDecay(1e-2, decay_steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=steps_per_epoch,  # One call per epoch: less overhead.
    )
    x_train, x_val, x_test = data.x_train, data.x_val, data.x_test
    if name in ("CNN", "GRU"):
        x_train, x_val, x_test = x_train[..., None], x_val[..., None], x_test[..., None]
    model.fit(x_train, data.y_train, batch_size=BATCH, epochs=epochs, verbose=0)
    result = {"test": accuracy(model, x_test, data.y_test)}
    if smithed:
        # The test-time augmentation is chosen on validation, never on test: the
        # model's own augmentation layers, or every circular shift within ±k.
        candidates = {f"shifts ±{k}": circular_shifts(k) for k in TTA_SHIFTS}
        if MAX_SHIFT[name] is not None:
            candidates["own augmentation"] = None
        # Averages probabilities, not logits.
        probabilities = keras.Model(model.input, keras.layers.Softmax()(model.output))
        val = {
            choice: tta_accuracy(probabilities, x_val, data.y_val, transforms)
            for choice, transforms in candidates.items()
        }
        best = max(val, key=val.get)
        result["tta"] = tta_accuracy(
            probabilities, x_test, data.y_test, candidates[best]
        )
        result["tta_choice"] = best
    return result


def plot_table(table, path=None):
    """Bar chart: paper vs plain Keras vs smithed (mean ± std) per architecture.

    Returns:
        The matplotlib Figure.
    """
    names = list(PAPER)
    paper = ("paper", [PAPER[n] for n in names], [0.0] * len(names), "0.6")
    bars = [paper] + [
        (
            label,
            [table[n][f"{key}_mean"] for n in names],
            [table[n][f"{key}_std"] for n in names],
            color,
        )
        for label, key, color in (
            ("plain Keras", "plain", "tab:blue"),
            ("smithed", "smithed", "tab:orange"),
            ("smithed + TTA", "tta", "tab:red"),
        )
    ]
    width = 0.2
    figure, axis = plt.subplots(figsize=(8, 4.5))
    positions = np.arange(len(names))
    for i, (label, means, stds, color) in enumerate(bars):
        offset = positions + (i - 1.5) * width
        axis.bar(offset, means, width, yerr=stds, capsize=3, label=label, color=color)
        for x, mean, std in zip(offset, means, stds):
            text = f"{100 * mean:.1f}"
            axis.text(x, mean + std + 0.015, text, ha="center", fontsize="x-small")
    for i, name in enumerate(names):
        if name in GOALS:
            axis.hlines(
                GOALS[name],
                i - 2 * width,
                i + 2 * width,
                colors="k",
                linestyles="--",
                lw=1,
            )
    axis.set_xticks(positions, names)
    axis.set_ylim(0, 1.08)
    axis.set_ylabel("test accuracy")
    axis.set_title(
        "MNIST-1D (Greydanus 2020): paper vs plain Keras vs smithed (dashed: goal)"
    )
    axis.legend(loc="upper left", fontsize="small", ncols=4)
    return finish_figure(figure, path)


def main(quick=False):
    start = time.perf_counter()
    seeds = range(1) if quick else range(3)
    # Plain: the paper's 6000 steps of batch 100 (200 epochs of our 3000 training
    # examples); fewer for the logistic model (converged) and the slow GRU (CPU
    # budget). Smithed: augmentation keeps the MLP learning longer.
    epochs = {
        "plain": {"logistic": 100, "MLP": 200, "CNN": 200, "GRU": 60},
        "smithed": {"logistic": 100, "MLP": 400, "CNN": 200, "GRU": 60},
    }
    if quick:
        epochs = {
            variant: {name: max(2, n // 20) for name, n in by_name.items()}
            for variant, by_name in epochs.items()
        }
    data = load_mnist1d()
    runs = {
        name: {"plain": [], "smithed": [], "tta": [], "tta_choice": []}
        for name in PAPER
    }
    for name in PAPER:
        for seed in seeds:
            for variant in ("plain", "smithed"):
                result = train(
                    name, variant == "smithed", data, epochs[variant][name], seed
                )
                runs[name][variant].append(result["test"])
                if "tta" in result:
                    runs[name]["tta"].append(result["tta"])
                    runs[name]["tta_choice"].append(result["tta_choice"])
                print(
                    f"{name:>8} {variant:>7} seed {seed}: test {result['test']:.4f}"
                    + (
                        f", TTA ({result['tta_choice']}) {result['tta']:.4f}"
                        if "tta" in result
                        else ""
                    ),
                    flush=True,
                )
    table = {}
    for name, row in runs.items():
        table[name] = {"paper": PAPER[name]}
        for key, column in (("plain", "plain"), ("smithed", "smithed"), ("tta", "tta")):
            table[name][f"{key}_mean"] = float(np.mean(row[column]))
            table[name][f"{key}_std"] = float(np.std(row[column]))
        table[name]["tta_choices"] = row["tta_choice"]
    print(
        f"\n{'model':<10}{'paper':>8}{'plain Keras':>18}{'smithed':>18}{'smithed + TTA':>18}"
    )
    for name, row in table.items():
        cells = "".join(
            f"{100 * row[f'{key}_mean']:>11.1f} ± {100 * row[f'{key}_std']:<4.1f}"
            for key in ("plain", "smithed", "tta")
        )
        print(f"{name:<10}{100 * row['paper']:>7.0f}%{cells}")
    plot_table(table, output_path("mnist1d_table.png"))
    summary = {
        "table": table,
        "seeds": len(seeds),
        "epochs": epochs,
        "train_examples": len(data.y_train),
        "seconds": round(time.perf_counter() - start, 1),
    }
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
