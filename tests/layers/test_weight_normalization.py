import warnings

import keras
import numpy as np
import pytest

from keras_smithing.layers import WeightNormalization
from tests import harness
from tests.support_matrix import record


def _dense_kwargs(dtype=None):
    return {
        "layer": keras.layers.Dense(3, activation="relu", dtype=dtype),
        "dtype": dtype,
    }


def test_harness_dense():
    harness.check_layer(
        WeightNormalization,
        _dense_kwargs,
        input_shape=(8, 4),
        expected_output_shape=(8, 3),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=3,
    )


def test_harness_conv_without_data_init():
    harness.check_layer(
        WeightNormalization,
        lambda dtype=None: {
            "layer": keras.layers.Conv2D(2, 3, dtype=dtype),
            "data_init": False,
            "dtype": dtype,
        },
        input_shape=(2, 5, 5, 3),
        expected_output_shape=(2, 3, 3, 2),
        expected_num_trainable_weights=3,
    )


def _effective_kernel(wrapper):
    v = wrapper.layer.kernel.numpy()
    axes = tuple(range(v.ndim - 1))
    g = wrapper.g.numpy()
    if wrapper.data_init:
        g = g + wrapper.g_offset.numpy()
    return g * v / np.sqrt((v**2).sum(axes))


def _effective_bias(wrapper):
    bias = wrapper.layer.bias.numpy()
    return bias + wrapper.bias_offset.numpy() if wrapper.data_init else bias


