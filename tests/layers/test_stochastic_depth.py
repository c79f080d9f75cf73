import keras
import numpy as np
import pytest

from keras_smithing.layers import StochasticDepth
from tests import harness


def test_harness():
    harness.check_layer(
        StochasticDepth,
        {"rate": 0.3, "seed": 1},
        input_shape=[(8, 5), (8, 5)],
        # A tuple: Keras's training check cannot feed a list through tf.data.
        input_data=tuple(harness.random_data([(8, 5), (8, 5)])),
        expected_output_shape=(8, 5),
        expected_num_trainable_weights=0,
        expected_num_seed_generators=1,
    )


@pytest.mark.distributed
def test_distributed_fit():
    def model_fn():
        inputs = keras.Input((6,))
        branch = keras.layers.Dense(6)(inputs)
        outputs = StochasticDepth(0.5, seed=0)([inputs, branch])
        return keras.Model(inputs, outputs)

    harness.check_distributed_fit(
        model_fn, harness.random_data((32, 6)), np.zeros((32, 6))
    )


def test_inference_is_shortcut_plus_residual():
    shortcut, residual = harness.random_data([(16, 3, 4), (16, 3, 4)])
    out = StochasticDepth(0.7, seed=0)([shortcut, residual], training=False)
    np.testing.assert_allclose(harness.to_numpy(out), shortcut + residual, rtol=1e-6)


def test_rate_zero_is_exact_sum_in_training():
    shortcut, residual = harness.random_data([(16, 4), (16, 4)])
    out = StochasticDepth(0.0)([shortcut, residual], training=True)
    np.testing.assert_array_equal(harness.to_numpy(out), shortcut + residual)


def test_training_drops_whole_branches_with_rate():
    rate, n = 0.3, 20000
    shortcut = np.zeros((n, 2, 3), "float32")
    residual = np.ones((n, 2, 3), "float32")
    out = harness.to_numpy(
        StochasticDepth(rate, seed=2)([shortcut, residual], training=True)
    )
    # Each example's branch is dropped entirely or kept and scaled by 1/(1-rate).
    per_example = out.reshape(n, -1)
    assert np.all(per_example == per_example[:, :1])
    np.testing.assert_allclose(np.unique(per_example), [0.0, 1 / (1 - rate)], rtol=1e-6)
    dropped = np.mean(per_example[:, 0] == 0)
    tolerance = 4 * np.sqrt(rate * (1 - rate) / n)
    assert abs(dropped - rate) < tolerance
    # Scale-at-train: the expected output equals the inference output.
    assert abs(per_example.mean() - 1.0) < 4 * np.sqrt(rate / (1 - rate) / n)


@pytest.mark.parametrize("rate", [1.0, -0.1, float("nan"), "0.5"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="`rate`.*Received: rate="):
        StochasticDepth(rate)


@pytest.mark.parametrize(
    "inputs",
    [
        [np.ones((2, 3)), np.ones((2, 4))],
        [np.ones((2, 3))],
    ],
)
def test_bad_inputs(inputs):
    with pytest.raises(ValueError, match="`inputs`"):
        StochasticDepth(0.1)([keras.ops.convert_to_tensor(a) for a in inputs])
