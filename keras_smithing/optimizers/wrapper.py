"""The base of the optimizers that wrap an inner Keras optimizer."""

import keras

from keras_smithing.utils.compat import built_variables
from keras_smithing.utils.validation import check_keras_optimizer


def innermost_optimizer(optimizer):
    """The optimizer that owns the learning rate and slots of `optimizer`.

    Unwraps `inner_optimizer` chains: `keras.optimizers.LossScaleOptimizer` and
    this pack's wrappers (`Lookahead`, `AdaptiveGradientClipping`, ...).
    """
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Base of the optimizers that wrap an inner Keras optimizer.

    Follows `keras.optimizers.LossScaleOptimizer`: the wrapper owns a few variables
    of its own, the inner optimizer does the gradient step through its public
    `apply`, and the learning rate, iteration count, loss scaling and final values
    (EMA) are the inner optimizer's, and both optimizers' variables are saved in
    `.keras` files. The variables' constraints are applied after the wrapper's
    rule.
    Subclasses implement `wrapped_apply(grads, trainable_variables)`.

    Args:
        optimizer: The `keras.optimizers.Optimizer` instance (or a name such as
            `"adam"`) to wrap. Set clipping, weight decay, EMA and loss scaling on
            it, not on the wrapper.
        name: String, the wrapper's name.
    """

    def __init__(self, optimizer, name=None):
        inner = check_keras_optimizer("optimizer", optimizer)
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner

    def build(self, var_list):
        super().build(var_list)
        if not self.inner_optimizer.built:
            self.inner_optimizer.build(var_list)

    # The wrapper's variables, then the inner optimizer's: `.keras` files and
    # JAX's `stateless_apply` carry both.
    @property
    def variables(self):
        return super().variables + self.inner_optimizer.variables

    def apply(self, grads, trainable_variables=None):
        if not self.built:
            if trainable_variables is None:
                raise ValueError(
                    f"{self.__class__.__name__} is not built: pass "
                    "`trainable_variables` to the first `apply` or call "
                    "`build(trainable_variables)` first."
                )
            with keras.name_scope(self.name, caller=self):
                self.build(list(trainable_variables))
        if trainable_variables is None:
            trainable_variables = built_variables(self)
        self.wrapped_apply(list(grads), list(trainable_variables))
        # Keras's `apply` ends with the variables' constraints; the wrapper's rule
        # may move the variables after the inner optimizer applied them.
        for variable in trainable_variables:
            if variable.constraint is not None:
                variable.assign(variable.constraint(variable))

    def wrapped_apply(self, grads, trainable_variables):
        """Applies `grads` through the inner optimizer plus the wrapper's rule."""
        raise NotImplementedError

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def scale_loss(self, loss):
        return self.inner_optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.optimizers.serialize(self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer"] = keras.optimizers.deserialize(
            config["optimizer"], custom_objects=custom_objects
        )
        return cls(**config)
