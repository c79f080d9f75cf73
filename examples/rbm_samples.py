"""An RBM trained on digits: its filters and its Gibbs samples, as image grids.

Trains `keras_smithing.pretraining.RBM` (PCD, Bernoulli visibles) on the 8x8 digits
with ordinary `compile` + `fit`, then draws (1) the weights of hidden units as 8x8
filters and (2) Gibbs chains started at test digits, after 0, 1, 10, 100 and 1000
steps: the samples drift from the starting digit to other digit-like images.
"""

import time

import keras
import matplotlib.pyplot as plt
import numpy as np
from _common import output_path, print_summary, run_main

from keras_smithing.datasets import load_digits
from keras_smithing.pretraining import RBM


def plot_filters(kernel, columns=10, path=None):
    """Hidden units' weights as 8x8 images, one per unit.

    Args:
        kernel: Array `(64, units)`.
        columns: Images per row.
        path: Where to save the PNG, or None.

    Returns:
        The Figure.
    """
    units = kernel.shape[1]
    rows = int(np.ceil(units / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns, rows))
    for index, axis in enumerate(np.ravel(axes)):
        axis.axis("off")
        if index < units:
            image = kernel[:, index].reshape(8, 8)
            limit = np.abs(image).max()
            axis.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
    figure.suptitle("RBM filters (weights of hidden units; red +, blue -)")
    if path:
        figure.savefig(path, dpi=100, bbox_inches="tight")
    return figure


def plot_chains(chains, steps, path=None):
    """Gibbs chains: one row per chain, one column per number of steps.

    Args:
        chains: Array `(num_chains, len(steps), 64)` of visible means.
        steps: The step counts of the columns.
        path: Where to save the PNG, or None.

    Returns:
        The Figure.
    """
    rows, columns = chains.shape[:2]
    figure, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.2 * rows))
    for row in range(rows):
        for column in range(columns):
            axis = axes[row, column]
            axis.imshow(
                chains[row, column].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1
            )
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(f"{steps[column]} steps", fontsize=8)
    figure.suptitle("Gibbs sampling from test digits")
    if path:
        figure.savefig(path, dpi=100, bbox_inches="tight")
    return figure


def main(quick: bool = False) -> dict:
    keras.utils.set_random_seed(0)
    (x_train, _), (x_val, _), (x_test, _) = load_digits(seed=0)
    epochs = 20 if quick else 100
    rbm = RBM(100, persistent=True, num_chains=50, weight_decay=1e-4, seed=0)
    rbm.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
        steps_per_execution=len(x_train) // 50,
    )
    start = time.perf_counter()
    history = rbm.fit(
        x_train, epochs=epochs, batch_size=50, validation_data=x_val, verbose=0
    )
    seconds = time.perf_counter() - start

    kernel = keras.ops.convert_to_numpy(rbm.hidden.kernel)
    plot_filters(kernel[:, :50], path=output_path("rbm_filters.png"))
    steps = [0, 1, 10, 100] if quick else [0, 1, 10, 100, 1000]
    start_images = x_test[:8]
    columns = [start_images]
    for count in steps[1:]:
        columns.append(rbm.gibbs(start_images, steps=count, mean=True))
    plot_chains(np.stack(columns, axis=1), steps, path=output_path("rbm_gibbs.png"))

    logs = history.history
    results = {
        "epochs": epochs,
        "train_seconds": seconds,
        "reconstruction_error": logs["reconstruction_error"][-1],
        "pseudo_log_likelihood": logs["pseudo_log_likelihood"][-1],
        "val_pseudo_log_likelihood": logs["val_pseudo_log_likelihood"][-1],
        "free_energy_gap_val_minus_train": logs["val_free_energy"][-1]
        - float(np.mean(rbm.free_energy(x_train))),
    }
    for name, value in results.items():
        print(
            f"{name}: {value:.4g}" if isinstance(value, float) else f"{name}: {value}"
        )
    print_summary(results)
    return results


if __name__ == "__main__":
    run_main(main, __doc__)
