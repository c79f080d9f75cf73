import keras
import numpy as np
import pytest

from keras_smithing.pretraining import DenoisingAutoencoder
from tests import harness


def _data(n=64, features=8, seed=0):
    return np.random.default_rng(seed).random((n, features)).astype("float32")


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _fitted(dae, x):
    dae.compile(optimizer="adam", loss="binary_crossentropy")
    dae.fit(x, epochs=1, verbose=0)
    return dae


def test_harness_saved_model():
    x = _data()
    harness.check_saved_model(
        _fitted(DenoisingAutoencoder(4, rate=0.0, tied_weights=False, seed=0), x),
        x,
        fit_targets=x,
    )


def test_tied_reconstruction_matches_numpy():
    x = _data(5)
    dae = DenoisingAutoencoder(3, seed=1)
    out = keras.ops.convert_to_numpy(dae(x))
    kernel, bias = [keras.ops.convert_to_numpy(w) for w in dae.encoder.weights]
    visible_bias = keras.ops.convert_to_numpy(dae.visible_bias)
    code = _sigmoid(x @ kernel + bias)
    np.testing.assert_allclose(out, _sigmoid(code @ kernel.T + visible_bias), atol=1e-6)
    np.testing.assert_allclose(dae.transform(x), code, atol=1e-6)
    assert len(dae.trainable_weights) == 3  # Kernel, code bias, visible bias.


def test_corruption_only_in_training():
    x = np.ones((200, 50), "float32")
    masking = DenoisingAutoencoder(4, rate=0.3, seed=0)
    masking(x)
    corrupted = keras.ops.convert_to_numpy(
        masking._corrupt(keras.ops.convert_to_tensor(x))
    )
    assert set(np.unique(corrupted)) == {0.0, 1.0}  # Masking noise does not rescale.
    assert 0.27 < np.mean(corrupted == 0) < 0.33
    gaussian = DenoisingAutoencoder(4, corruption="gaussian", rate=0.5, seed=0)
    gaussian(x)
    noise = (
        keras.ops.convert_to_numpy(gaussian._corrupt(keras.ops.convert_to_tensor(x)))
        - x
    )
    assert 0.45 < noise.std() < 0.55
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(masking(x, training=False)),
        keras.ops.convert_to_numpy(masking(x)),
    )
    assert not np.allclose(
        keras.ops.convert_to_numpy(masking(x, training=True)),
        keras.ops.convert_to_numpy(masking(x)),
    )


def test_fit_without_targets_learns_to_reconstruct():
    x = (np.random.default_rng(0).random((128, 16)) < 0.3).astype("float32")
    x[:, 8:] = x[:, :8]  # Redundant inputs: a code of 8 can denoise them.
    dae = DenoisingAutoencoder(8, rate=0.2, seed=0)
    dae.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    history = dae.fit(x, epochs=12, batch_size=64, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < 0.8 * loss[0]
    untied = DenoisingAutoencoder(
        8, tied_weights=False, output_activation="linear", seed=0
    )
    untied.compile(optimizer="adam", loss="mse")
    untied.fit(x, epochs=1, verbose=0)
    assert untied.decoder_kernel.shape == (8, 16)


def test_config_round_trip():
    dae = DenoisingAutoencoder(
        5, corruption="gaussian", rate=0.1, activation="relu", seed=3
    )
    config = dae.get_config()
    assert DenoisingAutoencoder.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"units": 0}, "`units`"),
        ({"units": 4, "corruption": "salt"}, "`corruption`"),
        ({"units": 4, "rate": 1.0}, "`rate`"),
        ({"units": 4, "corruption": "gaussian", "rate": -0.1}, "`rate`"),
        ({"units": 4, "tied_weights": "yes"}, "`tied_weights`"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        DenoisingAutoencoder(**kwargs)
