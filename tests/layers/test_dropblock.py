import keras
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from keras_smithing.layers import DropBlock2D
from tests import harness


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
    with pytest.raises(ValueError, match="`block_size`.*Received: block_size=7"):
        DropBlock2D(0.1, 7)(np.ones((2, 6, 8, 1), "float32"))
    with pytest.raises(ValueError, match="`inputs`"):
        DropBlock2D(0.1, 3)(np.ones((2, 6, 8), "float32"))
