"""The harness must fail on the mistakes it exists to catch."""

import keras
import pytest

from tests import harness


class Unregistered(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2.0


class ForgetsArgument(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor


keras.saving.register_keras_serializable(package="harness_test")(ForgetsArgument)


def test_unregistered_layer_fails_fresh_process_reload():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, Unregistered()(inputs))
    with pytest.raises(AssertionError, match="Fresh-process load"):
        harness.check_saved_model(model, harness.random_data((4, 3)))


def test_incomplete_get_config_fails_layer_check():
    with pytest.raises(AssertionError):
        harness.check_layer(ForgetsArgument, {"factor": 3.0}, input_shape=(4, 3))
