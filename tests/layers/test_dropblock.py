import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from keras_smithing.layers import DropBlock2D
from keras_smithing.layers.dropblock import _dynamic_terms, _static_terms
from tests import harness
from tests.support_matrix import record


def test_harness():
    harness.check_layer(
        DropBlock2D,
        {"rate": 0.2, "block_size": 2, "seed": 1},
        input_shape=(2, 5, 5, 3),
        expected_output_shape=(2, 5, 5, 3),
        expected_num_trainable_weights=0,
        expected_num_seed_generators=1,
    )


@pytest.mark.distributed
def test_distributed_fit():
    def model_fn():
        inputs = keras.Input((6, 6, 1))
        hidden = keras.layers.Conv2D(2, 3, padding="same")(inputs)
        hidden = DropBlock2D(0.2, 3, seed=0)(hidden)
        return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(hidden))

    x = harness.random_data((32, 6, 6, 1))
    harness.check_distributed_fit(model_fn, x, np.zeros((32, 2)))


def _drop_mask(rate, block_size, shape, data_format="channels_last", seed=0):
    layer = DropBlock2D(rate, block_size, data_format=data_format, seed=seed)
    out = harness.to_numpy(layer(np.ones(shape, "float32"), training=True))
    return out, out == 0


@pytest.mark.parametrize("rate, block_size", [(0.1, 3), (0.3, 4), (0.2, 1)])
def test_dropped_fraction_matches_rate(rate, block_size):
    shape = (128, 12, 10, 2)
    _, dropped = _drop_mask(rate, block_size, shape)
    # Drops come in blocks of block_size**2 correlated activations.
    tolerance = 5 * np.sqrt(rate * (1 - rate) * block_size**2 / dropped.size)
    assert abs(dropped.mean() - rate) < tolerance


def test_drops_whole_blocks_and_rescales_each_example():
    block_size = 3
    out, dropped = _drop_mask(0.15, block_size, (16, 11, 11, 2), seed=4)
    # Morphological opening by a block x block square leaves the mask unchanged:
    # every dropped activation lies in a fully dropped square.
    d = np.moveaxis(dropped, -1, 1)
    windows = sliding_window_view(d, (block_size, block_size), axis=(2, 3))
    full = windows.all(axis=(-1, -2))
    opened = np.zeros_like(d)
    for i in range(block_size):
        for j in range(block_size):
            opened[:, :, i : i + full.shape[2], j : j + full.shape[3]] |= full
    np.testing.assert_array_equal(opened, d)
    # Kept activations of an example are scaled by size / kept count.
    per_example = out.reshape(len(out), -1)
    kept = (~dropped).reshape(len(out), -1)
    scale = kept.shape[1] / kept.sum(axis=1)
    for row, keep, s in zip(per_example, kept, scale):
        np.testing.assert_allclose(row[keep], s, rtol=1e-5)


def test_channels_first_matches_rate():
    _, dropped = _drop_mask(0.25, 2, (64, 3, 9, 8), data_format="channels_first")
    assert abs(dropped.mean() - 0.25) < 5 * np.sqrt(0.25 * 0.75 * 4 / dropped.size)


def test_inference_and_rate_zero_are_identity():
    x = harness.random_data((4, 6, 6, 2))
    np.testing.assert_array_equal(harness.to_numpy(DropBlock2D(0.3, 3)(x)), x)
    np.testing.assert_array_equal(
        harness.to_numpy(DropBlock2D(0.0, 3)(x, training=True)), x
    )


