import inspect

import keras
import numpy as np
import pytest

from keras_smithing.layers import (
    LayerNormGRU,
    LayerNormGRUCell,
    LayerNormLSTM,
    LayerNormLSTMCell,
    LayerNormSimpleRNN,
    LayerNormSimpleRNNCell,
)
from tests import harness

EPS = 1e-3


RNN_KWARGS = {"units": 3, "return_sequences": True, "dropout": 0.2, "seed": 1}
NORM_SETTINGS = {
    "norm_gamma_initializer": keras.initializers.Constant(2.0),
    "norm_gamma_regularizer": keras.regularizers.L2(0.1),
    "norm_gamma_constraint": "non_neg",
}
LSTM_SHIFT_SETTINGS = {
    "norm_beta_initializer": keras.initializers.Constant(0.5),
    "norm_beta_regularizer": keras.regularizers.L1(0.2),
    "norm_beta_constraint": keras.constraints.MaxNorm(3.0),
}

HARNESS = {
    "input_shape": (2, 4, 3),
    "expected_output_shape": (2, 4, 3),
    "expected_num_seed_generators": 1,
    "supports_masking": True,
    "stochastic_training": True,
}


def test_harness_lstm():
    # With every normalization setting (tfa's epsilon name): three gains (L2)
    # and the cell-state shift (L1) add four losses.
    harness.check_layer(
        LayerNormLSTM,
        {
            **RNN_KWARGS,
            "layernorm_epsilon": 1e-5,
            **NORM_SETTINGS,
            **LSTM_SHIFT_SETTINGS,
        },
        expected_num_trainable_weights=7,
        expected_num_losses=4,
        **HARNESS,
    )


# The XLA step runs for the LSTM above; the GRU and SimpleRNN cells use the same
# ops in the same RNN loop, so their harness runs skip it to keep the suite fast.
def test_harness_gru():
    harness.check_layer(
        LayerNormGRU,
        RNN_KWARGS,
        expected_num_trainable_weights=5,
        check_jit=False,
        **HARNESS,
    )


def test_harness_simple_rnn():
    harness.check_layer(
        LayerNormSimpleRNN,
        RNN_KWARGS,
        expected_num_trainable_weights=4,
        check_jit=False,
        **HARNESS,
    )


def _cells_model(*cells):
    inputs = keras.Input((4, 2))
    outputs = [keras.layers.RNN(cell)(inputs) for cell in cells]
    model = keras.Model(inputs, keras.layers.Concatenate()(outputs))
    model.compile(optimizer="adam", loss="mse")
    return model


def test_cells_in_keras_rnn_save_and_load():
    harness.check_saved_model(
        _cells_model(
            LayerNormSimpleRNNCell(3), LayerNormLSTMCell(3), LayerNormGRUCell(3)
        ),
        harness.random_data((3, 4, 2)),
        fit_targets=np.zeros((3, 9), "float32"),
    )


def _ln(z, gamma, beta=0.0):
    mean, var = z.mean(-1, keepdims=True), z.var(-1, keepdims=True)
    return (z - mean) / np.sqrt(var + EPS) * gamma + beta


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _randomize(cell):
    """Non-trivial gains and shifts, so the reference checks them too."""
    rng = np.random.default_rng(1)
    for w in cell.weights:
        if w.path.endswith(("gamma", "beta", "bias")):
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))


def _run(cell, x):
    rnn = keras.layers.RNN(cell, return_sequences=True)
    rnn.build(x.shape)
    _randomize(cell)
    return harness.to_numpy(rnn(x))


