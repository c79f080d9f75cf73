"""Small datasets that ship with their packages: no network at run time."""

import dataclasses
import functools
import random

import numpy as np

from keras_smithing.utils.validation import (
    check_float,
    check_int,
    invalid_argument,
)


@dataclasses.dataclass(frozen=True)
class Splits:
    """Seeded train/validation/test splits as NumPy arrays.

    Unpacks like Keras's `load_data()`, with a validation pair in the middle:
    `(x_train, y_train), (x_val, y_val), (x_test, y_test) = load_digits()`.

    Attributes:
        x_train, y_train: Training inputs (float32) and integer labels.
        x_val, y_val: Validation inputs and labels.
        x_test, y_test: Test inputs and labels.
        num_classes: Number of classes.

    Example:

    >>> from keras_smithing.datasets import load_digits
    >>> splits = load_digits()
    >>> print(splits.x_train.shape, splits.y_val.shape, splits.num_classes)
    (1079, 64) (359,) 10
    >>> (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    >>> print(x_test.dtype, y_test.dtype)
    float32 int32
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    def __iter__(self):
        yield self.x_train, self.y_train
        yield self.x_val, self.y_val
        yield self.x_test, self.y_test


def _check_fractions(validation_fraction, test_fraction):
    validation_fraction = check_float(
        "validation_fraction", validation_fraction, 0.0, 1.0
    )
    if test_fraction is not None:
        test_fraction = check_float("test_fraction", test_fraction, 0.0, 1.0)
        if validation_fraction + test_fraction >= 1.0:
            raise invalid_argument(
                "validation_fraction",
                validation_fraction,
                f"validation_fraction + test_fraction < 1 (test_fraction="
                f"{test_fraction})",
            )
    return validation_fraction, test_fraction


def _labelled_subset(x, y, num_labeled, rng, num_classes):
    """Keeps `num_labeled` training examples, stratified by class."""
    if num_labeled is None:
        return x, y
    num_labeled = check_int("num_labeled", num_labeled, minimum=num_classes)
    if num_labeled > len(y):
        raise invalid_argument(
            "num_labeled",
            num_labeled,
            f"at most the training set size ({len(y)})",
        )
    per_class = [rng.permutation(np.flatnonzero(y == c)) for c in range(num_classes)]
    order = []
    # Round-robin over classes keeps the subset balanced.
    for i in range(max(len(p) for p in per_class)):
        order.extend(int(p[i]) for p in per_class if i < len(p))
    keep = np.sort(np.asarray(order[:num_labeled]))
    return x[keep], y[keep]


def _split(x, y, validation_fraction, test_fraction, num_labeled, seed, num_classes):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    num_val = int(round(validation_fraction * len(y)))
    num_test = int(round(test_fraction * len(y)))
    val, test = order[:num_val], order[num_val : num_val + num_test]
    train = order[num_val + num_test :]
    x_train, y_train = _labelled_subset(
        x[train], y[train], num_labeled, rng, num_classes
    )
    return x_train, y_train, x[val], y[val], x[test], y[test]


def load_digits(validation_fraction=0.2, test_fraction=0.2, num_labeled=None, seed=0):
    """scikit-learn's 8x8 handwritten digits, scaled to [0, 1], in seeded splits.

    1797 images of 64 pixels, 10 classes. The default split is 60 % training,
    20 % validation and 20 % test.

    Args:
        validation_fraction: Fraction of all examples held out for validation.
        test_fraction: Fraction of all examples held out for testing.
            `validation_fraction + test_fraction` must be below 1.
        num_labeled: If set, keep only this many (class-balanced) training
            examples, for small-data experiments. Validation and test are unchanged.
        seed: Seed of the shuffle and of the labelled subset.

    Returns:
        A `Splits` with `x_*` of shape `(n, 64)` (float32) and `y_*` (int32).

    Example:

    >>> from keras_smithing.datasets import load_digits
    >>> (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_digits()
    >>> print(x_train.shape, x_val.shape, x_test.shape)
    (1079, 64) (359, 64) (359, 64)
    >>> few = load_digits(num_labeled=100)  # 10 per class; the same val and test.
    >>> print(few.x_train.shape, few.x_val.shape, few.x_test.shape)
    (100, 64) (359, 64) (359, 64)
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    validation_fraction, test_fraction = _check_fractions(
        validation_fraction, test_fraction
    )
    seed = check_int("seed", seed, minimum=0)
    bunch = sklearn_load_digits()
    x = (bunch.data / 16.0).astype("float32")
    y = bunch.target.astype("int32")
    return Splits(
        *_split(x, y, validation_fraction, test_fraction, num_labeled, seed, 10),
        num_classes=10,
    )


@functools.lru_cache(maxsize=2)
def _mnist1d_arrays(num_samples):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    # mnist1d seeds NumPy's and Python's global generators: keep the caller's.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)  # Procedural: never the download path.
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return (
        data["x"].astype("float32"),
        data["y"].astype("int32"),
        data["x_test"].astype("float32"),
        data["y_test"].astype("int32"),
    )


def load_mnist1d(validation_fraction=0.2, num_labeled=None, seed=0, num_samples=5000):
    """MNIST-1D (Greydanus 2020), generated procedurally with the paper's settings.

    The 40-step signals are made by `mnist1d.data.make_dataset` (dataset seed 42,
    as in the paper), never downloaded. The paper's own test set (the last 20%) is
    kept as the test split; the validation split is drawn from its training part.

    Args:
        validation_fraction: Fraction of *all* examples moved from the paper's
            training part to validation (0.2 gives the 60/20/20 split).
        num_labeled: If set, keep only this many class-balanced training examples.
        seed: Seed of the validation draw and of the labelled subset.
        num_samples: Total examples to generate (the paper uses 5000).

    Returns:
        A `Splits` with `x_*` of shape `(n, 40)` (float32) and `y_*` (int32). Add a
        channel axis (`x[..., None]`) for Conv1D or RNN layers.

    Example:

    >>> from keras_smithing.datasets import load_mnist1d
    >>> (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_mnist1d()
    >>> print(x_train.shape, x_val.shape, x_test.shape)
    (3000, 40) (1000, 40) (1000, 40)
    >>> print(x_train[..., None].shape)  # For Conv1D or RNN layers.
    (3000, 40, 1)
    """
    num_samples = check_int("num_samples", num_samples, minimum=100)
    validation_fraction, _ = _check_fractions(validation_fraction, None)
    if validation_fraction >= 0.8:
        raise invalid_argument(
            "validation_fraction",
            validation_fraction,
            "a float in (0, 0.8): the paper's test set is the last 20%",
        )
    seed = check_int("seed", seed, minimum=0)
    x, y, x_test, y_test = _mnist1d_arrays(num_samples)
    x_train, y_train, x_val, y_val, _, _ = _split(
        x, y, validation_fraction * num_samples / len(y), 0.0, num_labeled, seed, 10
    )
    return Splits(
        x_train, y_train, x_val, y_val, x_test.copy(), y_test.copy(), num_classes=10
    )


def load_dataset(name, **kwargs):
    """Loads a dataset by name: "digits" or "mnist1d" (keyword arguments passed on).

    Example:

    >>> from keras_smithing.datasets import load_dataset
    >>> splits = load_dataset("digits", num_labeled=200, seed=1)
    >>> print(splits.x_train.shape, splits.num_classes)
    (200, 64) 10
    """
    loaders = {"digits": load_digits, "mnist1d": load_mnist1d}
    if name not in loaders:
        raise invalid_argument("name", name, f"one of {sorted(loaders)}")
    return loaders[name](**kwargs)
