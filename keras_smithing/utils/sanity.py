"""The first sanity check of a new model: overfit a tiny dataset first."""

import dataclasses

import keras
import numpy as np

from keras_smithing.utils.validation import check_float, check_int, invalid_argument


@dataclasses.dataclass(frozen=True)
class OverfitReport:
    """What `overfit_tiny_batch` measured.

    Attributes:
        passed: Whether the final training loss reached `target`.
        initial_loss: Loss of the fresh copy before training.
        final_loss: Loss after `steps` full-batch updates.
        steps: Number of updates made.
        num_examples: Size of the tiny dataset.
        message: One sentence saying what happened and, on failure, what to check.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.utils import overfit_tiny_batch
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 3, 64)
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    >>> loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> optimizer = keras.optimizers.Adam(0.1)
    >>> report = overfit_tiny_batch(
    ...     model, x, y, num_examples=4, steps=20, optimizer=optimizer, loss=loss
    ... )
    >>> print(report.passed, report.final_loss < report.initial_loss, report.steps)
    True True 20
    >>> print(report.message)
    Training loss went from ... to ... <= 0.05 on 4 examples in 20 steps: ...
    """

    passed: bool
    initial_loss: float
    final_loss: float
    steps: int
    num_examples: int
    message: str


def overfit_tiny_batch(
    model,
    x,
    y,
    num_examples=16,
    steps=300,
    target=0.05,
    optimizer=None,
    loss=None,
    seed=0,
):
    """Trains a fresh copy of `model` on a handful of examples until it memorizes them.

    A model that cannot drive the training loss to ~0 on a few examples has a bug
    (wrong loss, labels misaligned, a frozen or disconnected layer, a far too small
    learning rate) that no amount of data will fix. The caller's model, weights and
    optimizer are not touched: the check trains `keras.models.clone_model(model)`.

    Args:
        model: A built Keras model. If compiled, its optimizer configuration and loss
            are reused unless `optimizer` / `loss` are given.
        x: Inputs (a NumPy array); the first `num_examples` rows are used.
        y: Targets, aligned with `x`.
        num_examples: How many examples to memorize.
        steps: Number of full-batch updates.
        target: Training loss below which the check passes.
        optimizer: Optimizer (name or instance) for the copy. Defaults to the model's
            compiled optimizer configuration, else Adam(1e-3).
        loss: Loss for the copy. Defaults to the model's compiled loss.
        seed: Seed for the copy's fresh initialization.

    Returns:
        An `OverfitReport`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.utils import overfit_tiny_batch
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 3, 64)
    >>> model = keras.Sequential([
    ...     keras.Input((8,)),
    ...     keras.layers.Dense(32, activation="relu"),
    ...     keras.layers.Dense(3, activation="softmax"),
    ... ])
    >>> model.compile(
    ...     optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy"
    ... )
    >>> print(overfit_tiny_batch(model, x, y, num_examples=8, steps=20).passed)
    True
    """
    num_examples = check_int("num_examples", num_examples, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    target = check_float("target", target, minimum=0.0)
    if loss is None:
        loss = getattr(model, "loss", None)
        if loss is None:
            raise invalid_argument(
                "loss", loss, "a loss, because `model` is not compiled"
            )
    if optimizer is None:
        compiled = getattr(model, "optimizer", None)
        optimizer = (
            keras.optimizers.deserialize(keras.optimizers.serialize(compiled))
            if compiled is not None
            else keras.optimizers.Adam(1e-3)
        )
    x_tiny, y_tiny = np.asarray(x)[:num_examples], np.asarray(y)[:num_examples]
    if len(x_tiny) < num_examples:
        raise invalid_argument(
            "num_examples", num_examples, f"at most len(x)={len(x_tiny)}"
        )
    keras.utils.set_random_seed(seed)
    copy = keras.models.clone_model(model)
    copy.compile(optimizer=optimizer, loss=loss)
    initial = float(copy.evaluate(x_tiny, y_tiny, verbose=0))
    copy.fit(
        x_tiny,
        y_tiny,
        batch_size=num_examples,
        epochs=steps,
        verbose=0,
        shuffle=False,
    )
    final = float(copy.evaluate(x_tiny, y_tiny, verbose=0))
    passed = bool(np.isfinite(final) and final <= target)
    if passed:
        message = (
            f"Training loss went from {initial:.4g} to {final:.4g} <= {target} on "
            f"{num_examples} examples in {steps} steps: the model can learn."
        )
    else:
        message = (
            f"Training loss only went from {initial:.4g} to {final:.4g} (target "
            f"{target}) on {num_examples} examples in {steps} steps. Check the "
            "loss/label pairing, the output activation, frozen layers and the "
            "learning rate before training on the full data."
        )
    return OverfitReport(passed, initial, final, steps, num_examples, message)
