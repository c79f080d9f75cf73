import keras
import numpy as np
import pytest

from keras_smithing.layers import DropConnect, DropConnectDense
from keras_smithing.layers.dropconnect import keep_mask
from keras_smithing.layers.stochastic import sampling_scope
from tests import harness


def test_harness_dense():
    harness.check_layer(
        DropConnectDense,
        {"units": 3, "rate": 0.5, "seed": 1},
        input_shape=(8, 5),
        expected_output_shape=(8, 3),
        expected_num_trainable_weights=2,
        expected_num_seed_generators=1,
        stochastic_training=True,
    )


def _wrapper_kwargs(dtype=None):
    layer = keras.layers.Conv1D(2, 3, dtype=dtype)
    return {"layer": layer, "rate": 0.3, "seed": 1, "dtype": dtype}


def test_harness_wrapper():
    harness.check_layer(
        DropConnect,
        _wrapper_kwargs,
        input_shape=(4, 6, 2),
        expected_output_shape=(4, 4, 2),
        expected_num_trainable_weights=2,
        expected_num_seed_generators=1,
        stochastic_training=True,
    )


@pytest.mark.distributed
def test_distributed_fit():
    def model_fn():
        inputs = keras.Input((6,))
        hidden = DropConnectDense(8, 0.5, activation="relu", seed=0)(inputs)
        outputs = DropConnect(keras.layers.Dense(2), 0.5, seed=1)(hidden)
        return keras.Model(inputs, outputs)

    harness.check_distributed_fit(
        model_fn, harness.random_data((32, 6)), np.zeros((32, 2))
    )


def _identity_probe(layer, size):
    """Calls `layer` on the identity: row i is kernel row i, masked and scaled."""
    out = harness.to_numpy(layer(np.eye(size, dtype="float32"), training=True))
    return out - harness.to_numpy(layer.bias)


@pytest.mark.parametrize("rate", [0.5, 0.3])
def test_per_batch_mask_matches_numpy_reference(rate):
    size = 256
    layer = DropConnectDense(size, rate, seed=3, bias_initializer="ones")
    layer.build((None, size))
    kernel = harness.to_numpy(layer.kernel)
    masked = _identity_probe(layer, size)
    kept = masked != 0
    _, keep = keep_mask((1,), rate, keras.random.SeedGenerator(0))
    assert abs(keep - (1 - rate)) <= 2**-17
    # Kept weights are scaled by 1 / keep, dropped ones are exactly zero.
    np.testing.assert_allclose(masked[kept], kernel[kept] / keep, rtol=1e-5, atol=1e-6)
    n = kept.size
    assert abs((1 - kept.mean()) - (1 - keep)) < 4 * np.sqrt(rate * (1 - rate) / n)


def test_masks_change_between_calls_and_follow_the_seed():
    make = lambda: DropConnectDense(64, 0.5, seed=7)  # noqa: E731
    a, b = make(), make()
    a.build((None, 64))
    b.build((None, 64))
    b.set_weights(a.get_weights())
    first, second = _identity_probe(a, 64), _identity_probe(a, 64)
    assert not np.array_equal(first != 0, second != 0)
    np.testing.assert_array_equal(_identity_probe(b, 64), first)


@pytest.mark.parametrize("mask_per_example", [False, True])
def test_monte_carlo_mean_matches_inference(mask_per_example):
    rate, samples = 0.5, 4000
    x = harness.random_data((3, 10))
    layer = DropConnectDense(4, rate, seed=5, mask_per_example=mask_per_example)
    expected = harness.to_numpy(layer(x, training=False))
    tiled = np.tile(x, (samples, 1))
    # One call: a sampling scope draws one mask per stacked copy (per-batch
    # masks), and per-example masks differ per row anyway.
    with sampling_scope(samples):
        draws = harness.to_numpy(layer(tiled, training=False)).reshape(samples, 3, 4)
    assert len({d.tobytes() for d in draws[:, 0]}) > samples * 0.99
    tolerance = 5 * draws.std(axis=0) / np.sqrt(samples) + 1e-6
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - expected), tolerance)


