"""One-cycle learning rate vs a constant rate and step decay, on digits.

The same MLP is trained with SGD (momentum 0.9) for the same number of epochs:
- constant: the learning rate the range test suggests (steepest loss descent);
- step decay: that rate, divided by 10 after half and after three quarters of the
  epochs (the classic piecewise schedule);
- one-cycle (Smith, 2018): `OneCycle` peaking at the range test's
  `one_cycle_max_lr` (a tenth of the rate at the loss minimum), rising over the
  first 30% of the steps and annealing far below the start by the end.
The range test runs once (seed 0) and fixes the three schedules; each schedule then
trains from 3 seeds (2 with --quick; the seed fixes the initial weights and the
shuffling). We report, per schedule and seed, the epochs needed to reach the target
validation accuracy and the final validation accuracy, and plot the learning rate
per step and the validation accuracy per epoch (mean over seeds, min–max shaded).

Run: python examples/one_cycle.py [--quick]
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
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
from keras_smithing.datasets import load_digits

TARGET = 0.97
BATCH_SIZE = 32


def build_model(num_features, num_classes, seed=0):
    keras_smithing.set_seed(seed)
    return keras.Sequential(
        [
            keras.Input((num_features,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )


def schedules_for(finder, epochs, steps_per_epoch):
    """`{name: learning rate or schedule}` of the three runs."""
    total = epochs * steps_per_epoch
    rate = finder.suggested_lr
    step_decay = keras.optimizers.schedules.PiecewiseConstantDecay(
        [total // 2, 3 * total // 4], [rate, rate / 10, rate / 100]
    )
    return {
        "constant": rate,
        "step decay": step_decay,
        "one-cycle": finder.one_cycle(total),
    }


def plot_runs(schedules, histories, total_steps, path=None):
    """Learning rate per step (left) and validation accuracy per epoch (right).

    `histories` maps each schedule to its per-seed `History.history` dicts.
    """
    figure, (rate_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    steps = np.arange(total_steps)
    for name, schedule in schedules.items():
        rates = (
            [float(schedule(step)) for step in steps]
            if callable(schedule)
            else np.full(total_steps, schedule)
        )
        rate_axis.plot(steps, rates, label=name)
        curves = [history["val_accuracy"] for history in histories[name]]
        plot_band(accuracy_axis, curves, name, marker=".")
    rate_axis.set(xlabel="step", ylabel="learning rate", yscale="log")
    rate_axis.set_title("Schedules (from the LR range test)")
    accuracy_axis.axhline(TARGET, color="gray", linestyle=":", label=f"target {TARGET}")
    accuracy_axis.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.8, 1))
    seed_count = len(next(iter(histories.values())))
    accuracy_axis.set_title(f"Validation accuracy, {seed_count} seeds (min–max)")
    rate_axis.legend()
    accuracy_axis.legend()
    return finish_figure(figure, path)


def main(quick: bool = False) -> dict:
    data = load_digits()
    epochs = 6 if quick else 20
    steps_per_epoch = int(np.ceil(len(data.x_train) / BATCH_SIZE))
    probe = build_model(data.x_train.shape[1], data.num_classes)
    probe.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss="sparse_categorical_crossentropy",
    )
    finder = keras_smithing.find_learning_rate(
        probe,
        data.x_train,
        data.y_train,
        min_lr=1e-5,
        max_lr=10.0,
        num_steps=100 if quick else 200,
        batch_size=BATCH_SIZE,
        seed=0,
    )
    print(
        f"range test: suggested lr {finder.suggested_lr:.3g}, one-cycle max "
        f"{finder.one_cycle_max_lr:.3g}"
    )
    schedules = schedules_for(finder, epochs, steps_per_epoch)
    run_seeds = seeds(quick)
    histories = {name: [] for name in schedules}
    for seed in run_seeds:
        for name, schedule in schedules.items():
            history = fit_classifier(
                build_model(data.x_train.shape[1], data.num_classes, seed),
                keras.optimizers.SGD(schedule, momentum=0.9),
                data.x_train,
                data.y_train,
                validation_data=(data.x_val, data.y_val),
                epochs=epochs,
                batch_size=BATCH_SIZE,
            )
            histories[name].append(history.history)
            print(
                f"seed {seed} {name:>10}: val accuracy "
                + " ".join(f"{a:.3f}" for a in history.history["val_accuracy"])
            )
    plot_runs(
        schedules, histories, epochs * steps_per_epoch, output_path("one_cycle.png")
    )
    result = {
        "epochs": epochs,
        "seeds": len(run_seeds),
        "suggested_lr": finder.suggested_lr,
        "one_cycle_max_lr": finder.one_cycle_max_lr,
        "target_val_accuracy": TARGET,
        # Per seed; None where that seed never reaches the target.
        "epochs_to_target": {
            name: [epochs_to(h["val_accuracy"], TARGET) for h in runs]
            for name, runs in histories.items()
        },
        "final_val_accuracy": {
            name: spread([h["val_accuracy"][-1] for h in runs])
            for name, runs in histories.items()
        },
        "figure": "examples/output/one_cycle.png",
    }
    print_summary(result)
    return result


if __name__ == "__main__":
    run_main(main, __doc__, quick_help="shorter range test and runs")