def test_simple_rnn_cell_matches_numpy():
    x = harness.random_data((2, 3, 4))
    cell = LayerNormSimpleRNNCell(5)
    out = _run(cell, x)
    k, u, b = (w.numpy() for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
    h = np.zeros((2, 5), "float32")
    for t in range(3):
        h = np.tanh(_ln(x[:, t] @ k + h @ u, cell.norm.gamma.numpy()) + b)
        np.testing.assert_allclose(out[:, t], h, atol=1e-5)


def test_lstm_cell_matches_numpy():
    x = harness.random_data((2, 3, 4))
    cell = LayerNormLSTMCell(5)
    out = _run(cell, x)
    k, u, b = (w.numpy() for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
    gk, gu = cell.kernel_norm.gamma.numpy(), cell.recurrent_norm.gamma.numpy()
    gc, bc = cell.state_norm.gamma.numpy(), cell.state_norm.beta.numpy()
    h, c = np.zeros((2, 5)), np.zeros((2, 5))
    for t in range(3):
        z = _ln(x[:, t] @ k, gk) + _ln(h @ u, gu) + b
        i, f, g, o = np.split(z, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(_ln(c, gc, bc))
        np.testing.assert_allclose(out[:, t], h, atol=1e-5)


def test_gru_cell_matches_numpy():
    x = harness.random_data((2, 3, 4))
    cell = LayerNormGRUCell(5)
    out = _run(cell, x)
    k, u, b = (w.numpy() for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
    gk, gu = cell.kernel_norm.gamma.numpy(), cell.recurrent_norm.gamma.numpy()
    h = np.zeros((2, 5))
    for t in range(3):
        xz, xr, xh = np.split(_ln(x[:, t] @ k, gk) + b[0], 3, axis=-1)
        hz, hr, hh = np.split(_ln(h @ u, gu) + b[1], 3, axis=-1)
        z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
        h = z * h + (1 - z) * np.tanh(xh + r * hh)
        np.testing.assert_allclose(out[:, t], h, atol=1e-5)


def test_step_norm_matches_keras_layer_normalization_and_its_gradients():
    # The cells' norm has a hand-written gradient; autodiff through Keras's
    # LayerNormalization with the same weights is the reference.
    from keras_smithing.layers.layernorm_rnn import _StepLayerNormalization
    from keras_smithing.utils.backend import gradient_function

    def model(norm):
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), norm])
        model.compile(loss="mse")
        return model

    ours = model(_StepLayerNormalization(epsilon=EPS))
    reference = model(keras.layers.LayerNormalization(epsilon=EPS))
    rng = np.random.default_rng(0)
    weights = [rng.normal(1.0, 0.5, w.shape) for w in reference.weights]
    ours.set_weights(weights)
    reference.set_weights(weights)
    x, y = harness.random_data((5, 6)), harness.random_data((5, 8))
    np.testing.assert_allclose(
        harness.to_numpy(ours(x)), harness.to_numpy(reference(x)), atol=1e-5
    )
    ours_loss, ours_grads = gradient_function(ours)(x, y)
    reference_loss, reference_grads = gradient_function(reference)(x, y)
    np.testing.assert_allclose(ours_loss, reference_loss, rtol=1e-6)
    for got, expected in zip(ours_grads, reference_grads):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("layer_cls", [LayerNormSimpleRNN, LayerNormLSTM, LayerNormGRU])
def test_cell_gradients_match_keras_layer_normalization_at_every_step(
    layer_cls, use_bias, monkeypatch
):
    # The cells normalize through `_StepLayerNormalization.normalize` (the fused
    # kernel on PyTorch, the closed-form gradient elsewhere, the cell's bias
    # added inside), skipping the sublayers' `__call__`; Keras's
    # LayerNormalization.call, differentiated by autodiff, then the bias, is the
    # reference at every step.
    from keras_smithing.layers.layernorm_rnn import _StepLayerNormalization
    from keras_smithing.utils.backend import gradient_function

    def model():
        model = keras.Sequential(
            [
                keras.Input((5, 3)),
                layer_cls(4, use_bias=use_bias),
                keras.layers.Dense(2),
            ]
        )
        model.compile(loss="mse")
        return model

    x, y = harness.random_data((6, 5, 3)), harness.random_data((6, 2))
    ours = model()
    rng = np.random.default_rng(1)
    weights = [rng.normal(0.5, 0.5, w.shape) for w in ours.weights]
    ours.set_weights(weights)
    expected_output = harness.to_numpy(ours(x))
    loss, grads = gradient_function(ours)(x, y)

    def reference_normalize(norm, inputs, shift=None):
        outputs = keras.layers.LayerNormalization.call(norm, inputs)
        return outputs if shift is None else outputs + shift

    monkeypatch.setattr(_StepLayerNormalization, "normalize", reference_normalize)
    reference = model()
    reference.set_weights(weights)
    np.testing.assert_allclose(
        harness.to_numpy(reference(x)), expected_output, atol=1e-5
    )
    reference_loss, reference_grads = gradient_function(reference)(x, y)
    np.testing.assert_allclose(loss, reference_loss, rtol=1e-5)
    for got, expected in zip(grads, reference_grads):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5)