def test_per_example_masks_differ_across_the_batch():
    layer = DropConnectDense(8, 0.5, seed=0, mask_per_example=True)
    x = np.ones((16, 8), "float32")
    out = harness.to_numpy(layer(x, training=True))
    assert len({row.tobytes() for row in out}) == 16


def test_inference_and_rate_zero_are_exactly_dense():
    x = harness.random_data((6, 5))
    dense = keras.layers.Dense(4, activation="tanh")
    dense.build((None, 5))
    for rate, training in ((0.5, False), (0.0, True)):
        layer = DropConnectDense(4, rate, activation="tanh")
        layer.build((None, 5))
        layer.set_weights(dense.get_weights())
        np.testing.assert_array_equal(
            harness.to_numpy(layer(x, training=training)), harness.to_numpy(dense(x))
        )


def test_wrapper_lstm_uses_one_recurrent_mask_per_sequence():
    rate, seed = 0.5, 11
    x = harness.random_data((4, 7, 3))
    lstm = keras.layers.LSTM(5)
    wrapper = DropConnect(lstm, rate, weight_names=("recurrent_kernel",), seed=seed)
    reference = harness.to_numpy(wrapper(x, training=False))
    weights = [np.array(w) for w in lstm.get_weights()]
    out = harness.to_numpy(wrapper(x, training=True))
    # The wrapped layer's variables are untouched.
    for before, after in zip(weights, lstm.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(out, reference)
    # An LSTM whose recurrent kernel carries the same fixed mask at every step.
    mask, keep = keep_mask(weights[1].shape, rate, keras.random.SeedGenerator(seed))
    masked = np.where(harness.to_numpy(mask), weights[1] / keep, 0)
    twin = keras.layers.LSTM(5)
    twin.build(x.shape)
    twin.set_weights([weights[0], masked, weights[2]])
    np.testing.assert_allclose(out, harness.to_numpy(twin(x)), rtol=1e-5, atol=1e-6)


def test_wrapper_trains_the_wrapped_weights():
    lstm = keras.layers.LSTM(4)
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            DropConnect(lstm, 0.5, weight_names=("kernel", "recurrent_kernel")),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    before = [np.array(w) for w in lstm.get_weights()]
    model.fit(harness.random_data((8, 5, 3)), np.ones((8, 1)), verbose=0)
    for old, new in zip(before, lstm.get_weights()):
        assert not np.allclose(old, new)


@pytest.mark.parametrize("rate", [1.0, -0.1, float("nan"), "0.5"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="`rate`.*Received: rate="):
        DropConnectDense(3, rate)
    with pytest.raises(ValueError, match="`rate`.*Received: rate="):
        DropConnect(keras.layers.Dense(3), rate)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"units": 0}, "units"),
        ({"units": 2.5}, "units"),
        ({"mask_per_example": "yes"}, "mask_per_example"),
    ],
)
def test_bad_dense_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        DropConnectDense(**{"units": 3, "rate": 0.5, **kwargs})


def test_bad_input_rank():
    # Dense's own input spec rejects it, naming the input and the rank.
    with pytest.raises(ValueError, match="Input 0.*min_ndim=2"):
        DropConnectDense(3, 0.5)(np.ones((4,), "float32"))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"layer": "dense"}, "layer"),
        ({"weight_names": "kernel"}, "weight_names"),
        ({"weight_names": ()}, "weight_names"),
    ],
)
def test_bad_wrapper_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        DropConnect(**{"layer": keras.layers.Dense(3), "rate": 0.5, **kwargs})


def test_wrapper_missing_weight():
    built = keras.layers.Dense(3)
    built.build((None, 4))
    with pytest.raises(ValueError, match="`weight_names`.*recurrent_kernel"):
        DropConnect(built, 0.5, weight_names=("recurrent_kernel",))
    with pytest.raises(ValueError, match="`weight_names`"):
        DropConnect(keras.layers.Dense(3), 0.5, weight_names=("gamma",))(
            np.ones((2, 4), "float32")
        )
