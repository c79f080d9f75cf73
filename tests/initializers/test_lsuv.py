import keras
import numpy as np
import pytest

from keras_smithing.initializers import lsuv_init
from tests import harness


def _mlp(depth=4, width=16, input_dim=8, **dense_kwargs):
    inputs = keras.Input((input_dim,))
    h = inputs
    for i in range(depth):
        h = keras.layers.Dense(
            width, activation="relu", name=f"dense_{i}", **dense_kwargs
        )(h)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(h))


def _pre_activation_std(model, layer, x):
    """NumPy reference: std of `inputs @ kernel + bias` of a Dense layer."""
    inputs = keras.Model(model.inputs, layer.input).predict(x, verbose=0)
    kernel, bias = (w.astype("float64") for w in layer.get_weights())
    return np.std(inputs.astype("float64") @ kernel + bias)


@pytest.mark.parametrize("target_std, tol", [(1.0, 0.1), (0.5, 0.02)])
def test_every_layer_reaches_target_std(target_std, tol):
    x = harness.random_data((128, 8))
    # Tiny initial weights: without LSUV the signal would vanish with depth.
    model = _mlp(kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3))
    report = lsuv_init(model, x, target_std=target_std, tol=tol, seed=0)
    dense_layers = [
        layer for layer in model.layers if isinstance(layer, keras.layers.Dense)
    ]
    assert [r.name for r in report] == [layer.name for layer in dense_layers]
    for layer, record in zip(dense_layers, report):
        assert record.status == "converged"
        std = _pre_activation_std(model, layer, x)
        assert abs(std - target_std) <= tol
        assert record.final_std == pytest.approx(std, rel=1e-3)
    # The hidden kernels are orthogonal up to the LSUV scale.
    kernel = dense_layers[1].kernel.numpy().astype("float64")
    gram = kernel.T @ kernel
    np.testing.assert_allclose(gram, gram[0, 0] * np.eye(16), atol=1e-4 * gram[0, 0])


def test_conv_sequential_model_and_max_iter():
    x = harness.random_data((32, 8, 8, 3))
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(6, 3, activation="relu", name="conv"),
            keras.layers.Flatten(),
            keras.layers.Dense(4, name="out"),
        ]
    )
    # Unequal biases make the std non-linear in the kernel scale.
    model.layers[-1].bias.assign([0.5, -0.5, 0.5, -0.5])
    report = lsuv_init(model, x, tol=1e-3, max_iter=1)
    assert [r.name for r in report] == ["conv", "out"]
    assert report[0].status == "converged"
    # One rescaling cannot reach a tight tolerance through the biases.
    assert report[1].status == "max_iter" and report[1].iterations == 1
    report = lsuv_init(model, x, tol=1e-3, max_iter=50)
    assert all(r.status == "converged" for r in report)
    std = _pre_activation_std(model, model.layers[-1], x)
    assert abs(std - 1.0) <= 1e-3


def test_dead_layer_stops_with_a_warning():
    x = harness.random_data((64, 8))
    inputs = keras.Input((8,))
    dead = keras.layers.Dense(
        16, activation="relu", bias_initializer=keras.initializers.Constant(-100.0)
    )(inputs)
    h = keras.layers.Dense(16, activation="relu", name="after_dead")(dead)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(h))
    with pytest.warns(UserWarning, match="after_dead.*std 0"):
        report = lsuv_init(model, x)
    assert [r.status for r in report] == ["converged", "dead", "skipped"]
    assert np.all(np.isfinite(model.layers[2].kernel.numpy()))
    assert np.all(np.isfinite(model.predict(x, verbose=0)))


def test_zero_batch_is_dead_at_the_first_layer():
    with pytest.warns(UserWarning, match="dense_0"):
        report = lsuv_init(_mlp(depth=2), np.zeros((16, 8), "float32"))
    assert [r.status for r in report] == ["dead", "skipped", "skipped"]


def test_unbuilt_model():
    model = keras.Sequential([keras.layers.Dense(4)])
    with pytest.raises(ValueError, match="`model`.*built"):
        lsuv_init(model, harness.random_data((8, 3)))


def test_model_without_kernels():
    model = keras.Sequential([keras.Input((3,)), keras.layers.ReLU()])
    with pytest.raises(ValueError, match="`model`.*Dense or Conv"):
        lsuv_init(model, harness.random_data((8, 3)))


def test_x_batch_not_matching_the_model():
    model = _mlp(depth=1)
    for x in [np.zeros((8, 5)), np.zeros((8, 8, 1)), [np.zeros((8, 8))] * 2]:
        with pytest.raises(ValueError, match="`x_batch`.*input shapes"):
            lsuv_init(model, x)


def test_bad_arguments():
    model, x = _mlp(depth=1), harness.random_data((8, 8))
    for kwargs in [{"target_std": 0.0}, {"tol": -0.1}, {"max_iter": 0}]:
        (name,) = kwargs
        with pytest.raises(ValueError, match=f"`{name}`"):
            lsuv_init(model, x, **kwargs)


def test_multi_input_models():
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    branch = keras.layers.Dense(6, name="branch")(a)
    merged = keras.layers.Concatenate()([branch, b])
    outputs = keras.layers.Dense(2, name="out")(merged)
    x = {"a": harness.random_data((64, 4)), "b": harness.random_data((64, 3), seed=1)}
    for model, x_batch in [
        (keras.Model({"a": a, "b": b}, outputs), x),
        (keras.Model([a, b], outputs), [x["a"], x["b"]]),
    ]:
        report = lsuv_init(model, x_batch, tol=0.01)
        assert [r.name for r in report] == ["branch", "out"]
        assert all(abs(r.final_std - 1.0) <= 0.01 for r in report)
    with pytest.raises(ValueError, match="`x_batch`"):
        lsuv_init(model, {"a": x["a"], "c": x["b"]})
