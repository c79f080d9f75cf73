import keras

from keras_smithing.utils.compat import flatten_layers


def test_flatten_layers_reaches_nested_models_and_layers():
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="inner")])
    pipeline = keras.layers.Pipeline([keras.layers.GaussianNoise(0.1, name="noise")])
    inputs = keras.Input((3,))
    model = keras.Model(inputs, inner(pipeline(inputs)))
    names = [layer.name for layer in flatten_layers(model)]
    assert {"inner", "noise", pipeline.name, inner.name} <= set(names)
    assert model.name not in names
    assert flatten_layers(model, include_self=True)[0] is model
    assert len(names) == len(set(names))
