"""Learning-rate range test on digits, then training at the suggested learning rate.

The seed notes call the learning rate the most important hyperparameter. The LR
finder (Smith, 2017) sweeps it exponentially over a few hundred steps on a copy of
the model and suggests the rate where the loss falls fastest. The same MLP is then
trained with plain SGD at the suggestion, at a hundredth of it (too small: slow)
and near the divergence edge found by the sweep (too large: unstable). The sweep
runs once (seed 0); each rate then trains from 3 seeds (2 with --quick; the seed
fixes the initial weights and the shuffling), so the effect of the rate can be set
against the seed-to-seed spread.

Run: python examples/lr_finder.py [--quick]
"""

import keras
import matplotlib.pyplot as plt
from _common import finish_figure, output_path, print_summary, run_main
from _seeds import plot_band, seeds, spread

import keras_smithing
from keras_smithing.datasets import load_digits


def build_model(learning_rate=0.01, seed=0):
    keras_smithing.set_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def plot_runs(rates, curves, path=None):
    """Validation accuracy per epoch at each rate: mean over seeds, min–max shaded."""
    figure, axis = plt.subplots(figsize=(6, 3.8))
    for label, rate in rates.items():
        plot_band(axis, curves[label], f"{label} (lr {rate:.2g})", marker=".")
    axis.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1))
    axis.set_title(
        f"MLP on digits, SGD + momentum ({len(next(iter(curves.values())))} seeds)"
    )
    axis.legend()
    return finish_figure(figure, path)


def main(quick: bool = False) -> dict:
    data = load_digits()
    epochs = 5 if quick else 30
    result = keras_smithing.find_learning_rate(
        build_model(),
        data.x_train,
        data.y_train,
        min_lr=1e-5,
        max_lr=10.0,
        num_steps=100 if quick else 300,
        seed=0,
    )
    result.plot(output_path("lr_finder.png"))
    suggested = result.suggested_lr
    edge = float(result.learning_rates[-1])  # Where the sweep diverged (or ended).
    print(f"suggested lr {suggested:.3g}; sweep stopped at {edge:.3g}")
    rates = {"too small": suggested / 100, "suggested": suggested, "too large": edge}
    run_seeds = seeds(quick)
    summary = {
        "suggested_lr": suggested,
        "divergence_lr": edge,
        "epochs": epochs,
        "seeds": len(run_seeds),
    }
    curves = {label: [] for label in rates}
    losses = {label: [] for label in rates}
    for seed in run_seeds:
        for label, rate in rates.items():
            model = build_model(rate, seed)
            history = model.fit(
                data.x_train,
                data.y_train,
                validation_data=(data.x_val, data.y_val),
                epochs=epochs,
                batch_size=32,
                verbose=0,
            )
            curves[label].append(history.history["val_accuracy"])
            losses[label].append(float(history.history["loss"][-1]))
            print(
                f"seed {seed} {label:9s} lr={rate:.3g}: train loss "
                f"{losses[label][-1]:.4g}, val accuracy {curves[label][-1][-1]:.3f}"
            )
    for label, rate in rates.items():
        summary[label] = {
            "lr": rate,
            "train_loss": spread(losses[label]),
            "val_accuracy": spread([curve[-1] for curve in curves[label]]),
        }
    plot_runs(rates, curves, output_path("lr_finder_runs.png"))
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__, quick_help="shorter sweep and runs")
