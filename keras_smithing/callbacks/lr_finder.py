"""Learning-rate range test (Smith, 2017): the LR finder."""

import dataclasses
import math
import warnings

import keras
import numpy as np

from keras_smithing.optimizers.schedules import OneCycle
from keras_smithing.utils.compat import learning_rate_schedule
from keras_smithing.utils.validation import (
    check_array_structure,
    check_float,
    check_int,
    invalid_argument,
    is_dataset,
)


@dataclasses.dataclass
class LRFinderResult:
    """The curve of a learning-rate range test.

    Attributes:
        learning_rates: Learning rate of each step taken (increasing).
        losses: Training loss of each step's batch.
        smoothed_losses: Bias-corrected exponential moving average of `losses`.
        suggested_lr: The learning rate where the smoothed loss falls fastest
            (steepest negative slope against log learning rate, measured over
            `warmup_steps` steps, before the smoothed minimum); NaN when too
            few steps were recorded.
        diverged: Whether the test stopped early on divergence.
        warmup_steps: The moving average's warm-up (`num_steps // 20`, at
            least 1): the smoothed minimum is sought after it, so that one
            lucky first batch cannot stand for the whole curve.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import LRFinderResult, find_learning_rate
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(256, 8))
    >>> y = np.argmax(x @ rng.normal(size=(8, 3)), axis=1)  # Learnable labels.
    >>> model = keras.Sequential(
    ...     [keras.Input((8,)), keras.layers.Dense(3, activation="softmax")]
    ... )
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> result = find_learning_rate(model, x, y, num_steps=60, seed=0)
    >>> isinstance(result, LRFinderResult)
    True
    >>> len(result.losses) == len(result.learning_rates) == len(result.smoothed_losses)
    True
    >>> schedule = result.one_cycle(total_steps=80)  # A OneCycle for 10 epochs.
    >>> schedule.max_learning_rate == result.one_cycle_max_lr
    True
    >>> model.compile(
    ...     optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9),
    ...     loss="sparse_categorical_crossentropy",
    ... )
    >>> _ = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggested_lr: float
    diverged: bool
    warmup_steps: int = 0

    @property
    def one_cycle_max_lr(self):
        """The peak learning rate this test suggests for a one-cycle schedule.

        A tenth of the learning rate at the smoothed-loss minimum after the
        warm-up (fastai's `lr_min` rule): the largest rate that still trains
        well, lowered by the margin Smith's range-test advice leaves below
        divergence. The whole curve counts when it ended within the warm-up.
        NaN when nothing finite was recorded.
        """
        smoothed = self.smoothed_losses
        warmup = self.warmup_steps if len(smoothed) > self.warmup_steps else 0
        best = _minimum_after_warmup(smoothed, warmup)
        if best is None:
            return math.nan
        return float(self.learning_rates[best]) / 10.0

    def one_cycle(
        self,
        total_steps,
        warmup_fraction=0.3,
        div_factor=25.0,
        final_div_factor=1e4,
        name="OneCycle",
    ):
        """A `OneCycle` schedule peaking at `one_cycle_max_lr`.

        Args:
            total_steps: Integer >= 1, the optimizer steps of the training run.
            warmup_fraction: Float in (0, 1), the fraction of `total_steps` spent
                rising.
            div_factor: Float >= 1; the initial learning rate is the peak divided
                by it.
            final_div_factor: Float > 0; the final learning rate is the initial
                one divided by it.
            name: Optional name of the schedule.

        Returns:
            A `keras_smithing.optimizers.schedules.OneCycle`.
        """
        return OneCycle(
            self.one_cycle_max_lr,
            total_steps,
            warmup_fraction=warmup_fraction,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            name=name,
        )

    def plot(self, path=None):
        """Plots the curve; see `plot_lr_finder`."""
        return plot_lr_finder(self, path)


def plot_lr_finder(result, path=None):
    """Plots loss against learning rate (log axis) and marks the suggestion.

    Args:
        result: An `LRFinderResult`.
        path: Optional file path; the figure is saved there when given.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import find_learning_rate, plot_lr_finder
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(256, 8))
    >>> y = np.argmax(x @ rng.normal(size=(8, 3)), axis=1)  # Learnable labels.
    >>> model = keras.Sequential(
    ...     [keras.Input((8,)), keras.layers.Dense(3, activation="softmax")]
    ... )
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> result = find_learning_rate(model, x, y, num_steps=60, seed=0)
    >>> figure = plot_lr_finder(result, "lr_finder.png")  # Or result.plot(...).
    >>> len(figure.axes)
    1
    """
    if not isinstance(result, LRFinderResult):
        raise invalid_argument(
            "result", result, "an LRFinderResult, as find_learning_rate returns"
        )
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    axes.plot(result.learning_rates, result.losses, alpha=0.3, label="batch loss")
    axes.plot(result.learning_rates, result.smoothed_losses, label="smoothed loss")
    if math.isfinite(result.suggested_lr):
        axes.axvline(
            result.suggested_lr,
            color="tab:red",
            linestyle="--",
            label=f"suggested {result.suggested_lr:.2g}",
        )
    axes.set_xscale("log")
    finite = result.smoothed_losses[np.isfinite(result.smoothed_losses)]
    if finite.size:
        low, high = finite.min(), finite[0]
        axes.set_ylim(
            low - 0.1 * (high - low + 1e-12), high + 0.5 * (high - low + 1e-12)
        )
    axes.set_xlabel("learning rate")
    axes.set_ylabel("training loss")
    axes.set_title("Learning-rate range test")
    axes.legend()
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def _batches(x, y, batch_size, seed):
    """Endless shuffled `(x, y)` batches of arrays, or the batches of a dataset."""
    if y is None and not hasattr(x, "shape"):
        while True:
            empty = True
            for batch in x:
                empty = False
                # NumPy, so that any backend takes tf.data (or other) tensors.
                yield keras.tree.map_structure(np.asarray, (batch[0], batch[1]))
            if empty:
                raise invalid_argument("x", x, "a non-empty dataset of (x, y) batches")
    rng = np.random.default_rng(seed)
    count = len(keras.tree.flatten(x)[0])
    size = min(batch_size, count)
    while True:
        order = rng.permutation(count)
        for start in range(0, count - size + 1, size):
            index = order[start : start + size]
            yield (
                keras.tree.map_structure(lambda a, i=index: a[i], x),
                keras.tree.map_structure(lambda a, i=index: a[i], y),
            )


def _schedule_classes(optimizer):
    """`{registered name: class}` of the schedules in `optimizer` and its wrappees.

    The compile config holds them serialized; a user's schedule need not be
    registered (`fit` never deserializes it), so its class is passed explicitly.
    """
    classes = {}
    while optimizer is not None:
        schedule = learning_rate_schedule(optimizer)
        while isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            classes[keras.saving.get_registered_name(type(schedule))] = type(schedule)
            schedule = getattr(schedule, "schedule", None)  # A ScaledSchedule's.
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return classes


def _copy(model):
    """A compiled copy of `model` with its weights and a fresh optimizer."""
    # A fresh optimizer of the same kind (its state is not copied), rebuilt from
    # the compile config (by clone_model too, for a compiled model).
    with keras.saving.custom_object_scope(_schedule_classes(model.optimizer)):
        clone = keras.models.clone_model(model)
        clone.compile_from_config(model.get_compile_config())
    clone.set_weights(model.get_weights())
    return clone


def _minimum_after_warmup(smoothed, warmup):
    """Index of the smallest finite smoothed loss from step `warmup` on, or None."""
    after = np.where(np.isfinite(smoothed), smoothed, np.inf)[warmup:]
    if not np.isfinite(after).any():
        return None
    return warmup + int(np.argmin(after))


def _steepest_descent(learning_rates, smoothed, window):
    """Learning rate where the smoothed loss falls fastest per unit of log LR.

    Slopes are secants over `window` steps (batch noise averages out), from the
    point after the first window (the moving average's warm-up) up to the
    smoothed minimum after that warm-up (a lucky first batch must not end the
    search at step 0); the suggestion is the middle of the steepest secant.
    """
    last = _minimum_after_warmup(smoothed, window)
    if last is None:
        return math.nan
    starts = np.arange(window, last - window + 1)
    if starts.size == 0:
        return math.nan
    log_lr = np.log(learning_rates)
    slopes = (smoothed[starts + window] - smoothed[starts]) / (
        log_lr[starts + window] - log_lr[starts]
    )
    return float(learning_rates[starts[int(np.argmin(slopes))] + window // 2])


def find_learning_rate(
    model,
    x,
    y=None,
    min_lr=1e-7,
    max_lr=10.0,
    num_steps=100,
    batch_size=32,
    smoothing=0.98,
    divergence_threshold=4.0,
    seed=None,
):
    """Learning-rate range test: sweeps the LR exponentially and records the loss.

    Trains a copy of `model` (same architecture and weights, a fresh optimizer of
    the same kind built from the model's compile config; the user's unregistered
    learning-rate schedules are fine) for `num_steps` batches
    while the learning rate grows from `min_lr` to `max_lr` geometrically, and
    records each batch's loss. The sweep stops early once the loss is not finite
    or the smoothed loss exceeds `divergence_threshold` times its minimum. The
    caller's model, weights and optimizer state are left untouched. The suggested
    learning rate is where the smoothed loss falls fastest; a common choice for
    training is that value, or a tenth of the LR at the loss minimum.

    Args:
        model: A compiled Keras model (Functional or Sequential; subclassed models
            must support `keras.models.clone_model`).
        x: Input arrays, or, with `y=None`, a re-iterable dataset of `(x, y)`
            batches (e.g. a `tf.data.Dataset`).
        y: Target arrays, or None with a dataset.
        min_lr: Float > 0, the first learning rate.
        max_lr: Float > `min_lr`, the learning rate of the last step.
        num_steps: Integer >= 3, the number of steps of the full sweep.
        batch_size: Integer >= 1, batch size for arrays.
        smoothing: Float in [0, 1), the moving-average coefficient of the
            smoothed loss (bias-corrected).
        divergence_threshold: Float > 1; stop once the smoothed loss exceeds this
            multiple of its minimum.
        seed: Integer or None, seed of the batch shuffling.

    Returns:
        An `LRFinderResult` (curve, suggestion, `plot(path)`).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import find_learning_rate
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(256, 8))
    >>> y = np.argmax(x @ rng.normal(size=(8, 3)), axis=1)  # Learnable labels.
    >>> model = keras.Sequential(
    ...     [keras.Input((8,)), keras.layers.Dense(3, activation="softmax")]
    ... )
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> result = find_learning_rate(model, x, y, num_steps=60, seed=0)
    >>> bool(1e-7 < result.suggested_lr < 10.0)
    True
    >>> model.optimizer.learning_rate = result.suggested_lr  # The model is untouched.
    >>> history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    >>> bool(history.history["loss"][-1] < history.history["loss"][0])
    True

    Reference:
        Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
    """
    if not isinstance(model, keras.Model) or not getattr(model, "compiled", False):
        raise invalid_argument("model", model, "a compiled keras.Model")
    if not is_dataset(x):
        x = check_array_structure("x", x)
        if y is not None:
            y = check_array_structure("y", y)
    min_lr = check_float("min_lr", min_lr, minimum=0.0)
    max_lr = check_float("max_lr", max_lr, minimum=0.0)
    if min_lr >= max_lr:
        raise invalid_argument("min_lr", min_lr, f"a float below max_lr={max_lr}")
    num_steps = check_int("num_steps", num_steps, minimum=3)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    smoothing = check_float("smoothing", smoothing, 0.0, 1.0, strict=(False, True))
    divergence_threshold = check_float(
        "divergence_threshold", divergence_threshold, minimum=1.0
    )
    clone = _copy(model)
    clone.optimizer.learning_rate = keras.optimizers.schedules.ExponentialDecay(
        min_lr, decay_steps=num_steps - 1, decay_rate=max_lr / min_lr
    )
    learning_rates, losses, smoothed = [], [], []
    average, diverged = 0.0, False
    batches = _batches(x, y, batch_size, seed)
    for step in range(num_steps):
        batch_x, batch_y = next(batches)
        rate = float(keras.ops.convert_to_numpy(clone.optimizer.learning_rate))
        loss = float(clone.train_on_batch(batch_x, batch_y, return_dict=True)["loss"])
        average = smoothing * average + (1.0 - smoothing) * loss
        learning_rates.append(rate)
        losses.append(loss)
        smoothed.append(average / (1.0 - smoothing ** (step + 1)))
        if not math.isfinite(smoothed[-1]) or (
            smoothed[-1] > divergence_threshold * min(smoothed)
        ):
            diverged = True
            break
    learning_rates, smoothed = np.array(learning_rates), np.array(smoothed)
    warmup = max(1, num_steps // 20)
    suggested = _steepest_descent(learning_rates, smoothed, warmup)
    if math.isnan(suggested):
        warnings.warn(
            "find_learning_rate: the loss did not decrease over the first steps; "
            "no suggestion. Lower `min_lr` or check the model.",
            stacklevel=2,
        )
    return LRFinderResult(
        learning_rates, np.array(losses), smoothed, suggested, diverged, warmup
    )
