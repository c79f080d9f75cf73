"""IRNN: a ReLU SimpleRNN with identity recurrent init vs a tanh RNN on the adding problem.

The seed notes: "Identity Initialization / Constraint (for RNNs): does not always
work unless constraint is enforced". In the adding problem (Hochreiter &
Schmidhuber 1997; Le et al. 2015) each sequence step carries a random value and
a marker; two steps are marked and the target is the sum of their values, so the
network must carry information across the whole sequence. Predicting the mean
(1.0) gives an MSE of 1/6 ~= 0.167; a model that beats it has learned the long
dependency. Compared: a tanh `SimpleRNN` (Keras defaults: Glorot input kernel,
orthogonal recurrent kernel), the IRNN (ReLU, `ScaledIdentity` recurrent kernel,
tiny input kernel), and the IRNN with its recurrent kernel kept at spectral norm
<= 1 by `SpectralNormBound`. Each model trains from 3 seeds (2 with --quick; the
seed fixes the initial weights and the shuffling; the data stay the same).

Run: python examples/irnn.py [--quick]
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
from _seeds import plot_band, seeds, spread

import keras_smithing
from keras_smithing.constraints import SpectralNormBound
from keras_smithing.initializers import ScaledIdentity

MEAN_PREDICTOR_MSE = 1.0 / 6.0


def adding_problem(num_sequences, length, seed):
    """Inputs `(n, length, 2)` (value, marker) and targets `(n, 1)`."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, (num_sequences, length))
    rows = np.arange(num_sequences)
    first = rng.integers(0, length // 2, num_sequences)
    second = rng.integers(length // 2, length, num_sequences)
    markers = np.zeros_like(values)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype("float32")
    y = (values[rows, first] + values[rows, second])[:, None].astype("float32")
    return x, y


def build_rnn(kind, length, units):
    """A one-layer recurrent regressor: "tanh", "IRNN" or "IRNN + spectral bound"."""
    if kind == "tanh":
        rnn = keras.layers.SimpleRNN(units, activation="tanh")
    else:
        rnn = keras.layers.SimpleRNN(
            units,
            activation="relu",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
            recurrent_initializer=ScaledIdentity(1.0),
            recurrent_constraint=SpectralNormBound(1.0) if "spectral" in kind else None,
        )
    return keras.Sequential([keras.Input((length, 2)), rnn, keras.layers.Dense(1)])


def plot_validation_mse(curves, path=None):
    """Validation MSE per epoch for each model (mean over seeds, min–max shaded),
    against the mean predictor. `curves` maps each model to its per-seed curves."""
    figure, axis = plt.subplots(figsize=(6, 3.8))
    for name, runs in curves.items():
        plot_band(axis, runs, name)
    axis.axhline(MEAN_PREDICTOR_MSE, color="gray", linestyle="--", label="predict 1.0")
    axis.set(xlabel="epoch", ylabel="validation MSE", yscale="log")
    axis.set_title(f"Adding problem ({len(next(iter(curves.values())))} seeds)")
    axis.legend()
    return finish_figure(figure, path)


def main(quick=False):
    length, num_train, units, epochs = (
        (30, 2000, 32, 4) if quick else (100, 10000, 64, 10)
    )
    x_train, y_train = adding_problem(num_train, length, seed=0)
    x_val, y_val = adding_problem(1000, length, seed=1)
    kinds = ("tanh", "IRNN", "IRNN + spectral bound")
    run_seeds = seeds(quick)
    curves = {kind: [] for kind in kinds}
    for seed in run_seeds:
        for kind in kinds:
            keras_smithing.set_seed(seed)
            model = build_rnn(kind, length, units)
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss="mse"
            )
            history = model.fit(
                x_train,
                y_train,
                validation_data=(x_val, y_val),
                epochs=epochs,
                batch_size=32,
                verbose=0,
            )
            curves[kind].append(history.history["val_loss"])
            print(
                f"seed {seed} {kind:>22}: validation MSE "
                f"{history.history['val_loss'][-1]:.4f} "
                f"(best {min(history.history['val_loss']):.4f})"
            )

    plot_validation_mse(curves, output_path("irnn.png"))
    summary = {
        "sequence_length": length,
        "epochs": epochs,
        "seeds": len(run_seeds),
        "mean_predictor_mse": round(MEAN_PREDICTOR_MSE, 4),
        "val_mse": {
            kind: spread([curve[-1] for curve in runs]) for kind, runs in curves.items()
        },
        "best_val_mse": {
            kind: spread([min(curve) for curve in runs])
            for kind, runs in curves.items()
        },
        "figure": "examples/output/irnn.png",
    }
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__)
