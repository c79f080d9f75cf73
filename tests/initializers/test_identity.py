import os
import tempfile

import keras
import numpy as np
import pytest

from keras_smithing.initializers import ScaledIdentity
from tests import harness


def test_harness():
    harness.check_initializer(ScaledIdentity, {"gain": 0.5}, shapes=((4, 4), (3, 9)))


def test_square_kernel_is_scaled_identity():
    for dtype in ["float32", "float16"]:
        w = keras.ops.convert_to_numpy(ScaledIdentity(gain=0.9)((5, 5), dtype))
        assert w.dtype == dtype
        np.testing.assert_allclose(w, 0.9 * np.eye(5), rtol=1e-3)


def test_gated_recurrent_kernel_has_one_identity_per_gate():
    for gates in [3, 4]:
        w = keras.ops.convert_to_numpy(ScaledIdentity(gain=0.5)((3, gates * 3)))
        np.testing.assert_array_equal(w, np.tile(0.5 * np.eye(3), (1, gates)))


def test_lstm_recurrent_kernel():
    layer = keras.layers.LSTM(3, recurrent_initializer=ScaledIdentity(0.5))
    layer.build((None, 5, 2))
    np.testing.assert_array_equal(
        layer.cell.recurrent_kernel.numpy(), np.tile(0.5 * np.eye(3), (1, 4))
    )


def _irnn(gain):
    inputs = keras.Input((6, 2))
    rnn = keras.layers.SimpleRNN(
        4, activation="relu", recurrent_initializer=ScaledIdentity(gain)
    )
    return keras.Model(inputs, keras.layers.Dense(1)(rnn(inputs)))


def test_gain_survives_save_and_load():
    model = _irnn(0.7)
    model.compile(optimizer="sgd", loss="mse")
    x = harness.random_data((4, 6, 2))
    harness.check_saved_model(model, x)
    path = os.path.join(tempfile.mkdtemp(), "irnn.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    initializer = loaded.layers[1].cell.recurrent_initializer
    assert isinstance(initializer, ScaledIdentity)
    assert initializer.gain == 0.7
    # A model rebuilt from the saved config initializes with the saved gain.
    rebuilt = keras.Model.from_config(loaded.get_config())
    np.testing.assert_allclose(
        rebuilt.layers[1].cell.recurrent_kernel.numpy(), 0.7 * np.eye(4), rtol=1e-6
    )


def test_bad_shape():
    for shape in [(3, 4), (4, 3), (4,), (2, 2, 2), (0, 0)]:
        with pytest.raises(ValueError, match="`shape`.*square"):
            ScaledIdentity()(shape)


def test_bad_gain():
    for gain in [0.0, -0.5, float("inf"), None]:
        with pytest.raises(ValueError, match="`gain`.*Received: gain="):
            ScaledIdentity(gain)
