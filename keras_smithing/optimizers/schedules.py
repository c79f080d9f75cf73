"""Learning-rate schedules: one-cycle, cyclical, and a rescalable wrapper.

Keras's own schedules (`CosineDecay`, `ExponentialDecay`, ...) are re-exported
here, so `keras_smithing.optimizers.schedules` is a superset of
`keras.optimizers.schedules`.
"""

import math

import keras
from keras import ops
from keras.optimizers.schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
    deserialize,
    serialize,
)

from keras_smithing.utils.validation import (
    check_float,
    check_int,
    check_one_of,
    invalid_argument,
)

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "CyclicalLearningRate",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "OneCycle",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "ScaledSchedule",
    "deserialize",
    "serialize",
]


def _check_maximum(name, maximum, minimum_name, minimum):
    if maximum < minimum:
        raise invalid_argument(name, maximum, f"a float >= {minimum_name}={minimum}")
    return maximum


def _cosine_interpolation(start, end, fraction):
    """`start` at `fraction=0` to `end` at `fraction=1` along half a cosine."""
    return end + (start - end) * 0.5 * (1.0 + ops.cos(math.pi * fraction))


@keras.saving.register_keras_serializable(package="keras_smithing")
class OneCycle(LearningRateSchedule):
    """The one-cycle policy: one rise to `max_learning_rate` and one long fall.

    The learning rate starts at `max_learning_rate / div_factor`, rises to
    `max_learning_rate` at step `warmup_fraction * total_steps`, then falls to
    `max_learning_rate / div_factor / final_div_factor` at step `total_steps` and
    stays there. Both phases follow half a cosine (the default
    `anneal_strategy="cos"` of PyTorch's `OneCycleLR` and fastai's
    `fit_one_cycle`; Smith's paper uses straight lines). The defaults are
    PyTorch's and fastai's. PyTorch reaches each point one step earlier (its peak
    is at step `warmup_fraction * total_steps - 1`).

    Smith also cycles the momentum inversely (0.95 -> 0.85 -> 0.95). This schedule
    does not, and Keras optimizers keep `momentum` (SGD) and `beta_1` (Adam) fixed
    during `fit`: use a fixed momentum of about 0.9 (Smith reports most of the
    gain comes from the learning-rate cycle).

    Args:
        max_learning_rate: Float > 0, the peak learning rate (for instance
            `find_learning_rate(...).one_cycle_max_lr`).
        total_steps: Integer >= 1, the number of optimizer steps of the cycle
            (epochs times steps per epoch).
        warmup_fraction: Float in (0, 1), the fraction of `total_steps` spent
            rising.
        div_factor: Float >= 1; the initial learning rate is
            `max_learning_rate / div_factor`.
        final_div_factor: Float > 0; the final learning rate is the initial one
            divided by it.
        name: Optional name of the schedule.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.optimizers.schedules import OneCycle
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(80, 8)), rng.integers(0, 3, size=80)
    >>> model = keras.Sequential(
    ...     [keras.Input((8,)), keras.layers.Dense(3, activation="softmax")]
    ... )
    >>> epochs, steps_per_epoch = 2, 5  # 80 examples in batches of 16.
    >>> schedule = OneCycle(max_learning_rate=0.1, total_steps=epochs * steps_per_epoch)
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    >>> model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    >>> _ = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    >>> [round(float(schedule(step)), 4) for step in (0, 3, 6, 10)]  # Peak at 3.
    [0.004, 0.1, 0.0611, 0.0]
    >>> round(float(optimizer.learning_rate), 4)  # At the end of the cycle.
    0.0

    Reference:
        Smith, "A disciplined approach to neural network hyper-parameters: Part 1 --
        learning rate, batch size, momentum, and weight decay", arXiv:1803.09820,
        2018. Smith and Topin, "Super-Convergence: Very Fast Training of Neural
        Networks Using Large Learning Rates", arXiv:1708.07120, 2017.
    """

    def __init__(
        self,
        max_learning_rate,
        total_steps,
        warmup_fraction=0.3,
        div_factor=25.0,
        final_div_factor=1e4,
        name="OneCycle",
    ):
        self.max_learning_rate = check_float(
            "max_learning_rate", max_learning_rate, minimum=0.0
        )
        self.total_steps = check_int("total_steps", total_steps, minimum=1)
        self.warmup_fraction = check_float(
            "warmup_fraction", warmup_fraction, minimum=0.0, maximum=1.0
        )
        self.div_factor = check_float(
            "div_factor", div_factor, minimum=1.0, strict=False
        )
        self.final_div_factor = check_float(
            "final_div_factor", final_div_factor, minimum=0.0
        )
        self.name = name

    # No momentum cycle: Keras optimizers hold `momentum` (SGD) and `beta_1`
    # (Adam) as Python floats that a compiled train step reads once, when it is
    # traced, so changing them during `fit` would need a new trace every step;
    # Adam's bias correction `1 - beta_1**t` also assumes a constant `beta_1`.

    def __call__(self, step):
        initial = self.max_learning_rate / self.div_factor
        final = initial / self.final_div_factor
        warmup = self.warmup_fraction * self.total_steps
        step = ops.minimum(ops.cast(step, "float32"), float(self.total_steps))
        rising = _cosine_interpolation(
            initial, self.max_learning_rate, ops.minimum(step / warmup, 1.0)
        )
        falling = _cosine_interpolation(
            self.max_learning_rate,
            final,
            ops.maximum(step - warmup, 0.0) / (self.total_steps - warmup),
        )
        return ops.where(step < warmup, rising, falling)

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="keras_smithing")
class CyclicalLearningRate(LearningRateSchedule):
    """Cyclical learning rates: triangle waves between two bounds.

    Each cycle lasts `2 * step_size` steps: the learning rate climbs linearly from
    `initial_learning_rate` to `maximal_learning_rate` in `step_size` steps and
    back down in as many. With `cycle = floor(1 + step / (2 * step_size))` and
    `x = |step / step_size - 2 * cycle + 1|`:

    `lr = initial + (maximal - initial) * max(0, 1 - x) * scale`

    where `scale` is 1 (`"triangular"`), `1 / 2**(cycle - 1)` (`"triangular2"`,
    the amplitude halves every cycle) or `gamma**step` (`"exp_range"`). This is
    the formula of the paper, of TensorFlow Addons' `CyclicalLearningRate` and of
    PyTorch's `CyclicLR` (with `step_size_up == step_size_down`). The momentum is
    not cycled (PyTorch's `cycle_momentum`): Keras optimizers keep it fixed
    during `fit`, as `OneCycle` explains.

    `scale_mode` picks what the scale is a function of, as in tfa and PyTorch:
    `"cycle"` (the cycle number above) or `"iterations"` (the step). By default
    each mode keeps its formula above, which are tfa's defaults (`"cycle"` for
    `TriangularCyclicalLearningRate` and `Triangular2CyclicalLearningRate`,
    `"iterations"` for `ExponentialCyclicalLearningRate`). `"iterations"` with
    `"triangular2"` halves the amplitude every step; `"cycle"` with
    `"exp_range"` scales it by `gamma**cycle`.

    Args:
        initial_learning_rate: Float > 0, the lower bound.
        maximal_learning_rate: Float >= `initial_learning_rate`, the upper bound.
        step_size: Integer >= 1, steps of a half cycle (the paper suggests 2 to 10
            times the steps of an epoch).
        mode: `"triangular"`, `"triangular2"` or `"exp_range"`.
        gamma: Float in (0, 1], the per-step decay of the amplitude in
            `"exp_range"` mode (ignored otherwise).
        scale_mode: `"cycle"`, `"iterations"` or None (the mode's default:
            `"iterations"` for `"exp_range"`, else `"cycle"`).
        name: Optional name of the schedule.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.optimizers.schedules import CyclicalLearningRate
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [keras.Input((8,)), keras.layers.Dense(3, activation="softmax")]
    ... )
    >>> steps_per_epoch = 4  # 64 examples in batches of 16.
    >>> schedule = CyclicalLearningRate(
    ...     1e-3, 1e-2, step_size=2 * steps_per_epoch, mode="triangular2"
    ... )
    >>> model.compile(
    ...     optimizer=keras.optimizers.SGD(learning_rate=schedule),
    ...     loss="sparse_categorical_crossentropy",
    ... )
    >>> _ = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    >>> [round(float(schedule(step)), 4) for step in (0, 8, 16, 24)]
    [0.001, 0.01, 0.001, 0.0055]

    Reference:
        Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
    """

    MODES = ("triangular", "triangular2", "exp_range")
    SCALE_MODES = ("cycle", "iterations")

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        mode="triangular",
        gamma=1.0,
        scale_mode=None,
        name="CyclicalLearningRate",
    ):
        self.initial_learning_rate = check_float(
            "initial_learning_rate", initial_learning_rate, minimum=0.0
        )
        self.maximal_learning_rate = _check_maximum(
            "maximal_learning_rate",
            check_float("maximal_learning_rate", maximal_learning_rate),
            "initial_learning_rate",
            self.initial_learning_rate,
        )
        self.step_size = check_int("step_size", step_size, minimum=1)
        self.mode = check_one_of("mode", mode, self.MODES)
        self.gamma = check_float("gamma", gamma, minimum=0.0)
        if self.gamma > 1.0:
            raise invalid_argument("gamma", gamma, "a float in (0, 1]")
        if scale_mode is None:
            scale_mode = "iterations" if self.mode == "exp_range" else "cycle"
        self.scale_mode = check_one_of("scale_mode", scale_mode, self.SCALE_MODES)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        cycle = ops.floor(1.0 + step / (2.0 * self.step_size))
        x = ops.abs(step / self.step_size - 2.0 * cycle + 1.0)
        scale_step = cycle if self.scale_mode == "cycle" else step
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = ops.power(0.5, scale_step - 1.0)
        else:
            scale = ops.power(self.gamma, scale_step)
        amplitude = self.maximal_learning_rate - self.initial_learning_rate
        return (
            self.initial_learning_rate + amplitude * ops.maximum(0.0, 1.0 - x) * scale
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "scale_mode": self.scale_mode,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="keras_smithing")
class ScaledSchedule(LearningRateSchedule):
    """A learning-rate schedule multiplied by a scale that can change in training.

    `ScaledSchedule(schedule, scale)(step) == scale * schedule(step)`. The scale
    lives in a non-trainable variable, so a callback can change it (see
    `keras_smithing.callbacks.ReduceLROnPlateau`) without replacing the schedule;
    `get_config` records its current value, so `.keras` files keep it.

    Args:
        schedule: A `keras.optimizers.schedules.LearningRateSchedule` (or its
            serialized dict).
        scale: Float > 0, the initial multiplier.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.optimizers.schedules import ScaledSchedule
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [keras.Input((8,)), keras.layers.Dense(3, activation="softmax")]
    ... )
    >>> cosine = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=100)
    >>> schedule = ScaledSchedule(cosine)
    >>> model.compile(
    ...     optimizer=keras.optimizers.SGD(learning_rate=schedule),
    ...     loss="sparse_categorical_crossentropy",
    ... )
    >>> _ = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    >>> _ = schedule.scale.assign(0.1)  # "Divide the learning rate by 10".
    >>> _ = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    >>> round(float(schedule(0)), 4), round(float(cosine(0)), 4)
    (0.01, 0.1)
    """

    def __init__(self, schedule, scale=1.0):
        if isinstance(schedule, dict):
            schedule = deserialize(schedule)
        if not isinstance(schedule, LearningRateSchedule):
            raise invalid_argument(
                "schedule",
                schedule,
                "a keras.optimizers.schedules.LearningRateSchedule",
            )
        self.schedule = schedule
        self.scale = keras.Variable(
            check_float("scale", scale, minimum=0.0),
            dtype="float32",
            trainable=False,
            name="learning_rate_scale",
        )

    def __call__(self, step):
        return ops.cast(self.schedule(step), "float32") * self.scale

    def get_config(self):
        return {
            "schedule": serialize(self.schedule),
            "scale": float(ops.convert_to_numpy(self.scale)),
        }
