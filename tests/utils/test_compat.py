"""Each private Keras internal used by keras_smithing/utils/compat.py still works."""

import keras
import numpy as np

from keras_smithing.utils import compat


def test_learning_rate_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    optimizer = keras.optimizers.SGD(schedule)
    assert hasattr(optimizer, "_learning_rate"), (
        "Keras optimizers no longer keep their learning rate in `_learning_rate`: "
        "update keras_smithing.utils.compat.learning_rate_schedule"
    )
    assert compat.learning_rate_schedule(optimizer) is schedule, (
        "`optimizer._learning_rate` no longer holds the schedule object: update "
        "keras_smithing.utils.compat.learning_rate_schedule"
    )
    assert compat.learning_rate_schedule(keras.optimizers.SGD(0.1)) is None
    optimizer.learning_rate = keras.optimizers.schedules.CosineDecay(0.1, 10)
    assert isinstance(
        compat.learning_rate_schedule(optimizer),
        keras.optimizers.schedules.CosineDecay,
    )


def test_flatten_layers_reaches_nested_models_and_layers():
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="inner")])
    pipeline = keras.layers.Pipeline([keras.layers.GaussianNoise(0.1, name="noise")])
    inputs = keras.Input((3,))
    model = keras.Model(inputs, inner(pipeline(inputs)))
    names = [layer.name for layer in compat.flatten_layers(model)]
    assert {"inner", "noise", pipeline.name, inner.name} <= set(names)
    assert model.name not in names
    assert compat.flatten_layers(model, include_self=True)[0] is model
    assert len(names) == len(set(names))


def test_in_symbolic_build():
    from keras.src.backend.common.symbolic_scope import SymbolicScope

    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x):
            seen.append(compat.in_symbolic_build())
            return x

    assert not compat.in_symbolic_build()
    with SymbolicScope():
        assert compat.in_symbolic_build(), "Keras's symbolic scope moved"
    probe = Probe()
    keras.Sequential([keras.Input((2,)), probe]).predict(np.ones((1, 2)), verbose=0)
    assert seen[-1] is False
