import keras
import numpy as np
import pytest

from keras_smithing import mc_predict
from keras_smithing.layers import ResidualBlock, StochasticDepth
from tests import harness


def test_harness_dense_projection():
    harness.check_layer(
        ResidualBlock,
        {"units": 6, "dropout": 0.1, "stochastic_depth": 0.2, "seed": 3},
        input_shape=(4, 5),
        expected_output_shape=(4, 6),
        expected_num_trainable_weights=9,
        expected_num_non_trainable_weights=4,
        expected_num_seed_generators=2,
        stochastic_training=True,
    )


def test_conv_postactivation_shapes():
    block = ResidualBlock(4, strides=2, preactivation=False, normalization="layer")
    out = block(harness.random_data((2, 6, 6, 3)), training=True)
    assert tuple(out.shape) == (2, 3, 3, 4) == block.compute_output_shape((2, 6, 6, 3))
    assert block.projection.strides == (2, 2)
    assert len(block.trainable_weights) == 10
    assert np.all(harness.to_numpy(out) >= 0)  # Post-activation ends with the ReLU.


def _dense(x, layer):
    kernel, *bias = layer.get_weights()
    return x @ kernel + (bias[0] if bias else 0)


def test_identity_preactivation_matches_numpy():
    x = harness.random_data((8, 5))
    block = ResidualBlock(5, normalization=None)
    out = harness.to_numpy(block(x))
    assert block.projection is None
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    expected = x + _dense(relu(_dense(relu(x), block.first)), block.second)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_postactivation_projection_matches_numpy():
    x = harness.random_data((8, 5))
    block = ResidualBlock(3, normalization=None, preactivation=False)
    out = harness.to_numpy(block(x))
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    residual = _dense(relu(_dense(x, block.first)), block.second)
    np.testing.assert_allclose(
        out, relu(_dense(x, block.projection) + residual), rtol=1e-5, atol=1e-5
    )


def test_zero_branch_is_identity():
    x = harness.random_data((2, 5, 5, 4))
    block = ResidualBlock(4, normalization="batch")
    block(x)
    block.second.set_weights([np.zeros_like(w) for w in block.second.get_weights()])
    np.testing.assert_allclose(harness.to_numpy(block(x, training=True)), x)


def test_stochastic_depth_drops_whole_branches():
    x = np.ones((256, 3), "float32")
    block = ResidualBlock(3, normalization=None, stochastic_depth=0.5, seed=0)
    block(x)
    assert isinstance(block.drop_path, StochasticDepth)
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    branch = _dense(relu(_dense(relu(x), block.first)), block.second)
    np.testing.assert_allclose(harness.to_numpy(block(x)), x + branch, atol=1e-5)
    out = harness.to_numpy(block(x, training=True))
    kept = ~np.all(np.isclose(out, x), axis=1)
    assert 0.35 < kept.mean() < 0.65
    np.testing.assert_allclose(out[kept], (x + 2 * branch)[kept], atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, shape, name",
    [
        ({"units": 0}, None, "units"),
        ({"units": 4, "normalization": "group"}, None, "normalization"),
        ({"units": 4, "dropout": 1.0}, None, "dropout"),
        ({"units": 4, "stochastic_depth": -0.1}, None, "stochastic_depth"),
        ({"units": 4, "strides": 2}, (None, 5), "strides"),
        ({"units": 4}, (None, None), "inputs"),
        ({"units": 4}, (None, 2, 2, 2, 2, 3), "inputs"),
    ],
)
def test_bad_arguments(kwargs, shape, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        ResidualBlock(**kwargs).build(shape)


def test_mc_predict_samples_the_blocks_dropout_but_not_batch_norm():
    inputs = keras.Input((6,))
    outputs = ResidualBlock(6, dropout=0.5, normalization="batch", seed=1)(inputs)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    assert mc_predict(model, x, num_samples=8).std.max() > 0
    plain = keras.Model(inputs, ResidualBlock(6, normalization="batch")(inputs))
    with pytest.raises(ValueError, match="no stochastic layer"):
        mc_predict(plain, x, num_samples=4)


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="torch.nn.Module API")
def test_torch_module_methods_reach_the_block():
    # A Keras layer is a torch.nn.Module there: `.to()` walks its children
    # through `Module._apply`, which the block must not shadow.
    block = ResidualBlock(units=4)
    block.build((2, 4))
    assert block.to("cpu") is block
