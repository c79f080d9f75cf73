"""Rectified Adam: Adam with its early variance rectified (Liu et al., 2020)."""

import math

import keras
from keras import ops

from keras_smithing.utils.backend import (
    multi_tensor_optimizers,
    rectified_adam_step_in_place,
)
from keras_smithing.utils.compat import BatchedUpdateOptimizer, variable_index
from keras_smithing.utils.validation import (
    check_bool,
    check_float,
    check_int,
)


def warm_up(learning_rate, step, total_steps, warmup_proportion, min_lr):
    """tfa's RectifiedAdam warm-up: a linear rise, then a linear decay to `min_lr`.

    Args:
        learning_rate: The learning rate (a scalar tensor).
        step: The step, counted from 1 (a float scalar tensor).
        total_steps: Integer > 0, the step at which `min_lr` is reached.
        warmup_proportion: Float in [0, 1], the fraction of the steps warming up.
        min_lr: Float, the learning rate from `total_steps` on.

    Returns:
        The learning rate of `step`.
    """
    warmup_steps = total_steps * warmup_proportion
    decay_steps = max(total_steps - warmup_steps, 1.0)
    decay_rate = (min_lr - learning_rate) / decay_steps
    decayed = learning_rate + decay_rate * ops.minimum(step - warmup_steps, decay_steps)
    if warmup_steps == 0:  # tfa's `step <= warmup_steps` never holds.
        return decayed
    return ops.where(
        step <= warmup_steps, learning_rate * (step / warmup_steps), decayed
    )


def _check_tfa_kwargs(kwargs, learning_rate):
    """Refuses tfa's `lr` and `decay`, which Keras 3 would refuse or ignore."""
    if "lr" in kwargs:
        raise ValueError(
            "Argument `lr` was renamed `learning_rate` in Keras 2.11+/Keras 3: "
            f"pass learning_rate={kwargs['lr']!r}. Received: lr={kwargs['lr']!r}"
        )
    decay = kwargs.pop("decay", None)
    if decay:  # tfa saved `decay=0.0` (off) in every config: accepted.
        raise ValueError(
            "Argument `decay` (tfa's `lr / (1 + decay * step)`) is ignored by "
            "Keras 3: pass learning_rate=keras.optimizers.schedules."
            f"InverseTimeDecay({learning_rate!r}, decay_steps=1, "
            f"decay_rate={decay!r}). Received: decay={decay!r}"
        )


