"""The only use of private Keras/KerasTuner internals.

Each function wraps one private name and has a test in tests/utils/test_compat.py
that fails with a clear message when a Keras upgrade changes it.
"""

import keras


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
