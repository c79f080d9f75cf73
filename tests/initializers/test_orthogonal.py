import keras
import numpy as np
import pytest

from keras_smithing.initializers import SVDOrthogonal
from tests import harness


def test_harness():
    harness.check_initializer(
        SVDOrthogonal, {"gain": 1.5, "seed": 3}, shapes=((4, 6), (6, 4), (3, 3, 2, 8))
    )


@pytest.mark.parametrize("gain", [0.5, 2.0])
def test_rows_are_orthonormal_times_gain(gain):
    for dtype, atol in [("float32", 1e-5), ("float16", 5e-3)]:
        for shape in [(3, 7), (5, 5), (1, 4), (2, 2, 3, 16)]:
            w = keras.ops.convert_to_numpy(SVDOrthogonal(gain, seed=0)(shape, dtype))
            assert w.dtype == dtype
            matrix = w.astype("float64").reshape(-1, shape[-1])
            np.testing.assert_allclose(
                matrix @ matrix.T, gain**2 * np.eye(len(matrix)), atol=atol * gain**2
            )


def test_tall_kernels_have_orthonormal_columns():
    for shape in [(9, 4), (3, 3, 4, 2)]:
        w = keras.ops.convert_to_numpy(SVDOrthogonal(gain=3.0, seed=1)(shape))
        matrix = w.astype("float64").reshape(-1, shape[-1])
        singular_values = np.linalg.svd(matrix, compute_uv=False)
        np.testing.assert_allclose(singular_values, 3.0, rtol=1e-5)


def test_seeding():
    a, b, c = (
        keras.ops.convert_to_numpy(SVDOrthogonal(seed=s)((6, 6))) for s in (7, 7, 8)
    )
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    generator = SVDOrthogonal(seed=keras.random.SeedGenerator(7))
    first, second = generator((6, 6)), generator((6, 6))
    assert not np.allclose(first, second)


def test_matrices_are_not_biased_towards_a_direction():
    # Haar-distributed rows: the mean over many draws of W[0, 0]**2 is 1 / cols.
    generator = SVDOrthogonal(seed=keras.random.SeedGenerator(0))
    draws = [keras.ops.convert_to_numpy(generator((2, 4)))[0, 0] for _ in range(400)]
    assert abs(np.mean(np.square(draws)) - 0.25) < 0.05


def test_bad_gain():
    for gain in [0.0, -1.0, float("nan"), "1"]:
        with pytest.raises(ValueError, match="`gain`.*Received: gain="):
            SVDOrthogonal(gain=gain)


def test_rank_one_shape():
    for shape in [(5,), ()]:
        with pytest.raises(ValueError, match="`shape`.*rank >= 2"):
            SVDOrthogonal()(shape)
