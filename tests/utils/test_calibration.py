import numpy as np
import pytest

from keras_smithing.utils import reliability


def test_reliability_matches_a_hand_computed_curve():
    probabilities = np.array([[0.95, 0.05], [0.9, 0.1], [0.35, 0.65], [0.4, 0.6]])
    labels = np.array([0, 1, 1, 1])
    curve = reliability(probabilities, labels, bins=10)
    # Bins [0.6, 0.7): 0.65 (right), 0.6 (right); [0.9, 1]: 0.95 (right), 0.9 (wrong).
    np.testing.assert_allclose(curve.confidence, [0.625, 0.925])
    np.testing.assert_allclose(curve.accuracy, [1.0, 0.5])
    np.testing.assert_array_equal(curve.count, [2, 2])
    assert curve.ece == pytest.approx((2 * 0.375 + 2 * 0.425) / 4)


def test_calibrated_predictions_have_a_small_ece():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    labels = (rng.uniform(size=confidence.size) >= confidence).astype(int)
    probabilities = np.stack([confidence, 1 - confidence], axis=-1)
    calibrated = reliability(probabilities, labels).ece
    overconfident = reliability(probabilities, np.ones_like(labels)).ece
    assert calibrated < 0.02 < 0.5 < overconfident


@pytest.mark.parametrize(
    "probabilities, labels, bins, argument",
    [
        (np.ones((3, 2)) / 2, np.zeros(3, int), 0, "bins"),
        (np.ones(3) / 2, np.zeros(3, int), 10, "probabilities"),
        (np.ones((0, 2)), np.zeros(0, int), 10, "probabilities"),
        (np.ones((3, 2)) / 2, np.zeros(4, int), 10, "labels"),
    ],
)
def test_bad_input_names_the_argument(probabilities, labels, bins, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        reliability(probabilities, labels, bins=bins)


def test_expected_calibration_error_weights_bins_by_their_counts():
    # Three predictions in [0.9, 1] (all right: gap 0.05) and one at 0.55 (wrong:
    # gap 0.55): ECE = (3 * 0.05 + 1 * 0.55) / 4, not the mean of the two gaps.
    probabilities = np.array([[0.95, 0.05]] * 3 + [[0.55, 0.45]])
    curve = reliability(probabilities, np.array([0, 0, 0, 1]), bins=10)
    np.testing.assert_array_equal(curve.count, [1, 3])
    assert curve.ece == pytest.approx((3 * 0.05 + 0.55) / 4)
    assert curve.ece != pytest.approx((0.05 + 0.55) / 2)