@keras.saving.register_keras_serializable(package="keras_smithing")
class RectifiedAdam(BatchedUpdateOptimizer):
    """Rectified Adam (RAdam): Adam without a warmup, its variance rectified.

    In its first steps Adam's adaptive learning rate `1 / sqrt(v_hat)` rests on
    few gradients and has a large variance, which is why Adam often needs a
    learning-rate warmup. RAdam tracks the length of the approximated simple
    moving average, `rho_t = rho_inf - 2 t beta_2^t / (1 - beta_2^t)` with
    `rho_inf = 2 / (1 - beta_2) - 1`. While `rho_t < sma_threshold` the variance
    is intractable and the step is SGD with momentum on the bias-corrected first
    moment: `w <- w - lr * m_hat`. Afterwards it is Adam's step scaled by the
    rectification term
    `r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))`:
    `w <- w - lr * r_t * m_hat / (sqrt(v_hat) + epsilon)`, with
    `m_hat = m / (1 - beta_1^t)` and `v_hat = v / (1 - beta_2^t)`. With
    `beta_2=0.999` and the default threshold, the first 5 steps are momentum
    steps. Moments are kept in the variables' dtype.

    With `total_steps > 0` the learning rate of step `t` (counted from 1) is
    warmed up and decayed as in tfa: over the first
    `warmup_steps = total_steps * warmup_proportion` steps it rises linearly,
    `lr * t / warmup_steps`, then falls linearly to `min_lr`, reached at step
    `total_steps` and kept afterwards. `lr` is the `learning_rate` argument, or
    its value at that step when it is a schedule; the weight decay uses the
    warmed-up rate too. `optimizer.learning_rate` stays `lr` (what callbacks
    such as `ReduceLROnPlateau` read and set, like tfa's `lr`);
    `warmed_up_learning_rate()` gives the rate applied at the next step.

    Porting from `tfa.optimizers.RectifiedAdam`: `learning_rate`, `beta_1`,
    `beta_2`, `epsilon` (1e-7, added to `sqrt(v_hat)`), `amsgrad`,
    `sma_threshold` (5.0), `total_steps` (0: off), `warmup_proportion` (0.1) and
    `min_lr` (0.0) have tfa's names, defaults and meaning, so the updates are the
    same. tfa's `weight_decay` (decoupled, `w <- w - lr * wd * w`) is Keras's
    `weight_decay` argument, which applies the same decay. tfa's `lr` is
    `learning_rate`. tfa's `decay` (`lr / (1 + decay * step)`) is
    `learning_rate=keras.optimizers.schedules.InverseTimeDecay(lr, 1, decay)`.
    The paper's rule is `rho_t > 4`; the threshold 5 follows the authors' code
    and tfa.

    Args:
        learning_rate: Float, `keras.optimizers.schedules.LearningRateSchedule`
            or zero-argument callable, the learning rate (0.001).
        beta_1: Float in [0, 1), the decay rate of the first moment (0.9).
        beta_2: Float in (0, 1), the decay rate of the second moment (0.999).
        epsilon: Float >= 0 added to `sqrt(v_hat)` for numerical stability.
        amsgrad: Boolean, whether to divide by the running maximum of the second
            moment (Reddi et al., "On the Convergence of Adam and Beyond"), as in
            `keras.optimizers.Adam`.
        sma_threshold: Float >= 4, the length `rho_t` of the simple moving average
            from which the rectified adaptive step is taken.
        total_steps: Integer >= 0, the number of steps of the warm-up and
            linear decay; 0 (the default) turns them off.
        warmup_proportion: Float in [0, 1], the fraction of `total_steps` spent
            warming up.
        min_lr: Float >= 0, the learning rate reached at `total_steps` and kept
            afterwards.
        weight_decay: Float or None, the decoupled weight decay, as in
            `keras.optimizers.Adam`.
        name: String, the optimizer's name.
        **kwargs: The other arguments of `keras.optimizers.Optimizer`
            (`clipnorm`, `global_clipnorm`, `use_ema`, `loss_scale_factor`,
            `gradient_accumulation_steps`, ...).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.optimizers import RectifiedAdam
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [keras.Input((8,)), keras.layers.Dense(3, activation="softmax")]
    ... )
    >>> # tfa's warm-up: up to 1e-3 in 10 steps, then down to 1e-5 at step 100.
    >>> optimizer = RectifiedAdam(
    ...     1e-3, total_steps=100, warmup_proportion=0.1, min_lr=1e-5,
    ...     weight_decay=1e-4,
    ... )
    >>> model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    >>> _ = model.fit(x, y, epochs=2, batch_size=16, verbose=0)  # 8 steps.
    >>> round(float(optimizer.warmed_up_learning_rate()), 6)  # Step 9's rate.
    0.0009
    >>> round(float(optimizer.learning_rate), 6)  # What callbacks read and set.
    0.001

    Reference:
        Liu, Jiang, He, Chen, Liu, Gao & Han, "On the Variance of the Adaptive
        Learning Rate and Beyond", ICLR 2020, Algorithm 2.
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        sma_threshold=5.0,
        total_steps=0,
        warmup_proportion=0.1,
        min_lr=0.0,
        weight_decay=None,
        name=None,
        **kwargs,
    ):
        _check_tfa_kwargs(kwargs, learning_rate)
        beta_1 = check_float("beta_1", beta_1, 0.0, 1.0, strict=(False, True))
        beta_2 = check_float("beta_2", beta_2, minimum=0.0, maximum=1.0)
        epsilon = check_float("epsilon", epsilon, minimum=0.0, strict=False)
        sma_threshold = check_float(
            "sma_threshold", sma_threshold, minimum=4.0, strict=False
        )
        amsgrad = check_bool("amsgrad", amsgrad)
        total_steps = check_int("total_steps", total_steps, minimum=0)
        warmup_proportion = check_float(
            "warmup_proportion", warmup_proportion, 0.0, 1.0, strict=False
        )
        min_lr = check_float("min_lr", min_lr, minimum=0.0, strict=False)
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            name=name,
            **kwargs,
        )
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        self.sma_threshold = sma_threshold
        self.total_steps = total_steps
        self.warmup_proportion = warmup_proportion
        self.min_lr = min_lr

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _rectification(self, step):
        """`(rectified, r_t)`: whether step t is adaptive, and its factor.

        `step` is t, a float32 scalar tensor; `r_t` is float32.
        """
        # 1 - beta_2^t as -expm1(t log beta_2): the naive form loses about 2% of
        # rho_t in float32 in the first steps, close to the threshold.
        one_minus_power = -ops.expm1(step * math.log(self.beta_2))
        rho_inf = 2.0 / (1.0 - self.beta_2) - 1.0
        rho = rho_inf - 2.0 * step * (1.0 - one_minus_power) / one_minus_power
        ratio = (rho - 4.0) * (rho - 2.0) * rho_inf
        ratio = ratio / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)
        return rho >= self.sma_threshold, ops.sqrt(ops.maximum(ratio, 0.0))

    def warmed_up_learning_rate(self):
        """The learning rate of the coming step, tfa's warm-up and decay applied.

        Returns:
            A scalar tensor: `optimizer.learning_rate` itself when `total_steps`
            is 0.
        """
        return self._warm_up(
            self.learning_rate, ops.cast(self.iterations + 1, "float32")
        )

    def _warm_up(self, learning_rate, step):
        if not self.total_steps:
            return learning_rate
        # In float32 whatever the variables' dtype, like `_rectification`.
        return warm_up(
            ops.cast(learning_rate, "float32"),
            step,
            self.total_steps,
            self.warmup_proportion,
            self.min_lr,
        )

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Excludes variables from weight decay (not with the warm-up).

        Args:
            var_list: A list of variables to exclude from weight decay.
            var_names: A list of strings: variables whose name contains one of
                them are excluded.
        """
        if self.total_steps and (var_list or var_names):
            raise ValueError(
                "RectifiedAdam cannot exclude variables from weight decay when "
                "`total_steps` > 0 (tfa's warm-up decays every variable). Pass "
                "`total_steps=0` with a `LearningRateSchedule`, or leave all "
                "variables decayed."
            )
        super().exclude_from_weight_decay(var_list=var_list, var_names=var_names)

    def _step_scalars(self, learning_rate, dtype):
        """Step t's `(lr_t, (1 - beta_1^t, 1 - beta_2^t), rectified, r_t, ratio)`.

        In `dtype` (`rectified` boolean); `ratio` rescales Keras's weight decay to
        the warmed-up rate, None without the warm-up or without weight decay.
        """
        step = self.iterations + 1
        float32_step = ops.cast(step, "float32")
        lr_t = ops.cast(self._warm_up(learning_rate, float32_step), dtype)
        step = ops.cast(step, dtype)
        corrections = tuple(
            1 - ops.power(ops.cast(beta, dtype), step)
            for beta in (self.beta_1, self.beta_2)
        )
        rectified, r = self._rectification(float32_step)
        ratio = None
        if self.total_steps and self.weight_decay:
            # Keras's `apply` has already decayed the variable by `lr * wd`
            # (`exclude_from_weight_decay` is refused with the warm-up, so every
            # variable); tfa decays by the warmed-up `lr_t * wd`: rescale.
            lr = ops.cast(learning_rate, dtype)
            wd = ops.cast(self.weight_decay, dtype)
            ratio = (1 - lr_t * wd) / (1 - lr * wd)
        return lr_t, corrections, rectified, ops.cast(r, dtype), ratio

    def _slots(self, variable):
        index = variable_index(self, variable)
        v_hat = self._velocity_hats[index] if self.amsgrad else None
        return self._momentums[index], self._velocities[index], v_hat

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr_t, (correction_1, correction_2), rectified, r, ratio = self._step_scalars(
            learning_rate, dtype
        )
        gradient = ops.cast(gradient, dtype)
        m, v, v_hat = self._slots(variable)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(
            v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2)
        )
        if v_hat is not None:
            self.assign(v_hat, ops.maximum(v_hat, v))
            v = v_hat
        m_hat = m / correction_1
        adaptive = r * m_hat / (ops.sqrt(v / correction_2) + self.epsilon)
        update = lr_t * ops.where(rectified, adaptive, m_hat)
        if ratio is None:
            self.assign_sub(variable, update)
        else:
            self.assign(variable, variable * ratio - update)

    def batched_update_step(self, grads, trainable_variables, learning_rate):
        dtypes = {variable.dtype for variable in trainable_variables}
        if not multi_tensor_optimizers() or len(dtypes) != 1:
            super().batched_update_step(grads, trainable_variables, learning_rate)
            return
        # Eager PyTorch: every variable at once, as Keras's own PyTorch Adam.
        slots = [self._slots(variable) for variable in trainable_variables]
        rectified_adam_step_in_place(
            trainable_variables,
            grads,
            [None if group[0] is None else list(group) for group in zip(*slots)],
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self._step_scalars(learning_rate, dtypes.pop()),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "amsgrad": self.amsgrad,
                "sma_threshold": self.sma_threshold,
                "total_steps": self.total_steps,
                "warmup_proportion": self.warmup_proportion,
                "min_lr": self.min_lr,
            }
        )
        return config
