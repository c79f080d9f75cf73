import keras
import numpy as np
import pytest

from keras_smithing.utils import overfit_tiny_batch, set_seed
from keras_smithing.utils.validation import (
    check_float,
    check_int,
    check_one_of,
    check_range,
    check_rate,
)


def test_set_seed_reproduces_keras_and_numpy_draws():
    set_seed(7)
    a = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,))))
    set_seed(7)
    b = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,))))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="`seed`"):
        set_seed(-3)


def test_set_seed_reproduces_a_shuffled_fit_with_stochastic_layers():
    from keras_smithing.layers import DropConnectDense, MCDropout

    x = np.random.default_rng(0).standard_normal((64, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    def fit_weights():
        set_seed(3)
        model = keras.Sequential(
            [
                keras.Input((8,)),
                DropConnectDense(16, 0.3, activation="relu"),
                MCDropout(0.2),
                keras.layers.Dense(2),
            ]
        )
        model.compile(
            optimizer="adam",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(x, y, batch_size=16, epochs=2, shuffle=True, verbose=0)
        return model.get_weights()

    first, second = fit_weights(), fit_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def _classifier(hidden=32):
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(3),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def test_overfit_tiny_batch_passes_for_a_sound_model_and_leaves_it_untouched():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 8)).astype("float32"), rng.integers(0, 3, 16)
    model = _classifier()
    before = [w.copy() for w in model.get_weights()]
    report = overfit_tiny_batch(model, x, y, num_examples=8, steps=200)
    assert report.passed, report.message
    assert report.final_loss < report.initial_loss
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_overfit_tiny_batch_fails_with_a_clear_message():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 8)).astype("float32"), rng.integers(0, 3, 16)
    report = overfit_tiny_batch(
        _classifier(), x, y, steps=3, optimizer=keras.optimizers.SGD(1e-6)
    )
    assert not report.passed
    assert "learning rate" in report.message


def test_overfit_tiny_batch_needs_a_loss():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="`loss`"):
        overfit_tiny_batch(model, np.zeros((4, 2)), np.zeros((4, 1)))


@pytest.mark.parametrize(
    "call",
    [
        lambda: check_rate("rate", 1.0),
        lambda: check_rate("rate", float("nan")),
        lambda: check_rate("rate", True),
        lambda: check_int("units", 0),
        lambda: check_int("units", 2.5),
        lambda: check_float("gain", 0.0, minimum=0.0),
        lambda: check_float("gain", float("inf")),
        lambda: check_float("p", 0.0, 0.0, 1.0, strict=(True, False)),
        lambda: check_float("p", 1.0, 0.0, 1.0, strict=(False, True)),
        lambda: check_one_of("mode", "x", ("a", "b")),
        lambda: check_range("range", (2.0, 1.0)),
        lambda: check_range("range", "ab"),
    ],
)
def test_validation_helpers_raise_with_the_argument_name(call):
    with pytest.raises(ValueError, match=r"argument `\w+`.*Received: \w+="):
        call()


def test_validation_helpers_accept_and_normalize_good_values():
    assert check_rate("rate", 0) == 0.0
    assert check_rate("rate", 1, allow_one=True) == 1.0
    assert check_int("k", np.int64(3)) == 3
    assert check_range("range", [1, 1], allow_equal=True) == (1.0, 1.0)


def test_check_float_half_open_bounds():
    assert check_float("p", 1.0, 0.0, 1.0, strict=(True, False)) == 1.0
    assert check_float("p", 0.0, 0.0, 1.0, strict=(False, True)) == 0.0
    with pytest.raises(ValueError, match=r"Expected a finite float > 0.0 and <= 1.0"):
        check_float("p", 0.0, 0.0, 1.0, strict=(True, False))
