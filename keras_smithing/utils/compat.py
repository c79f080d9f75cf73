"""The only use of private Keras/KerasTuner internals.

Each function wraps one private name and has a test in tests/utils/test_compat.py
that fails with a clear message when a Keras upgrade changes it.
"""

import json
import os
import warnings

import keras
from keras_tuner.src.engine import tuner_utils


def learning_rate_schedule(optimizer):
    """The `LearningRateSchedule` object that `optimizer` was given, if any.

    Keras has no public getter: `optimizer.learning_rate` is the schedule's
    current value, and `get_config()` holds it serialized, which only
    deserializes when its class is registered (`fit` never needs that).

    Args:
        optimizer: A `keras.optimizers.Optimizer` (not unwrapped).

    Returns:
        The schedule, or None when the learning rate is a float (a variable) or
        a plain callable.
    """
    schedule = optimizer._learning_rate
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return schedule
    return None


def flatten_layers(layer, include_self=False):
    """Every layer nested in `layer` (sublayers of sublayers included), in order.

    Wraps `Layer._flatten_layers`: Keras has no public recursive equivalent
    (`Model.layers` lists only the direct children).

    Args:
        layer: A `keras.layers.Layer` (a `keras.Model` included).
        include_self: Whether `layer` itself comes first.

    Returns:
        A list of layers, each once.
    """
    return list(layer._flatten_layers(include_self=include_self, recursive=True))


def in_symbolic_build():
    """Whether Keras is only tracing shapes (`compute_output_spec`, a model's
    symbolic build before `fit`), as opposed to running a layer on data.

    Wraps `keras.src.backend.common.symbolic_scope.in_symbolic_scope`: Keras has
    no public equivalent, and a symbolic build calls layers with
    `training=False` like a real inference call does.
    """
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope

    return in_symbolic_scope()


def torch_device():
    """The device on which Keras's PyTorch backend creates tensors now (`"cpu"`,
    `"cuda"`, `"meta"` while tracing shapes, or the one of a `keras.device`
    scope).

    Wraps `keras.src.backend.torch.core.get_device`: Keras has no public getter.
    """
    from keras.src.backend.torch.core import get_device

    return get_device()


def in_stateless_scope():
    """Whether a `keras.StatelessScope` is open: variables read its values and
    their assignments are recorded there instead of made.

    Wraps `keras.src.backend.common.stateless_scope.in_stateless_scope`: Keras
    has no public equivalent.
    """
    from keras.src.backend.common.stateless_scope import in_stateless_scope

    return in_stateless_scope()


class ReduceLROnPlateauBase(keras.callbacks.ReduceLROnPlateau):
    """Keras's `ReduceLROnPlateau`, its reduction step a method to override.

    Keras decides when to reduce in `on_epoch_end` and then calls the private
    `_reduce_optimizer_lr(optimizer, epoch, name)`; a subclass overrides
    `reduce_learning_rate` instead, and only this class names the private hook.
    """

    def _reduce_optimizer_lr(self, optimizer, epoch, name=""):
        return self.reduce_learning_rate(optimizer, epoch, name)

    def reduce_learning_rate(self, optimizer, epoch, name=""):
        """Keras's reduction of `optimizer`'s float learning rate.

        Returns:
            Whether the learning rate was reduced.
        """
        return super()._reduce_optimizer_lr(optimizer, epoch, name)


def oracle_has_tried(oracle, values):
    """Whether a KerasTuner `Oracle` already ran these hyperparameter values.

    Wraps `Oracle._duplicate`, the check KerasTuner's own oracles use before
    proposing a trial: there is no public one.

    Args:
        oracle: A `keras_tuner.Oracle`.
        values: Dict `{hyperparameter name: value}`.
    """
    return oracle._duplicate(values)


def load_trial_checkpoint(tuner, model, trial_id):
    """Loads into `model` the best-epoch weights a KerasTuner trial saved.

    What KerasTuner's Hyperband does before continuing a trial, through the
    private `Tuner._get_checkpoint_fname` and `_get_build_config_fname`: there
    is no public way to a trial's checkpoint.

    Args:
        tuner: The `keras_tuner.Tuner` that ran the trial.
        model: A model built from the trial's hyperparameters.
        trial_id: The trial whose checkpoint to load.

    Raises:
        ValueError: when the trial saved no checkpoint (a `run_trial` that
            does not train through KerasTuner's `Tuner.run_trial`).
    """
    path = tuner._get_checkpoint_fname(trial_id)
    if not os.path.exists(path):
        raise ValueError(
            f"Trial {trial_id} saved no checkpoint ({path}), so no trial can "
            "continue it: a `run_trial` that trains outside KerasTuner's "
            "`Tuner.run_trial` saves none. Set `promote_after=None`."
        )
    if not model.built:
        with open(tuner._get_build_config_fname(trial_id)) as file:
            model.build_from_config(json.load(file))
    with warnings.catch_warnings():
        # The checkpoint holds the optimizer's slots; the new model's optimizer
        # is not built yet, so Keras skips them with a warning: the continued
        # trial's optimizer starts afresh, as in KerasTuner's Hyperband.
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        model.load_weights(path)


