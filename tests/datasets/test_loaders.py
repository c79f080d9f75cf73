import numpy as np
import pytest

from keras_smithing.datasets import load_dataset, load_digits, load_mnist1d


def test_digits_default_split_is_60_20_20_and_scaled():
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_digits()
    total = len(y_train) + len(y_val) + len(y_test)
    assert total == 1797
    assert abs(len(y_val) / total - 0.2) < 0.01
    assert abs(len(y_test) / total - 0.2) < 0.01
    assert x_train.dtype == np.float32 and x_train.shape[1] == 64
    assert x_train.min() >= 0.0 and x_train.max() == 1.0
    # No example is in two splits.
    rows = {r.tobytes() for r in x_train}
    assert not any(r.tobytes() in rows for r in x_test if (r > 0).sum() > 20)


def test_digits_is_seeded():
    a, b, c = load_digits(seed=3), load_digits(seed=3), load_digits(seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_num_labeled_is_class_balanced_and_keeps_eval_splits():
    full, small = load_digits(), load_digits(num_labeled=100)
    assert small.x_train.shape == (100, 64)
    np.testing.assert_array_equal(np.bincount(small.y_train), [10] * 10)
    np.testing.assert_array_equal(full.x_test, small.x_test)


def test_mnist1d_keeps_the_paper_test_set():
    data = load_mnist1d()
    assert data.x_train.shape == (3000, 40)
    assert data.x_val.shape == (1000, 40)
    assert data.x_test.shape == (1000, 40)
    np.testing.assert_array_equal(data.x_test, load_mnist1d(seed=5).x_test)
    assert set(np.unique(data.y_train)) == set(range(10))


def test_load_dataset_by_name():
    assert load_dataset("digits", num_labeled=50).x_train.shape == (50, 64)
    with pytest.raises(ValueError, match="`name`"):
        load_dataset("mnist")


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"validation_fraction": 0.5, "test_fraction": 0.5}, "validation_fraction"),
        ({"validation_fraction": -0.1}, "validation_fraction"),
        ({"test_fraction": 1.2}, "test_fraction"),
        ({"num_labeled": 5000}, "num_labeled"),
        ({"num_labeled": 3}, "num_labeled"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received"):
        load_digits(**kwargs)


def test_mnist1d_bad_validation_fraction():
    with pytest.raises(ValueError, match="`validation_fraction`"):
        load_mnist1d(validation_fraction=0.9)


def test_mnist1d_leaves_the_global_generators_alone():
    import random

    from keras_smithing.datasets import loaders

    loaders._mnist1d_arrays.cache_clear()  # The first, generating call.
    np.random.seed(1)
    random.seed(1)
    expected = np.random.random(), random.random()
    np.random.seed(1)
    random.seed(1)
    load_mnist1d(num_samples=200)
    assert (np.random.random(), random.random()) == expected
