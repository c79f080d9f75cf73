import numpy as np
import pytest

from keras_smithing.layers import MCDropout
from tests import harness


def test_harness():
    harness.check_layer(
        MCDropout,
        {"rate": 0.3, "seed": 1},
        input_shape=(8, 5),
        expected_output_shape=(8, 5),
        expected_num_trainable_weights=0,
        expected_num_seed_generators=1,
        stochastic_inference=True,
    )


def test_samples_at_inference():
    layer = MCDropout(0.5, seed=3)
    x = np.ones((64, 32), "float32")
    out = np.asarray(layer(x, training=False))
    dropped = np.mean(out == 0)
    assert 0.4 < dropped < 0.6
    np.testing.assert_allclose(out[out != 0], 2.0)


@pytest.mark.parametrize("rate", [1.0, -0.1, float("nan"), "0.5"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="`rate`.*Received: rate="):
        MCDropout(rate)
