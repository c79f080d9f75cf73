"""ReduceLROnPlateau that also reduces a learning-rate schedule ("divide by 10")."""

import keras
import numpy as np
from keras import ops

from keras_smithing.optimizers.schedules import ScaledSchedule
from keras_smithing.optimizers.wrapper import innermost_optimizer
from keras_smithing.utils.compat import ReduceLROnPlateauBase, learning_rate_schedule
from keras_smithing.utils.validation import check_float


@keras.saving.register_keras_serializable(package="keras_smithing")
class ReduceLROnPlateau(ReduceLROnPlateauBase):
    """Keras's `ReduceLROnPlateau`, which also works when the LR is a schedule.

    The classic "divide the learning rate by 10 when the validation error
    plateaus". With a float learning rate this is exactly
    `keras.callbacks.ReduceLROnPlateau`. Keras's raises when the optimizer's
    learning rate is a `LearningRateSchedule`; this one wraps the schedule in a
    `ScaledSchedule` when training begins and multiplies its scale instead, so the
    schedule's shape (warm-up, cosine, ...) is kept and the whole remaining
    schedule is lowered. Any schedule works, the user's own unregistered
    subclasses included. A reduction sets the current effective learning rate to
    `max(lr * factor, min_lr)` (no reduction once it is at `min_lr`). Wrapped
    optimizers (`LossScaleOptimizer`, `Lookahead`, `LayerwiseLearningRate`) are
    unwrapped to the one that owns the learning rate.

    Args:
        monitor: The quantity to watch.
        factor: Float in (0, 1), the factor the learning rate is multiplied by.
        patience: Number of epochs with no improvement before a reduction.
        verbose: 0 or 1; 1 prints each reduction.
        mode: `"auto"`, `"min"` or `"max"`.
        min_delta: Threshold for counting a change as an improvement.
        cooldown: Number of epochs to wait after a reduction.
        min_lr: Lower bound of the learning rate.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import ReduceLROnPlateau
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.Dense(16, activation="relu", name="hidden"),
    ...         keras.layers.Dense(3, activation="softmax", name="output"),
    ...     ]
    ... )
    >>> cosine = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=1000)
    >>> model.compile(
    ...     optimizer=keras.optimizers.SGD(learning_rate=cosine),
    ...     loss="sparse_categorical_crossentropy",
    ... )
    >>> # A large `min_delta` makes every epoch after the first a plateau here.
    >>> reduce_lr = ReduceLROnPlateau(
    ...     monitor="loss", factor=0.1, patience=1, min_delta=100.0
    ... )
    >>> _ = model.fit(
    ...     x, y, epochs=3, batch_size=16, callbacks=[reduce_lr], verbose=0
    ... )
    >>> round(float(reduce_lr.scaled_schedule.scale.numpy()), 4)  # Two reductions.
    0.01
    >>> round(float(model.optimizer.learning_rate), 4)  # The cosine, lowered.
    0.001
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        check_float("factor", factor, minimum=0.0, maximum=1.0)
        super().__init__(
            monitor=monitor,
            factor=factor,
            patience=patience,
            verbose=verbose,
            mode=mode,
            min_delta=min_delta,
            cooldown=cooldown,
            min_lr=min_lr,
        )
        self.scaled_schedule = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        optimizer = innermost_optimizer(self.model.optimizer)
        # The live schedule object, not one rebuilt from the optimizer's config: a
        # user's schedule need not be registered for `fit`, so neither for this.
        schedule = learning_rate_schedule(optimizer)
        self.scaled_schedule = None
        if schedule is None:
            return
        if not isinstance(schedule, ScaledSchedule):
            schedule = ScaledSchedule(schedule)
        optimizer.learning_rate = schedule
        self.scaled_schedule = schedule
        self.model.make_train_function(force=True)

    def reduce_learning_rate(self, optimizer, epoch, name=""):
        if self.scaled_schedule is None:
            return super().reduce_learning_rate(optimizer, epoch, name)
        old_lr = float(ops.convert_to_numpy(optimizer.learning_rate))
        if old_lr <= np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        scale = self.scaled_schedule.scale
        scale.assign(ops.convert_to_numpy(scale) * new_lr / old_lr)
        # Backends that compile the step (JAX) read the scale when they trace it.
        self.model.make_train_function(force=True)
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau scaling the learning-rate "
                f"schedule, learning rate now {new_lr}."
            )
        return True

    def get_config(self):
        return {
            "monitor": self.monitor,
            "factor": self.factor,
            "patience": self.patience,
            "verbose": self.verbose,
            "mode": self.mode,
            "min_delta": abs(self.min_delta),
            "cooldown": self.cooldown,
            "min_lr": self.min_lr,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
