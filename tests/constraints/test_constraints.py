import keras
import numpy as np
import pytest

from keras_smithing.constraints import Orthogonal, SpectralNormBound
from tests import harness


def test_harness_orthogonal():
    harness.check_constraint(Orthogonal, {})


def test_harness_spectral_norm_bound():
    harness.check_constraint(SpectralNormBound, {"max_value": 0.8})


def _project(constraint, w):
    return keras.ops.convert_to_numpy(constraint(keras.ops.convert_to_tensor(w)))


def test_orthogonal_is_the_nearest_orthogonal_matrix():
    for shape in [(4, 4), (3, 7), (7, 3), (3, 3, 2, 5)]:
        w = harness.random_data(shape, seed=2)
        projected = _project(Orthogonal(), w)
        matrix = w.astype("float64").reshape(-1, shape[-1])
        u, _, vt = np.linalg.svd(matrix, full_matrices=False)
        np.testing.assert_allclose(
            projected.reshape(matrix.shape), u @ vt, atol=1e-5, rtol=1e-5
        )


def test_orthogonal_keeps_dtype():
    w = keras.ops.convert_to_tensor(harness.random_data((5, 5)), "float16")
    projected = Orthogonal()(w)
    assert keras.backend.standardize_dtype(projected.dtype) == "float16"
    matrix = keras.ops.convert_to_numpy(projected).astype("float32")
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(5), atol=5e-3)


def test_spectral_norm_bound():
    for scale, max_value in [(10.0, 1.0), (0.01, 1.0), (3.0, 2.5)]:
        w = scale * harness.random_data((6, 4), seed=3)
        projected = _project(SpectralNormBound(max_value), w)
        sigma = np.linalg.norm(w.astype("float64"), ord=2)
        expected = w * min(1.0, max_value / sigma)
        np.testing.assert_allclose(projected, expected, rtol=1e-5, atol=1e-7)
        assert np.linalg.norm(projected, ord=2) <= max_value * (1 + 1e-5)


def test_spectral_norm_bound_flattens_conv_kernels():
    w = 5.0 * harness.random_data((3, 3, 2, 4))
    projected = _project(SpectralNormBound(1.0), w)
    assert np.linalg.norm(projected.reshape(18, 4), ord=2) == pytest.approx(1.0, 1e-5)


def test_spectral_norm_bound_leaves_zero_kernel_alone():
    np.testing.assert_array_equal(
        _project(SpectralNormBound(1.0), np.zeros((3, 3), "float32")), 0.0
    )


@pytest.mark.parametrize("constraint", [Orthogonal(), SpectralNormBound(1.0)])
def test_recurrent_constraint_is_enforced_during_fit(constraint):
    x, y = harness.random_data((16, 5, 3)), harness.random_data((16, 1), seed=1)
    rnn = keras.layers.SimpleRNN(
        4, recurrent_initializer="glorot_uniform", recurrent_constraint=constraint
    )
    model = keras.Sequential([keras.Input((5, 3)), rnn, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    singular_values = np.linalg.svd(rnn.cell.recurrent_kernel.numpy(), compute_uv=False)
    if isinstance(constraint, Orthogonal):
        np.testing.assert_allclose(singular_values, 1.0, atol=1e-5)
    else:
        assert singular_values.max() <= 1.0 + 1e-5


def test_bad_max_value():
    for max_value in [0.0, -1.0, float("nan"), None]:
        with pytest.raises(ValueError, match="`max_value`.*Received: max_value="):
            SpectralNormBound(max_value)


def test_rank_one_weight():
    for constraint in [Orthogonal(), SpectralNormBound(1.0)]:
        with pytest.raises(ValueError, match="`w`.*rank >= 2"):
            constraint(keras.ops.ones((4,)))


def test_keras_constraints_are_reexported():
    from keras_smithing.constraints import MaxNorm, MinMaxNorm, NonNeg, UnitNorm

    assert MaxNorm is keras.constraints.MaxNorm
    assert MinMaxNorm is keras.constraints.MinMaxNorm
    assert NonNeg is keras.constraints.NonNeg
    assert UnitNorm is keras.constraints.UnitNorm
