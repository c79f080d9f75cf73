import keras
import numpy as np
import pytest

from keras_smithing.layers import ConvHighway2D, Highway
from tests import harness


def test_harness_highway():
    harness.check_layer(
        Highway,
        {"activation": "tanh"},
        input_shape=(4, 6),
        expected_output_shape=(4, 6),
        expected_num_trainable_weights=4,
        supports_masking=True,
    )


def test_harness_conv_highway():
    harness.check_layer(
        ConvHighway2D,
        {"kernel_size": 3},
        input_shape=(2, 5, 5, 3),
        expected_output_shape=(2, 5, 5, 3),
        expected_num_trainable_weights=4,
        supports_masking=True,
    )


def _set_gate(layer, bias):
    kernel, _ = layer.gate.get_weights()
    layer.gate.set_weights([np.zeros_like(kernel), np.full(kernel.shape[-1], bias)])


@pytest.mark.parametrize(
    "cls, shape", [(Highway, (8, 5)), (ConvHighway2D, (2, 4, 4, 3))]
)
def test_closed_gate_is_identity(cls, shape):
    x = harness.random_data(shape)
    layer = cls()
    layer(x)
    _set_gate(layer, -1e4)  # T(x) = sigmoid(-1e4) == 0 in float32.
    np.testing.assert_array_equal(harness.to_numpy(layer(x)), x)


def test_matches_numpy_reference():
    x = harness.random_data((8, 5))
    layer = Highway(activation="relu")
    out = harness.to_numpy(layer(x))
    kh, bh = layer.transform.get_weights()
    kt, bt = layer.gate.get_weights()
    h = np.maximum(x @ kh + bh, 0)
    t = 1 / (1 + np.exp(-(x @ kt + bt)))
    np.testing.assert_allclose(out, h * t + x * (1 - t), rtol=1e-5, atol=1e-6)


def test_open_gate_is_transform():
    x = harness.random_data((8, 5))
    layer = Highway(activation="tanh")
    layer(x)
    _set_gate(layer, 1e4)
    np.testing.assert_allclose(
        harness.to_numpy(layer(x)), harness.to_numpy(layer.transform(x)), atol=1e-6
    )


def test_default_gate_bias_is_minus_two():
    layer = Highway()
    layer.build((None, 3))
    np.testing.assert_array_equal(layer.gate.bias.numpy(), -2.0)
    np.testing.assert_array_equal(layer.transform.bias.numpy(), 0.0)


def test_unknown_width():
    with pytest.raises(ValueError, match="`inputs`"):
        Highway()(keras.Input((None,)))
    with pytest.raises(ValueError, match="`inputs`"):
        ConvHighway2D()(keras.Input((4, 4, None)))


def test_bad_data_format():
    with pytest.raises(ValueError, match="`data_format`"):
        ConvHighway2D(data_format="nhwc")
