import warnings

import keras
import numpy as np
import pytest

from keras_smithing.optimizers import LayerwiseLearningRate
from tests import harness

TARGETS = {"backbone/kernel": np.array([1.0, -2.0]), "head/kernel": np.array([0.5])}


def variable(path, value):
    scope, name = path.split("/")
    with keras.name_scope(scope):
        return keras.Variable(np.asarray(value, "float32"), name=name)


def train(make_optimizer, steps=8, factors=None):
    """Fits `sum (w - target)^2` per variable; returns the final values by path.

    With `factors`, each variable instead gets its own plain optimizer whose
    learning rate is scaled by `factors[path]` (the reference).
    """
    variables = {path: variable(path, np.zeros_like(t)) for path, t in TARGETS.items()}
    if factors is None:
        optimizers = {None: make_optimizer(1.0)}
    else:
        optimizers = {path: make_optimizer(factors[path]) for path in variables}
    for _ in range(steps):
        grads = {
            path: 2.0 * (keras.ops.convert_to_numpy(v) - TARGETS[path])
            for path, v in variables.items()
        }
        for key, optimizer in optimizers.items():
            paths = list(variables) if key is None else [key]
            optimizer.apply(
                [keras.ops.convert_to_tensor(grads[p], "float32") for p in paths],
                [variables[p] for p in paths],
            )
    return {path: keras.ops.convert_to_numpy(v) for path, v in variables.items()}


def test_harness():
    harness.check_optimizer(
        lambda: LayerwiseLearningRate(
            keras.optimizers.SGD(0.1, momentum=0.9),
            multipliers={"hidden": 0.1, "head/bias": 0.0},
        )
    )


@pytest.mark.parametrize(
    "make_inner",
    [
        lambda lr: keras.optimizers.SGD(0.1 * lr, momentum=0.9, nesterov=True),
        lambda lr: keras.optimizers.Adam(0.1 * lr),
        lambda lr: keras.optimizers.RMSprop(0.05 * lr, momentum=0.5),
        lambda lr: keras.optimizers.AdamW(0.1 * lr, weight_decay=0.1),
    ],
    ids=["nesterov", "adam", "rmsprop", "adamw"],
)
def test_equals_scaled_learning_rate(make_inner):
    got = train(lambda _: LayerwiseLearningRate(make_inner(1.0), {"^backbone": 0.1}))
    want = train(make_inner, factors={"backbone/kernel": 0.1, "head/kernel": 1.0})
    for path in TARGETS:
        np.testing.assert_allclose(got[path], want[path], rtol=1e-5, atol=1e-6)
    assert not np.allclose(got["backbone/kernel"], 0.0)


def test_factor_zero_freezes_exactly():
    got = train(
        lambda _: LayerwiseLearningRate(
            keras.optimizers.Adam(0.1), {"backbone": 0.0, "head": 2.0}
        )
    )
    want = train(
        lambda f: keras.optimizers.Adam(0.1 * f),
        factors={"backbone/kernel": 1.0, "head/kernel": 2.0},
    )
    np.testing.assert_array_equal(got["backbone/kernel"], [0.0, 0.0])
    np.testing.assert_allclose(got["head/kernel"], want["head/kernel"], rtol=1e-5)


def test_first_matching_pattern_wins():
    optimizer = LayerwiseLearningRate("sgd", {"kernel": 0.5, "head": 0.1})
    assert optimizer.factor(variable("head/kernel", 1.0)) == 0.5
    assert optimizer.factor(variable("head/bias", 1.0)) == 0.1
    assert optimizer.factor(variable("body/bias", 1.0)) == 1.0


def test_unmatched_pattern_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(
            lambda _: LayerwiseLearningRate("sgd", {"backbone": 0.5, "^decoder": 0.1}),
            steps=3,
        )
    messages = [str(w.message) for w in caught if "match" in str(w.message)]
    assert len(messages) == 1 and "'^decoder'" in messages[0]


@pytest.mark.distributed
def test_distributed_fit_keeps_frozen_layer():
    x, y = harness.random_data((32, 5)), harness.random_data((32, 2), seed=1)
    initial = {}

    def model_fn():
        inputs = keras.Input((5,))
        hidden = keras.layers.Dense(4, activation="tanh", name="hidden")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(2, name="head")(hidden))
        initial.update({w.path: keras.ops.convert_to_numpy(w) for w in model.weights})
        return model

    model = harness.check_distributed_fit(
        model_fn,
        x,
        y,
        optimizer_fn=lambda: LayerwiseLearningRate(
            keras.optimizers.Adam(0.01), {"^hidden": 0.0, "^head": 0.5}
        ),
    )
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        if weight.path.startswith("hidden"):
            np.testing.assert_array_equal(value, initial[weight.path])
        else:
            assert not np.allclose(value, initial[weight.path])


def test_bad_multipliers():
    bad = [{}, ["hidden"], {"hidden": -1.0}, {"hidden": "fast"}, {"[": 1.0}, {3: 1.0}]
    for value in bad:
        with pytest.raises(ValueError, match="`multipliers.*Received: multipliers"):
            LayerwiseLearningRate("sgd", value)
    with pytest.raises(ValueError, match="`optimizer`"):
        LayerwiseLearningRate("nope", {"a": 1.0})


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_scaled_step_is_the_float_formula_exactly(dtype):
    # `old + factor * (new - old)` in the variable's dtype, bit for bit, with
    # `new` what the inner optimizer alone makes of the same step.
    rng = np.random.default_rng(0)
    start = rng.normal(size=(5, 7)).astype(dtype)
    grad = keras.ops.convert_to_tensor(rng.normal(size=(5, 7)), dtype)
    with keras.name_scope("backbone"):
        weight = keras.Variable(start, name="kernel", dtype=dtype)
    twin = keras.Variable(start, name="twin", dtype=dtype)
    optimizer = LayerwiseLearningRate(keras.optimizers.SGD(0.3), {"backbone": 0.1})
    optimizer.apply([grad], [weight])
    keras.optimizers.SGD(0.3).apply([grad], [twin])
    new = keras.ops.convert_to_numpy(twin)
    step = (new - start).astype(dtype)
    want = (start + np.asarray(0.1, dtype) * step).astype(dtype)
    got = keras.ops.convert_to_numpy(weight)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