def test_fused_layer_norm_is_the_formula_on_pytorch_only():
    from keras_smithing.utils.backend import fused_layer_norm

    x = harness.random_data((3, 8))
    gamma, beta = harness.random_data((8,), seed=1), harness.random_data((8,), seed=2)
    args = [keras.ops.convert_to_tensor(a) for a in (x, gamma, beta)]
    outputs = fused_layer_norm(*args, EPS)
    if keras.backend.backend() != "torch":
        assert outputs is None
        return
    centered = x - x.mean(-1, keepdims=True)
    expected = centered / np.sqrt(centered.var(-1, keepdims=True) + EPS) * gamma + beta
    np.testing.assert_allclose(harness.to_numpy(outputs), expected, atol=1e-5)


def test_masking_skips_padded_steps():
    x = harness.random_data((2, 5, 3))
    x[:, 3:] = 0.0
    layer = LayerNormLSTM(4)
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.Masking(), layer])
    np.testing.assert_allclose(
        model.predict(x, verbose=0), harness.to_numpy(layer(x[:, :3])), atol=1e-6
    )


def test_stateful_continues_the_sequence():
    x = harness.random_data((2, 6, 3))
    full = LayerNormGRU(4, return_sequences=True)
    expected = harness.to_numpy(full(x))
    stateful = LayerNormGRU(4, return_sequences=True, stateful=True)
    stateful.build((2, 6, 3))
    stateful.set_weights(full.get_weights())
    first, second = (
        harness.to_numpy(stateful(x[:, :3])),
        harness.to_numpy(stateful(x[:, 3:])),
    )
    np.testing.assert_allclose(np.concatenate([first, second], 1), expected, atol=1e-5)
    stateful.reset_states()
    np.testing.assert_allclose(harness.to_numpy(stateful(x[:, :3])), first, atol=1e-6)


def test_mixed_precision_normalizes_in_float32():
    x = (
        harness.random_data((2, 4, 3)) * 100.0
    )  # Large inputs: float16 LN stats would fail.
    full = LayerNormLSTM(4)
    expected = harness.to_numpy(full(x))
    mixed = LayerNormLSTM(4, dtype="mixed_float16")
    mixed.build(x.shape)
    mixed.set_weights(full.get_weights())
    out = mixed(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    np.testing.assert_allclose(harness.to_numpy(out, "float32"), expected, atol=1e-2)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"norm_epsilon": 0.0}, "norm_epsilon"),
        ({"dropout": 1.5}, "dropout"),
        ({"recurrent_dropout": -0.1}, "recurrent_dropout"),
    ],
)
def test_bad_arguments(kwargs, name):
    for cls in (LayerNormLSTMCell, LayerNormGRUCell, LayerNormSimpleRNNCell):
        with pytest.raises(ValueError, match=f"`{name}`"):
            cls(3, **kwargs)
    with pytest.raises(ValueError, match=f"`{name}`"):
        LayerNormLSTM(3, **kwargs)


def test_gru_needs_reset_after():
    with pytest.raises(ValueError, match="`reset_after`"):
        LayerNormGRUCell(3, reset_after=False)


@pytest.mark.distributed
def test_distributed_strategy():
    x = harness.random_data((32, 4, 3))

    def model_fn():
        return keras.Sequential(
            [keras.Input((4, 3)), LayerNormLSTM(4), keras.layers.Dense(1)]
        )

    harness.check_distributed_fit(model_fn, x, x[:, 0, :1])


