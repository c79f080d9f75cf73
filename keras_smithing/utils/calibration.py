"""Calibration of predicted class probabilities: reliability curve and ECE."""

import dataclasses

import numpy as np

from keras_smithing.utils.validation import check_array, check_int, invalid_data


@dataclasses.dataclass(frozen=True)
class Reliability:
    """A reliability curve over equal-width confidence bins, empty bins left out.

    Attributes:
        confidence: Mean confidence (top-class probability) of each bin.
        accuracy: Fraction of the bin's predictions that are correct.
        count: Number of examples in each bin.
        ece: Expected calibration error: the count-weighted mean of
            `|accuracy - confidence|` over the bins.

    Example:

    >>> import numpy as np
    >>> from keras_smithing.utils import reliability
    >>> probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    >>> curve = reliability(probabilities, np.array([0, 1, 1, 1]), bins=5)
    >>> print(curve.confidence, curve.accuracy, curve.count)
    [0.65 0.85] [0.5 1. ] [2 2]
    >>> print(round(curve.ece, 2))
    0.15
    """

    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray
    ece: float


def reliability(probabilities, labels, bins=10):
    """Bins predictions by confidence and compares confidence with accuracy.

    A calibrated classifier is right 80 % of the time when it says 0.8. Use it
    on the averaged predictions of `keras_smithing.mc_predict` to see whether MC
    dropout or Bayesian layers are better calibrated than a single pass.

    Args:
        probabilities: Array `(num_examples, num_classes)` of class probabilities.
        labels: Integer array `(num_examples,)` of true classes.
        bins: Positive integer, number of equal-width bins on [0, 1].

    Returns:
        A `Reliability`.

    Reference:
        Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern Neural
        Networks", ICML 2017.

    Example:

    >>> import numpy as np
    >>> from keras_smithing.utils import reliability
    >>> probabilities = np.array([[0.9, 0.1], [0.2, 0.8]])  # E.g. mc_predict(...).mean
    >>> curve = reliability(probabilities, np.array([0, 0]))
    >>> print(round(curve.ece, 2))  # Confident in a wrong answer: poorly calibrated.
    0.45
    """
    bins = check_int("bins", bins)
    probabilities = check_array(
        "probabilities",
        probabilities,
        ranks=(2,),
        expected="a non-empty, finite 2-D array (num_examples, num_classes)",
    ).astype("float64")
    if probabilities.min() < 0 or probabilities.max() > 1:
        raise invalid_data(
            "probabilities",
            "has values outside [0, 1]",
            "pass predicted probabilities (a softmax or sigmoid output)",
            f"min(probabilities)={probabilities.min():.3g}, "
            f"max(probabilities)={probabilities.max():.3g}",
        )
    labels = np.asarray(labels)
    if labels.shape != probabilities.shape[:1]:
        raise invalid_data(
            "labels",
            "does not hold one class per row of `probabilities`",
            f"pass integer classes of shape {probabilities.shape[:1]}",
            f"labels.shape={labels.shape}",
        )
    confidence = probabilities.max(axis=-1)
    correct = probabilities.argmax(axis=-1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    filled = count > 0
    mean_confidence = np.bincount(which, confidence, bins)[filled] / count[filled]
    accuracy = np.bincount(which, correct, bins)[filled] / count[filled]
    count = count[filled]
    ece = float(np.sum(count * np.abs(accuracy - mean_confidence)) / count.sum())
    return Reliability(mean_confidence, accuracy, count, ece)
