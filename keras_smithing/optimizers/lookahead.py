"""Lookahead: k fast steps forward, one slow step back (Zhang et al., 2019)."""

import keras
from keras import ops

from keras_smithing.optimizers.wrapper import OptimizerWrapper
from keras_smithing.utils.backend import assign_if
from keras_smithing.utils.compat import variable_index
from keras_smithing.utils.validation import check_float, check_int, invalid_argument


@keras.saving.register_keras_serializable(package="keras_smithing")
class Lookahead(OptimizerWrapper):
    """Lookahead optimizer: slow weights that follow the inner optimizer's path.

    The inner ("fast") optimizer takes `sync_period` ordinary steps; then the slow
    weights move a fraction `slow_step_size` of the way towards the fast weights,
    and the fast weights are reset to them:
    `slow <- slow + slow_step_size * (fast - slow); fast <- slow`. Steps that
    go astray along high-curvature directions are averaged out, which makes
    training less sensitive to the inner learning rate. The slow weights start at
    the model's weights (copied at the first step) and are saved with the model,
    together with the inner optimizer's slots, in `.keras` files. The
    learning rate (and any schedule), `iterations`, EMA and loss scaling are the
    inner optimizer's. `slow_step_size=1` gives the inner optimizer exactly.

    Args:
        optimizer: The `keras.optimizers.Optimizer` (or its name) taking the fast
            steps. Not supported: an inner `gradient_accumulation_steps`.
        sync_period: Integer >= 1, the number of fast steps `k` between two
            synchronizations (5 in the paper).
        slow_step_size: Float in (0, 1], the slow weights' step `alpha` (0.5 in
            the paper).
        name: String, the optimizer's name.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.optimizers import Lookahead
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 8))
    >>> y = x @ rng.normal(size=(8, 1))
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    >>> optimizer = Lookahead(
    ...     keras.optimizers.Adam(1e-2), sync_period=5, slow_step_size=0.5
    ... )
    >>> model.compile(optimizer=optimizer, loss="mse")
    >>> history = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    >>> int(optimizer.iterations)  # 5 epochs of 4 steps: 4 synchronizations.
    20
    >>> bool(history.history["loss"][-1] < history.history["loss"][0])
    True

    Reference:
        Zhang, Lucas, Hinton & Ba, "Lookahead Optimizer: k steps forward, 1 step
        back", NeurIPS 2019.
    """

    def __init__(self, optimizer, sync_period=5, slow_step_size=0.5, name=None):
        sync_period = check_int("sync_period", sync_period, minimum=1)
        alpha = check_float(
            "slow_step_size", slow_step_size, minimum=0.0, maximum=1.0, strict=False
        )
        if alpha == 0.0:
            raise invalid_argument(
                "slow_step_size", slow_step_size, "a float in (0, 1]"
            )
        super().__init__(optimizer, name=name)
        self.sync_period = sync_period
        self.slow_step_size = alpha
        if self.inner_optimizer.gradient_accumulation_steps:
            raise invalid_argument(
                "optimizer",
                self.inner_optimizer,
                "an optimizer without `gradient_accumulation_steps` (gradient "
                "accumulation inside Lookahead is not supported)",
            )

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.slow_weights = self.add_optimizer_variables(var_list, "slow")

    def wrapped_apply(self, grads, trainable_variables):
        slots = [
            self.slow_weights[variable_index(self, v)] for v in trainable_variables
        ]
        iterations = self.inner_optimizer.iterations
        # The slow weights equal the fast ones at the start of every period; they
        # are copied in at the first step rather than by an initializer that reads
        # the model's variables, which XLA cannot lift out of a compiled step.
        assign_if(
            ops.equal(iterations, 0),
            slots,
            lambda: [variable.value for variable in trainable_variables],
            self.assign,
        )
        self.inner_optimizer.apply(grads, trainable_variables)
        alpha = self.slow_step_size

        def synchronized():
            mixed = [
                alpha * variable.value + (1.0 - alpha) * slow.value
                for variable, slow in zip(trainable_variables, slots)
            ]
            return mixed + mixed

        assign_if(
            ops.equal(ops.mod(iterations, self.sync_period), 0),
            slots + list(trainable_variables),
            synchronized,
            self.assign,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {"sync_period": self.sync_period, "slow_step_size": self.slow_step_size}
        )
        return config