class BestEpochWrittenOnce:
    """Tuner mixin: the best epoch's weights kept in memory, written once a `fit`.

    KerasTuner's `Tuner.run_trial` adds its private `SaveBestEpoch` callback
    to every `fit`, which writes the model's weights to the trial's checkpoint
    at every epoch that improves the objective (0.03 s per write for a small
    MLP on one CPU core, a tenth of its epoch). Through `_build_and_fit_model`,
    the override point KerasTuner keeps for AutoKeras, each `fit` gets instead
    a callback that copies the weights to memory at those epochs and writes
    the best of them to the same file, through the same `SaveBestEpoch`, when
    the `fit` ends: the same checkpoint, one write a `fit`.
    """

    def _build_and_fit_model(self, trial, *args, **kwargs):
        kwargs["callbacks"] = [
            _BestEpochInMemory(callback)
            if isinstance(callback, tuner_utils.SaveBestEpoch)
            # KerasTuner adds one instance per trial, shared by its executions.
            else callback
            for callback in kwargs.get("callbacks", [])
        ]
        return super()._build_and_fit_model(trial, *args, **kwargs)


class _BestEpochInMemory(keras.callbacks.Callback):
    # Wraps KerasTuner's `SaveBestEpoch`: keeps its rule and its `best_value`
    # (shared by the trial's executions, so only the best execution's best
    # epoch ends in the file) but holds the best weights in memory until
    # `on_train_end`, which also runs when a pruner or `EarlyStopping` stops
    # the `fit`. An objective missing from the logs falls back to
    # `SaveBestEpoch`'s own rule (a write at every epoch).

    def __init__(self, saver):
        super().__init__()
        self.saver = saver
        self.best_weights = None

    def set_model(self, model):
        super().set_model(model)
        self.saver.set_model(model)

    def on_epoch_end(self, epoch, logs=None):
        objective = self.saver.objective
        if not objective.has_value(logs):
            self.saver.on_epoch_end(epoch, logs)
            return
        value = objective.get_value(logs)
        if objective.better_than(value, self.saver.best_value):
            self.saver.best_value = value
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is None:
            return
        last_weights = self.model.get_weights()
        self.model.set_weights(self.best_weights)
        self.saver._save_model()
        self.model.set_weights(last_weights)
        self.best_weights = None


def variable_index(optimizer, variable):
    """The position of `variable` in the list `optimizer` was built on.

    Wraps `Optimizer._get_variable_index`, with which Keras's own optimizers find
    a variable's slots (`add_optimizer_variables` lists) in `update_step`.
    """
    return optimizer._get_variable_index(variable)


class BatchedUpdateOptimizer(keras.optimizers.Optimizer):
    """`keras.optimizers.Optimizer`, its update of all the variables a method to override.

    After clipping and weight decay Keras's `apply` calls the private
    `_backend_update_step(grads, trainable_variables, learning_rate)`: it runs
    `update_step` variable by variable (on TensorFlow inside the distribution
    strategy's merge call), and Keras's own PyTorch optimizers override it to
    update every variable with one multi-tensor op per step of the rule. A
    subclass overrides `batched_update_step` instead, and only this class names
    the private hook; `super().batched_update_step` is Keras's loop.
    """

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        self.batched_update_step(grads, trainable_variables, learning_rate)

    def batched_update_step(self, grads, trainable_variables, learning_rate):
        """Updates `trainable_variables` with `grads` (Keras's `update_step` loop)."""
        super()._backend_update_step(grads, trainable_variables, learning_rate)


def torch_foreach(name):
    """PyTorch's multi-tensor op `torch._foreach_<name>` (`"mul_"`, `"sqrt"`, ...).

    One call applies the op to every tensor of a list, so eager PyTorch
    dispatches it from Python once rather than once per tensor. Wraps torch's
    private `_foreach_*` ops, with which `torch.optim` and Keras's PyTorch
    optimizers (`keras/src/backend/torch/optimizers`) update their variables.
    """
    import torch

    return getattr(torch, f"_foreach_{name}")


def torch_weight_norm(v, g, dim):
    """`(v * g / ||v||, ||v||)`, the norms taken over every axis of `v` but `dim`,
    as PyTorch's one fused kernel (forward and backward).

    Wraps torch's private `_weight_norm_interface`, the kernel behind
    `torch.nn.utils.parametrizations.weight_norm`; `g` has `v`'s rank, size 1
    on every axis but `dim`, and both are contiguous.
    """
    import torch

    return torch._weight_norm_interface(v, g, dim)


def built_variables(optimizer):
    """The trainable variables `optimizer` was built on (`build(var_list)`).

    Wraps `Optimizer._trainable_variables`, which Keras's `apply(grads)` uses when
    it is given no variables.
    """
    return optimizer._trainable_variables


def add_optimizer_variables(optimizer, variables):
    """Gives `optimizer` back variables that `remove_optimizer_variables` took out.

    Wraps `Optimizer._track_variable`, through which `add_variable` registers the
    variables it creates.
    """
    for variable in variables:
        optimizer._track_variable(variable)


def remove_optimizer_variables(optimizer, variables):
    """Takes variables made with `optimizer.add_variable` out of `optimizer`.

    Wraps `Optimizer._untrack_variable`, with which Keras itself drops the
    learning-rate variable when a schedule replaces it: it removes the variable
    from `optimizer.variables` and from the tracker that `add_variable` and
    `add_optimizer_variables` register it with. Keras has no public way to take a
    variable out, e.g. before the optimizer is saved.

    Args:
        optimizer: A `keras.optimizers.Optimizer`.
        variables: The variables to remove (compared by identity).
    """
    for variable in variables:
        optimizer._untrack_variable(variable)


def optimizer_tracks(optimizer, variable):
    """Whether `optimizer`'s tracker holds `variable` (compared by identity).

    Wraps `Optimizer._tracker`, which registers every variable that
    `optimizer.variables` lists (and that is saved with the optimizer).
    """
    return optimizer._tracker.is_in_store("variables", variable)