@pytest.mark.parametrize(
    "cls, norms, shifts",
    [
        (LayerNormSimpleRNNCell, ["norm"], []),
        (LayerNormGRUCell, ["kernel_norm", "recurrent_norm"], []),
        (
            LayerNormLSTMCell,
            ["kernel_norm", "recurrent_norm", "state_norm"],
            ["state_norm"],
        ),
    ],
)
def test_norm_settings_are_used_and_round_trip(cls, norms, shifts):
    settings = {**NORM_SETTINGS, **(LSTM_SHIFT_SETTINGS if shifts else {})}
    cell = cls(3, **settings)
    layer = keras.layers.RNN(cell)
    layer.build((2, 4, 2))
    for name in norms:
        norm = getattr(cell, name)
        assert norm.epsilon == EPS
        np.testing.assert_array_equal(norm.gamma.numpy(), 2.0)
        assert isinstance(norm.gamma.constraint, keras.constraints.NonNeg)
        if name in shifts:
            np.testing.assert_array_equal(norm.beta.numpy(), 0.5)
            assert isinstance(norm.beta.constraint, keras.constraints.MaxNorm)
    # Each gain adds 0.1 * sum(gamma**2), each shift 0.2 * sum(|beta|).
    expected = sum(
        0.1 * 4.0 * getattr(cell, name).gamma.shape[0]
        + (0.2 * 0.5 * getattr(cell, name).beta.shape[0] if name in shifts else 0.0)
        for name in norms
    )
    layer(harness.random_data((2, 4, 2)))
    np.testing.assert_allclose(
        sum(float(harness.to_numpy(loss)) for loss in layer.losses), expected, rtol=1e-6
    )
    config = cell.get_config()
    rebuilt = cls.from_config(config)
    assert rebuilt.get_config() == config
    assert set(settings) <= set(config)


def test_gain_initializer_of_two_doubles_the_normalized_output():
    # One step from a zero state, a linear activation and a zero bias: the
    # output is gain * LN(x W).
    x = harness.random_data((2, 1, 4))
    outputs, kernels = [], []
    for gain in (1.0, 2.0):
        cell = LayerNormSimpleRNNCell(
            5,
            activation=None,
            kernel_initializer=keras.initializers.GlorotUniform(seed=0),
            norm_gamma_initializer=keras.initializers.Constant(gain),
        )
        outputs.append(harness.to_numpy(keras.layers.RNN(cell)(x)))
        kernels.append(cell.kernel.numpy())
    np.testing.assert_array_equal(kernels[0], kernels[1])
    np.testing.assert_allclose(outputs[0], _ln(x[:, 0] @ kernels[0], 1.0), atol=1e-5)
    np.testing.assert_allclose(outputs[1], 2.0 * outputs[0], rtol=1e-6)


def test_tensorflow_addons_names_are_aliases():
    cell = LayerNormSimpleRNNCell(
        3,
        layernorm_epsilon=1e-5,
        gamma_initializer="zeros",
        gamma_regularizer="l2",
        gamma_constraint="non_neg",
    )
    config = cell.get_config()
    assert config["norm_epsilon"] == 1e-5
    assert config["norm_gamma_initializer"]["class_name"] == "Zeros"
    assert config["norm_gamma_regularizer"]["class_name"] == "L2"
    assert config["norm_gamma_constraint"]["class_name"] == "NonNeg"
    assert not {"layernorm_epsilon", "gamma_initializer"} & set(config)
    layer = LayerNormLSTM(3, layernorm_epsilon=1e-5)
    assert layer.cell.state_norm.epsilon == 1e-5
    assert LayerNormLSTM.from_config(layer.get_config()).cell.norm_epsilon == 1e-5


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"norm_epsilon": 1e-4, "layernorm_epsilon": 1e-5}, "layernorm_epsilon"),
        ({"layernorm_epsilon": -1.0}, "norm_epsilon"),
        ({"norm_gamma_initializer": "nope"}, "norm_gamma_initializer"),
        ({"gamma_initializer": 3}, "norm_gamma_initializer"),
        ({"norm_gamma_regularizer": "nope"}, "norm_gamma_regularizer"),
        ({"norm_gamma_constraint": "nope"}, "norm_gamma_constraint"),
        (
            {"gamma_constraint": "non_neg", "norm_gamma_constraint": "unit_norm"},
            "gamma_constraint",
        ),
    ],
)
def test_bad_norm_arguments(kwargs, name):
    for cls in (LayerNormLSTMCell, LayerNormGRUCell, LayerNormSimpleRNNCell):
        harness.check_rejects(cls, [(name, lambda cls=cls: cls(3, **kwargs))])
    harness.check_rejects(LayerNormGRU, [(name, lambda: LayerNormGRU(3, **kwargs))])