@pytest.mark.parametrize(
    "make_layer, shape",
    [
        (lambda: keras.layers.Dense(3), (4, 5)),
        (lambda: keras.layers.Conv2D(3, 2), (2, 4, 4, 2)),
        (lambda: keras.layers.Conv1DTranspose(3, 2), (2, 4, 2)),
    ],
)
def test_initial_kernel_is_the_wrapped_layers(make_layer, shape):
    x = harness.random_data(shape)
    layer = make_layer()
    wrapper = WeightNormalization(layer, data_init=False)
    out = harness.to_numpy(wrapper(x, training=True))
    kernel = layer.kernel.numpy()
    axes = tuple(a for a in range(kernel.ndim) if a != wrapper._out_axis % kernel.ndim)
    np.testing.assert_allclose(
        wrapper.g.numpy(), np.sqrt((kernel**2).sum(axes)), rtol=1e-6
    )
    np.testing.assert_allclose(out, harness.to_numpy(layer(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rows", [1, 8])
def test_data_init_on_a_batch_without_spread_keeps_unit_scale(rows):
    x = np.repeat(harness.random_data((1, 5)) * 3 + 2, rows, axis=0)
    wrapper = WeightNormalization(keras.layers.Dense(4))
    model = keras.Sequential([keras.Input((5,)), wrapper])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    model.fit(x, np.zeros((rows, 4)), batch_size=rows, epochs=1, verbose=0)
    kernel = _effective_kernel(wrapper)
    np.testing.assert_allclose(np.linalg.norm(kernel, axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(x @ kernel + _effective_bias(wrapper), 0.0, atol=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_data_init_standardizes_first_batch(jit_compile):
    x = harness.random_data((64, 5)) * 3 + 2
    wrapper = WeightNormalization(keras.layers.Dense(4, activation="relu"))
    model = keras.Sequential([keras.Input((5,)), wrapper])
    model.compile(
        optimizer=keras.optimizers.SGD(0.0), loss="mse", jit_compile=jit_compile
    )
    model.fit(x, np.zeros((64, 4)), batch_size=64, epochs=2, verbose=0)
    assert float(wrapper.initialized.numpy()) == 1.0
    pre = x @ _effective_kernel(wrapper) + _effective_bias(wrapper)
    np.testing.assert_allclose(pre.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre.std(0), 1.0, atol=1e-3)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), np.maximum(pre, 0), atol=1e-5
    )
    if jit_compile:
        record(wrapper, "jit")
    # Later batches do not re-initialize.
    kernel = _effective_kernel(wrapper)
    wrapper(x[:8] * 10, training=True)
    np.testing.assert_array_equal(_effective_kernel(wrapper), kernel)


def test_data_init_keeps_the_gradients_of_g_and_the_bias():
    # The offsets are constants to the optimizer: after the data init, one SGD
    # step moves g and the bias by the gradient of the plain reparameterization.
    x = harness.random_data((16, 3)) * 2 + 1
    y = harness.random_data((16, 2), seed=1)
    wrapper = WeightNormalization(keras.layers.Dense(2))
    model = keras.Sequential([keras.Input((3,)), wrapper])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    wrapper(x, training=True)  # Data init only.
    g, v, b = (
        np.array(w.numpy(), "float64")
        for w in (wrapper.g, wrapper.layer.kernel, wrapper.layer.bias)
    )
    g_eff = g + wrapper.g_offset.numpy()
    b_eff = b + wrapper.bias_offset.numpy()
    norm = np.sqrt((v**2).sum(0))
    pre = x @ (g_eff * v / norm) + b_eff
    d_pre = 2 * (pre - y) / pre.size  # d mse / d pre-activation.
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(
        wrapper.g.numpy(), g - 0.1 * ((x @ (v / norm)) * d_pre).sum(0), atol=1e-5
    )
    np.testing.assert_allclose(
        wrapper.layer.bias.numpy(), b - 0.1 * d_pre.sum(0), atol=1e-5
    )


def test_eager_training_calls_after_the_data_init_assign_nothing(monkeypatch):
    # An eager call (every PyTorch step) reads `initialized` and, once it is set,
    # skips the init branch and the assignments of the offsets; setting it back
    # to 0 runs the data init again.
    x = harness.random_data((64, 5)) * 3 + 2
    wrapper = WeightNormalization(keras.layers.Dense(4))
    wrapper(x, training=True)
    assigned = []
    for variable in wrapper.non_trainable_weights:
        monkeypatch.setattr(
            variable, "assign", lambda value, v=variable: assigned.append(v.name)
        )
    before = harness.to_numpy(wrapper(x, training=True))
    assert assigned == []
    monkeypatch.undo()
    np.testing.assert_allclose(before.mean(0), 0.0, atol=1e-4)
    wrapper.initialized.assign(0.0)
    pre = harness.to_numpy(wrapper(x * 10 - 4, training=True))
    np.testing.assert_allclose(pre.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre.std(0), 1.0, atol=1e-3)
    assert float(wrapper.initialized.numpy()) == 1.0


def test_a_zero_kernel_column_gives_a_zero_weight_column():
    # The norm is clamped below (1e-12): a zero column is 0 * g / 1e-12, not NaN.
    x = harness.random_data((8, 4))
    layer = keras.layers.Dense(3)
    wrapper = WeightNormalization(layer, data_init=False)
    wrapper.build(x.shape)
    kernel = layer.kernel.numpy()
    kernel[:, 1] = 0.0
    layer.kernel.assign(kernel)
    out = harness.to_numpy(wrapper(x, training=True))
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[:, 1], 0.0)
    np.testing.assert_allclose(out, x @ _effective_kernel_safe(wrapper), atol=1e-5)


@pytest.mark.parametrize("shape", [(6, 5), (3, 3, 4, 5)])
def test_fused_weight_norm_is_the_formula_on_pytorch_only(shape):
    from keras_smithing.utils.backend import fused_weight_norm

    v = harness.random_data(shape)
    g = harness.random_data(shape[-1:], seed=1)
    w = fused_weight_norm(*(keras.ops.convert_to_tensor(a) for a in (v, g)), 1e-12)
    if keras.backend.backend() != "torch":
        assert w is None
        return
    axes = tuple(range(len(shape) - 1))
    np.testing.assert_allclose(
        harness.to_numpy(w), v * g / np.sqrt((v**2).sum(axes)), rtol=1e-6
    )
    v[..., 1] = 0.0  # A zero column: left to the clamped formula.
    v, g = keras.ops.convert_to_tensor(v), keras.ops.convert_to_tensor(g)
    assert fused_weight_norm(v, g, 1e-12) is None


def test_fused_weight_norm_gives_the_gradients_of_the_formula(monkeypatch):
    # On PyTorch the reparameterization runs as one fused kernel; the same model
    # computed with the formula gives the same loss and gradients (up to the
    # float32 rounding of the norm's summation order). Elsewhere both are the formula.
    from keras_smithing.utils import backend

    x = harness.random_data((16, 6, 6, 3))
    y = harness.random_data((16, 2), seed=1)

    def loss_and_gradients():
        keras.utils.set_random_seed(3)
        model = keras.Sequential(
            [
                keras.Input(x.shape[1:]),
                WeightNormalization(keras.layers.Conv2D(4, 3, activation="relu")),
                keras.layers.Flatten(),
                WeightNormalization(keras.layers.Dense(2)),
            ]
        )
        model.compile(loss="mse")
        model(x, training=True)  # The data init.
        return backend.gradient_function(model)(x, y)

    loss, gradients = loss_and_gradients()
    monkeypatch.setattr(backend, "fused_weight_norm", lambda *args: None)
    expected_loss, expected_gradients = loss_and_gradients()
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-6)
    for got, expected in zip(gradients, expected_gradients):
        # atol: torch's CPU convolution may sum in another order under load (one
        # element of 108 off by 1.3e-7 in a CI run, on gradients of order 1).
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def _effective_kernel_safe(wrapper):
    v = wrapper.layer.kernel.numpy()
    norm = np.maximum(np.sqrt((v**2).sum(0)), 1e-12)
    return wrapper.g.numpy() * v / norm


def test_data_init_mixed_precision():
    x = harness.random_data((64, 5)) * 3 + 2
    wrapper = WeightNormalization(
        keras.layers.Dense(4, dtype="mixed_float16"), dtype="mixed_float16"
    )
    out = wrapper(x, training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert wrapper.g.dtype == "float32"
    pre = harness.to_numpy(out, "float32")
    np.testing.assert_allclose(pre.mean(0), 0.0, atol=1e-2)
    np.testing.assert_allclose(pre.std(0), 1.0, atol=1e-2)


def test_effective_kernel_trains_g_and_v():
    x, y = harness.random_data((32, 3)), harness.random_data((32, 2), seed=1)
    wrapper = WeightNormalization(keras.layers.Dense(2), data_init=False)
    model = keras.Sequential([keras.Input((3,)), wrapper])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.numpy() for w in wrapper.trainable_weights]
    model.fit(x, y, epochs=2, verbose=0)
    assert all(
        not np.allclose(a, w.numpy()) for a, w in zip(before, wrapper.trainable_weights)
    )
    expected = x @ _effective_kernel(wrapper) + _effective_bias(wrapper)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def test_bad_arguments():
    harness.check_rejects(
        WeightNormalization,
        [
            ("layer", lambda: WeightNormalization(keras.layers.Dropout(0.5))),
            ("layer", lambda: WeightNormalization("dense")),
            (
                "layer",
                lambda: WeightNormalization(
                    keras.layers.Bidirectional(keras.layers.LSTM(2)), data_init=False
                ),
            ),
            ("data_init", lambda: WeightNormalization(keras.layers.LSTM(2))),
            (
                "data_init",
                lambda: WeightNormalization(keras.layers.Dense(2), data_init=1),
            ),
        ],
    )


def test_harness_lstm():
    harness.check_layer(
        WeightNormalization,
        lambda dtype=None: {
            "layer": keras.layers.LSTM(3, return_sequences=True, dtype=dtype),
            "data_init": False,
            "dtype": dtype,
        },
        input_shape=(2, 4, 3),
        expected_output_shape=(2, 4, 3),
        # The cell's kernel, recurrent kernel and bias; g and recurrent_g.
        expected_num_trainable_weights=5,
        check_jit=False,
    )


def _unit_columns(v):
    return v / np.sqrt((v**2).sum(0))


@pytest.mark.parametrize("rnn", ["SimpleRNN", "GRU"])
def test_recurrent_layers_normalize_both_kernels(rnn):
    x = harness.random_data((4, 5, 3))
    wrapper = WeightNormalization(
        getattr(keras.layers, rnn)(4, return_sequences=True), data_init=False
    )
    model = keras.Sequential([keras.Input((5, 3)), wrapper])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.fit(x, harness.random_data((4, 5, 4), seed=1), epochs=2, verbose=0)
    cell = wrapper.layer.cell
    # A plain layer with the effective kernels w = g v / ||v|| is the reference.
    reference = getattr(keras.layers, rnn)(4, return_sequences=True)
    reference.build(x.shape)
    weights = {
        "kernel": wrapper.g.numpy() * _unit_columns(cell.kernel.numpy()),
        "recurrent_kernel": wrapper.recurrent_g.numpy()
        * _unit_columns(cell.recurrent_kernel.numpy()),
        "bias": cell.bias.numpy(),
    }
    reference.set_weights([weights[w.name] for w in reference.weights])
    np.testing.assert_allclose(
        model.predict(x, verbose=0), harness.to_numpy(reference(x)), atol=1e-5
    )
    assert not np.allclose(
        wrapper.recurrent_g.numpy(),
        np.linalg.norm(cell.recurrent_kernel.numpy(), axis=0),
    )  # recurrent_g trained on its own.


@pytest.mark.parametrize(
    "make_layer, shape, data_init",
    [
        (lambda: keras.layers.Dense(3, activation="tanh"), (8, 5), True),
        (lambda: keras.layers.Conv2D(3, 2, use_bias=False), (2, 4, 4, 2), True),
        (lambda: keras.layers.LSTM(3), (4, 5, 2), False),
    ],
)
def test_remove_folds_the_normalization_into_the_layer(make_layer, shape, data_init):
    x = harness.random_data(shape)
    wrapper = WeightNormalization(make_layer(), data_init=data_init)
    model = keras.Sequential(
        [keras.Input(shape[1:]), wrapper, keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    y = np.zeros((shape[0], 2), "float32")
    model.fit(x, y, batch_size=shape[0], epochs=2, verbose=0)
    expected = model.predict(x, verbose=0)
    plain = keras.models.clone_model(
        model,
        clone_function=lambda layer: (
            layer.remove() if isinstance(layer, WeightNormalization) else layer
        ),
    )
    assert not any(isinstance(layer, WeightNormalization) for layer in plain.layers)
    assert plain.layers[0] is wrapper.layer
    np.testing.assert_allclose(plain.predict(x, verbose=0), expected, atol=1e-6)
    # The wrapper, left consistent, still computes the same thing.
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)


def test_remove_before_build_is_an_error():
    with pytest.raises(ValueError, match="not built"):
        WeightNormalization(keras.layers.Dense(2)).remove()


def test_data_init_without_a_bias_sets_the_scale_only():
    x = harness.random_data((64, 5)) * 3 + 2
    kernel_initializer = keras.initializers.GlorotUniform(seed=0)
    wrapper = WeightNormalization(
        keras.layers.Dense(4, use_bias=False, kernel_initializer=kernel_initializer)
    )
    out = harness.to_numpy(wrapper(x, training=True))
    assert [w.name for w in wrapper.non_trainable_weights] == [
        "initialized",
        "g_offset",
    ]
    v = wrapper.layer.kernel.numpy()
    t = x @ _unit_columns(v)  # NumPy reference: g = 1 / std(x v / ||v||).
    np.testing.assert_allclose(
        wrapper.g.numpy() + wrapper.g_offset.numpy(), 1 / t.std(0), rtol=1e-4
    )
    np.testing.assert_allclose(out, t / t.std(0), rtol=1e-4, atol=1e-5)
    assert np.abs(out.mean(0)).max() > 0.1  # The mean is not removed.


def test_inference_before_any_training_call_warns_once():
    x = harness.random_data((8, 3))
    model = keras.Sequential(
        [keras.Input((3,)), WeightNormalization(keras.layers.Dense(2))]
    )
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="data-dependent initialization has not run"):
        model.predict(x, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model.predict(x, verbose=0)  # Once.
        trained = keras.Sequential(
            [keras.Input((3,)), WeightNormalization(keras.layers.Dense(2))]
        )
        trained.compile(optimizer="sgd", loss="mse")
        trained.fit(x, np.zeros((8, 2)), verbose=0)
        trained.predict(x, verbose=0)
        trained.evaluate(x, np.zeros((8, 2)), verbose=0)


def test_no_warning_after_reloading_an_initialized_model(tmp_path):
    x = harness.random_data((8, 3))
    model = keras.Sequential(
        [keras.Input((3,)), WeightNormalization(keras.layers.Dense(2))]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((8, 2)), verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        np.testing.assert_allclose(
            reloaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
        )


@pytest.mark.distributed
def test_distributed_strategy_data_init():
    keras.utils.set_random_seed(0)
    x = harness.random_data((32, 4)) * 10 + 5  # Far from standardized.

    def model_fn():
        return keras.Sequential(
            [
                keras.Input((4,)),
                WeightNormalization(keras.layers.Dense(3)),
                keras.layers.Dense(1),
            ]
        )

    # A zero learning rate: only the data init changes the weights. Each replica
    # initializes from its 8-example shard; the variables average them.
    model = harness.check_distributed_fit(
        model_fn, x, x[:, :1], optimizer_fn=lambda: keras.optimizers.SGD(0.0)
    )
    wrapper = model.layers[0]
    assert wrapper.initialized.numpy() == 1.0
    pre = x @ _effective_kernel(wrapper) + _effective_bias(wrapper)
    assert np.all(np.abs(pre.mean(0)) < 1.0), pre.mean(0)
    assert np.all((pre.std(0) > 0.5) & (pre.std(0) < 2.0)), pre.std(0)