@pytest.mark.parametrize("rate", [1.0, -0.1, float("nan"), "0.5"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="`rate`.*Received: rate="):
        DropBlock2D(rate, 3)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"block_size": 0}, "block_size"),
        ({"block_size": 2.0}, "block_size"),
        ({"data_format": "NHWC"}, "data_format"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        DropBlock2D(**{"rate": 0.1, "block_size": 3, **kwargs})


def test_bad_inputs():
    with pytest.raises(ValueError, match="`inputs`"):
        DropBlock2D(0.1, 3)(np.ones((2, 6, 8), "float32"))


@pytest.mark.parametrize(
    "rate, block_size, height, width",
    [(0.1, 3, 12, 10), (0.3, 7, 3, 10), (0.2, 9, 4, 4), (0.15, 5, 5, 2)],
)
def test_seed_probability_inside_the_graph_matches_numpy(
    rate, block_size, height, width
):
    # The terms used when the height and width are known only at run time.
    gamma, valid = _static_terms(rate, block_size, height, width)
    dynamic_gamma, dynamic_valid = _dynamic_terms(
        rate,
        block_size,
        keras.ops.convert_to_tensor(height),
        keras.ops.convert_to_tensor(width),
    )
    np.testing.assert_allclose(harness.to_numpy(dynamic_gamma), gamma, rtol=1e-5)
    np.testing.assert_array_equal(harness.to_numpy(dynamic_valid), valid)
    # NumPy reference: seeds where the clipped block fits, each covering it.
    rows, cols = min(block_size, height), min(block_size, width)
    seeds = np.zeros((height, width))
    seeds[rows // 2 : height - (rows - 1) // 2, cols // 2 : width - (cols - 1) // 2] = 1
    np.testing.assert_array_equal(valid[0, :, :, 0], seeds)
    windows = sliding_window_view(
        np.pad(
            seeds,
            ((rows - 1 - rows // 2, rows // 2), (cols - 1 - cols // 2, cols // 2)),
        ),
        (rows, cols),
    )
    counts = windows.sum(axis=(-1, -2))
    np.testing.assert_allclose(np.mean(1 - (1 - gamma) ** counts), rate, rtol=1e-6)


def test_block_larger_than_the_feature_map_is_clipped_to_it():
    # A 7x7 block on 3x5 maps: the clipped block is the whole map, dropped or
    # kept per example and channel, with probability `rate`.
    _, dropped = _drop_mask(0.3, 7, (1000, 3, 5, 2), seed=2)
    per_map = dropped.transpose(0, 3, 1, 2).reshape(-1, 15)
    assert set(per_map.sum(axis=1)) <= {0, 15}
    assert abs(dropped.mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / len(per_map))
    # On a 3x10 map the block is 3 rows by 7 columns.
    _, dropped = _drop_mask(0.2, 7, (200, 3, 10, 1), seed=3)
    columns = dropped[..., 0].all(axis=1)  # Whole columns are dropped...
    np.testing.assert_array_equal(
        dropped[..., 0], np.broadcast_to(columns[:, None, :], (200, 3, 10))
    )
    for row in columns[columns.any(axis=1)]:
        assert row.sum() >= 7  # ...in runs of at least 7.


@pytest.mark.parametrize("jit_compile", harness.jit_modes())
def test_unknown_height_and_width(jit_compile):
    inputs = keras.Input((None, None, 2))
    hidden = keras.layers.Conv2D(2, 3, padding="same")(inputs)
    hidden = DropBlock2D(0.2, 5, seed=0)(hidden)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(hidden))
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
    # Feature maps larger and smaller than the block, in one model.
    for shape in [(4, 9, 7, 2), (4, 3, 4, 2), (4, 6, 6, 2)]:
        x = harness.random_data(shape)
        history = model.fit(x, np.zeros((4, 2)), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        np.testing.assert_allclose(
            model.predict(x, verbose=0),
            harness.to_numpy(model(x, training=False)),
            atol=1e-6,
        )
    if jit_compile:
        record(model.layers[2], "jit")


def test_unknown_height_and_width_in_a_tensorflow_graph():
    # Only TensorFlow graphs leave the height and width unknown while tracing
    # (JAX and PyTorch always trace concrete shapes).
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TensorFlow graphs only")
    import tensorflow as tf

    layer = DropBlock2D(0.25, 3, seed=0)
    step = tf.function(
        lambda x: layer(x, training=True),
        input_signature=[tf.TensorSpec((None, None, None, 2))],
    )
    out = step(np.ones((500, 8, 6, 2), "float32")).numpy()
    assert abs((out == 0).mean() - 0.25) < 5 * np.sqrt(0.25 * 0.75 * 9 / out.size)
    # Each example's kept activations are rescaled to keep its sum.
    np.testing.assert_allclose(out.reshape(500, -1).mean(axis=1), 1.0, rtol=1e-5)