@pytest.mark.parametrize("name", ["norm_beta_initializer", "norm_beta_constraint"])
def test_shift_arguments_only_where_there_is_a_shift(name):
    for cls in (LayerNormGRUCell, LayerNormSimpleRNNCell, LayerNormSimpleRNN):
        harness.check_rejects(cls, [(name, lambda cls=cls: cls(3, **{name: "ones"}))])
    harness.check_rejects(
        LayerNormLSTMCell,
        [
            (
                "norm_beta_initializer",
                lambda: LayerNormLSTMCell(3, norm_beta_initializer="nope"),
            )
        ],
    )


# A value other than Keras's default for every argument of Keras's RNN layers.
NON_DEFAULTS = {
    "activation": "relu",
    "recurrent_activation": "hard_sigmoid",
    "use_bias": False,
    "kernel_initializer": "ones",
    "recurrent_initializer": "zeros",
    "bias_initializer": "ones",
    "unit_forget_bias": False,
    "kernel_regularizer": "l2",
    "recurrent_regularizer": "l1",
    "bias_regularizer": keras.regularizers.L1L2(0.1, 0.2),
    "activity_regularizer": keras.regularizers.L2(0.3),
    "kernel_constraint": "non_neg",
    "recurrent_constraint": "unit_norm",
    "bias_constraint": "max_norm",
    "dropout": 0.1,
    "recurrent_dropout": 0.2,
    "seed": 7,
    "return_sequences": True,
    "return_state": True,
    "go_backwards": True,
    "stateful": True,
    "unroll": True,
    "use_cudnn": False,
    "reset_after": True,  # Our GRU is the reset-after one (Keras's default).
}
KERAS_PAIRS = [
    (LayerNormSimpleRNN, keras.layers.SimpleRNN),
    (LayerNormLSTM, keras.layers.LSTM),
    (LayerNormGRU, keras.layers.GRU),
]


@pytest.mark.parametrize("ours, theirs", KERAS_PAIRS, ids=lambda c: c.__name__)
def test_keras_arguments_reach_the_config_as_in_keras(ours, theirs):
    # Each argument is passed on by name: the config holds what Keras's own
    # layer holds for the same arguments, and it rebuilds an equal layer.
    names = set(inspect.signature(theirs.__init__).parameters)
    kwargs = {name: NON_DEFAULTS[name] for name in names - {"self", "units", "kwargs"}}
    expected = theirs(3, **kwargs).get_config()
    # Keras's SimpleRNN drops its `activity_regularizer` (Keras 3.15 does not pass
    # it on to `RNN.__init__`); ours keeps it, as Keras's LSTM and GRU do.
    expected["activity_regularizer"] = keras.regularizers.serialize(
        NON_DEFAULTS["activity_regularizer"]
    )
    config = ours(3, **kwargs).get_config()
    for key in set(expected) - {"name"}:
        assert config[key] == expected[key], key
    assert ours.from_config(config).get_config() == config


def test_activity_regularizer_round_trips_and_old_configs_load():
    layer = LayerNormLSTM(3, activity_regularizer="l2")
    config = layer.get_config()
    assert LayerNormLSTM.from_config(config).activity_regularizer is not None
    del config["activity_regularizer"]  # Saved before the key existed.
    assert LayerNormLSTM.from_config(config).activity_regularizer is None


@pytest.mark.parametrize("cls", [LayerNormLSTM, LayerNormGRU])
def test_use_cudnn_accepts_auto_and_false_only(cls):
    for value in ("auto", False):
        cls(3, use_cudnn=value)
    for value in (True, "yes", 0):
        harness.check_rejects(cls, [("use_cudnn", lambda v=value: cls(3, use_cudnn=v))])


def test_gru_layer_needs_reset_after():
    harness.check_rejects(
        LayerNormGRU, [("reset_after", lambda: LayerNormGRU(3, reset_after=False))]
    )


def test_base_layer_arguments_only_in_kwargs():
    with pytest.raises(ValueError, match="not_an_argument"):
        LayerNormLSTM(3, not_an_argument=1)
