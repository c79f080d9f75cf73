"""Plumbing shared by the example scripts (not an example itself).

Each example imports it as a sibling module (`from _common import ...`), which works
for `python examples/X.py` from any directory. The helpers save figures under
`examples/output/`, compile and fit the examples' integer-label classifiers, plot
their training curves, print the final JSON line that `tools/evidence.py` reads,
and parse the `--quick` flag. Importing it changes no global setting: matplotlib
picks its non-interactive Agg backend by itself on a headless machine, and the
examples only save figures.
"""

import argparse
import json
import pathlib

import matplotlib.pyplot as plt

OUTPUT = pathlib.Path(__file__).resolve().parent / "output"


def output_path(name):
    """The path `examples/output/<name>`, creating the folder if needed.

    Args:
        name: File name inside `examples/output/`.

    Returns:
        A `pathlib.Path`.
    """
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT / name


def finish_figure(figure, path=None):
    """Tightens a figure's layout and saves it as a 120-dpi PNG.

    Args:
        figure: A matplotlib Figure.
        path: Where to save it, or None to only return it.

    Returns:
        The Figure.
    """
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def fit_classifier(
    model, optimizer, x, y, *, epochs, batch_size, validation_data=None, callbacks=()
):
    """Compiles a softmax classifier for integer labels and fits it silently.

    The loss is sparse categorical cross-entropy and accuracy is tracked, so the
    History holds `loss` and `accuracy` (plus `val_loss` and `val_accuracy` when
    `validation_data` is given).

    Args:
        model: An uncompiled `keras.Model` ending in a softmax.
        optimizer: A `keras.optimizers.Optimizer`.
        x: Training inputs.
        y: Integer training labels.
        epochs: Number of epochs.
        batch_size: Batch size.
        validation_data: Optional `(x_val, y_val)`, evaluated after every epoch.
        callbacks: Keras callbacks.

    Returns:
        The `keras.callbacks.History` of `model.fit`.
    """
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model.fit(
        x,
        y,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=list(callbacks),
        verbose=0,
    )


def plot_loss_and_accuracy(histories, styles=None):
    """Training loss (left) and validation accuracy (right) per epoch, one line per run.

    Args:
        histories: `{label: history}`, each history a dict (`History.history`)
            with "loss" and "val_accuracy" lists.
        styles: Optional `{label: matplotlib line style}`; solid by default.

    Returns:
        `(figure, loss_axis, accuracy_axis)`, for the caller to add scales,
        legends and titles before `finish_figure`.
    """
    styles = styles or {}
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, history in histories.items():
        epochs = range(1, len(history["loss"]) + 1)
        style = styles.get(label, "-")
        loss_axis.plot(epochs, history["loss"], style, label=label)
        accuracy_axis.plot(epochs, history["val_accuracy"], style, label=label)
    loss_axis.set(xlabel="epoch", ylabel="training loss")
    accuracy_axis.set(xlabel="epoch", ylabel="validation accuracy")
    return figure, loss_axis, accuracy_axis


def epochs_to(accuracies, target):
    """First epoch (1-based) whose accuracy reaches `target`, or None."""
    return next((i + 1 for i, a in enumerate(accuracies) if a >= target), None)


def convergence_summary(histories, target):
    """Epochs to `target` validation accuracy and final accuracy, per run.

    Args:
        histories: `{label: history}`, each a dict with a "val_accuracy" list.
        target: The validation accuracy to reach.

    Returns:
        A dict with "target_val_accuracy", "epochs_to_target" (`{label: epoch or
        None}`) and "final_val_accuracy" (`{label: accuracy}`).
    """
    return {
        "target_val_accuracy": target,
        "epochs_to_target": {
            name: epochs_to(h["val_accuracy"], target) for name, h in histories.items()
        },
        "final_val_accuracy": {
            name: round(float(h["val_accuracy"][-1]), 4)
            for name, h in histories.items()
        },
    }


def print_summary(summary):
    """Prints an example's results as its last stdout line, one JSON object.

    Args:
        summary: A JSON-serializable dict.
    """
    print(json.dumps(summary))


def run_main(main, doc, quick_help=None):
    """Parses the command line (`--quick`) and calls `main(quick=...)`.

    Args:
        main: The example's `main(quick=False)`.
        doc: The example's module docstring, shown by `--help`.
        quick_help: Optional help text of the `--quick` flag.
    """
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    main(quick=parser.parse_args().quick)
