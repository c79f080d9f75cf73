import warnings

import keras
import numpy as np
import pytest

from keras_smithing.layers import GhostBatchNormalization
from tests import harness


def test_harness():
    harness.check_layer(
        GhostBatchNormalization,
        {"virtual_batch_size": 2},
        input_shape=(4, 3),
        expected_output_shape=(4, 3),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=2,
        supports_masking=True,
    )


def _ghost_reference(x, size, epsilon):
    out = []
    for ghost in np.split(x, range(size, len(x), size)):  # Last one may be smaller.
        axes = tuple(range(ghost.ndim - 1))
        mean, var = ghost.mean(axes), ghost.var(axes)
        out.append((ghost - mean) / np.sqrt(var + epsilon))
    return np.concatenate(out)


@pytest.mark.parametrize("shape", [(12, 5), (8, 3, 3, 2), (10, 5), (7, 2, 3)])
def test_training_matches_numpy(shape):
    x = harness.random_data(shape) * 3 + 1
    layer = GhostBatchNormalization(4, momentum=0.0, epsilon=1e-3)
    out = harness.to_numpy(layer(x, training=True))
    np.testing.assert_allclose(out, _ghost_reference(x, 4, 1e-3), atol=1e-5)
    axes = tuple(range(x.ndim - 1))
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(axes), atol=1e-5)
    np.testing.assert_allclose(
        layer.moving_variance.numpy(), x.var(axes), rtol=1e-5, atol=1e-5
    )


def test_whole_batch_equals_batch_normalization():
    x = harness.random_data((16, 4)) * 2 - 1
    ghost = GhostBatchNormalization(16, momentum=0.5)
    plain = keras.layers.BatchNormalization(momentum=0.5)
    np.testing.assert_allclose(
        harness.to_numpy(ghost(x, training=True)),
        harness.to_numpy(plain(x, training=True)),
        atol=1e-5,
    )
    for a, b in zip(ghost.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(
        harness.to_numpy(ghost(x, training=False)),
        harness.to_numpy(plain(x, training=False)),
        atol=1e-6,
    )


def test_masked_ghosts():
    x = harness.random_data((4, 3, 2))
    mask = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 1, 0]], bool)
    out = harness.to_numpy(
        GhostBatchNormalization(2, epsilon=0.0)(x, training=True, mask=mask)
    )
    first = x[:2][mask[:2]]  # Valid steps of the first ghost batch.
    expected = (first - first.mean(0)) / first.std(0)
    np.testing.assert_allclose(out[:2][mask[:2]], expected, atol=1e-4)


@pytest.mark.parametrize(
    "input_shape, mask",
    [
        ((1, 2, 3, 4), [[[True], [False]]]),  # (1, 2, 1): broadcast over axis 2.
        ((4, 2, 3, 4), "full"),
        ((4, 5, 3), [[1], [1], [0], [1]]),  # (4, 1) ints: broadcast over steps.
        ((4, 5, 3), [[1.0, 0.5, 0.0, 2.0, 1.0]]),  # (1, 5): over the batch.
    ],
)
def test_masks_as_batch_normalization_takes_them(input_shape, mask):
    rng = np.random.default_rng(0)
    x = rng.normal(size=input_shape).astype("float32") * 2 + 1
    if isinstance(mask, str):
        mask = rng.uniform(size=input_shape[:-1]) < 0.6
    mask = np.asarray(mask)
    ghost = GhostBatchNormalization(input_shape[0], momentum=0.5)
    plain = keras.layers.BatchNormalization(momentum=0.5)
    np.testing.assert_allclose(
        harness.to_numpy(ghost(x, training=True, mask=mask)),
        harness.to_numpy(plain(x, training=True, mask=mask)),
        atol=1e-5,
    )
    for a, b in zip(ghost.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_mask_of_the_wrong_rank_fails_as_in_batch_normalization():
    x, mask = np.ones((4, 5, 3), "float32"), np.ones((4, 5, 3), bool)
    for layer in (GhostBatchNormalization(2), keras.layers.BatchNormalization()):
        with pytest.raises(ValueError, match="one dimension less than the inputs"):
            layer(x, training=True, mask=mask)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`virtual_batch_size`"):
        GhostBatchNormalization(0)
    with pytest.raises(ValueError, match="`renorm`"):
        GhostBatchNormalization(4, renorm=True)
    with pytest.raises(ValueError, match="`axis`"):
        GhostBatchNormalization(4, axis=0)(np.ones((4, 3), "float32"))


def test_fit_with_a_last_batch_smaller_than_the_ghost_batches():
    # 10 examples in batches of 8: the second batch (2 examples) has an unknown
    # size at trace time and is not a multiple of the ghost batch size 4.
    x = harness.random_data((10, 3))
    layer = GhostBatchNormalization(4, momentum=0.0)
    model = keras.Sequential([keras.Input((3,)), layer])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    # momentum 0: the moving statistics are those of the last (2-example) batch.
    np.testing.assert_allclose(layer.moving_mean.numpy(), x[8:].mean(0), atol=1e-5)
    np.testing.assert_allclose(
        layer.moving_variance.numpy(), x[8:].var(0), rtol=1e-4, atol=1e-5
    )


@pytest.mark.distributed
def test_distributed_strategy():
    x = harness.random_data((64, 4))

    def model_fn():
        inputs = keras.Input((4,))
        hidden = keras.layers.Dense(8)(inputs)
        hidden = GhostBatchNormalization(4)(hidden)
        return keras.Model(inputs, keras.layers.Dense(1)(hidden))

    model = harness.check_distributed_fit(model_fn, x, x[:, :1], epochs=2)
    moving_mean = model.layers[2].moving_mean.numpy()
    assert np.all(np.isfinite(moving_mean)) and np.any(moving_mean != 0)


def test_warns_once_when_a_ghost_batch_holds_one_value_per_feature():
    layer = GhostBatchNormalization(virtual_batch_size=1)
    with pytest.warns(UserWarning, match="LayerNormalization"):
        outputs = layer(np.random.default_rng(0).normal(size=(4, 3)), training=True)
    np.testing.assert_allclose(harness.to_numpy(outputs), 0.0, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(np.ones((4, 3)), training=True)  # Once per layer.
    # One example of a sequence still has many values per feature: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GhostBatchNormalization(1)(np.ones((4, 5, 3)), training=True)
