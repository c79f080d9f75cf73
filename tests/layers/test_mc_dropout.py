import keras
import numpy as np
import pytest

from keras_smithing import mc_predict
from keras_smithing.layers import (
    DropConnect,
    DropConnectDense,
    MCDropout,
    RandomShift1D,
)
from tests import harness


def _assert_kept_units_doubled(samples, expected, kept_range, atol=0.0):
    """Samples of rate-0.5 dropout on `expected`: units kept within `kept_range`
    of the time, each exactly twice its inference value."""
    kept = samples != 0
    assert kept_range[0] < kept.mean() < kept_range[1]
    np.testing.assert_allclose(
        samples[kept],
        (2 * np.broadcast_to(expected, kept.shape))[kept],
        rtol=1e-5,
        atol=atol,
    )


def test_harness():
    harness.check_layer(
        MCDropout,
        {"rate": 0.3, "seed": 1},
        input_shape=(8, 5),
        expected_output_shape=(8, 5),
        expected_num_trainable_weights=0,
        expected_num_seed_generators=1,
        stochastic_inference=True,
    )


def test_samples_at_inference():
    layer = MCDropout(0.5, seed=3)
    x = np.ones((64, 32), "float32")
    out = harness.to_numpy(layer(x, training=False))
    dropped = np.mean(out == 0)
    assert 0.4 < dropped < 0.6
    np.testing.assert_allclose(out[out != 0], 2.0)


@pytest.mark.parametrize("rate", [1.0, -0.1, float("nan"), "0.5"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="`rate`.*Received: rate="):
        MCDropout(rate)


# mc_predict ---------------------------------------------------------------------


def _bn_dropout_model(seed=1):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4, 4, 1))
    hidden = keras.layers.RandomFlip("horizontal", seed=seed)(inputs)
    hidden = keras.layers.Dense(6)(keras.layers.Flatten()(hidden))
    hidden = keras.layers.BatchNormalization()(hidden)
    outputs = keras.layers.Dropout(0.5, seed=seed)(hidden)
    model = keras.Model(inputs, outputs)
    # Moving statistics far from the batch statistics of the test data.
    bn = model.layers[-2]
    bn.moving_mean.assign(np.full(6, 3.0, "float32"))
    bn.moving_variance.assign(np.full(6, 9.0, "float32"))
    return model


def test_mc_predict_samples_dropout_and_keeps_batchnorm_and_augmentation_off():
    model = _bn_dropout_model()
    x = harness.random_data((10, 4, 4, 1))
    weights = [np.array(w) for w in model.get_weights()]
    expected = model.predict(x, verbose=0)  # BN moving stats, no flip, no dropout.
    result = mc_predict(model, x, num_samples=16)
    assert result.samples.shape == (16, 10, 6)
    assert np.all(result.std > 0)
    # Every kept unit is exactly the inference value scaled by 1 / (1 - rate).
    _assert_kept_units_doubled(result.samples, expected, kept_range=(0.35, 0.65))
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    # The training=True recipe fails that check (batch statistics, flipped input).
    hack = harness.to_numpy(model(x, training=True))
    assert not np.allclose(hack[hack != 0], 2 * expected[hack != 0], rtol=1e-3)


class _NoDropout(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(4)

    def call(self, inputs, training=None):
        return self.dense(inputs)


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Dense(4),
                keras.layers.BatchNormalization(),
            ]
        ),
        lambda: keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.0)]),
        _NoDropout,
    ],
)
def test_mc_predict_refuses_a_model_without_stochastic_layers(make_model):
    model = make_model()
    x = harness.random_data((7, 3))
    model(x)
    with pytest.raises(ValueError, match="no stochastic layer.*`model.predict`"):
        mc_predict(model, x, num_samples=5)


def test_mc_predict_same_seed_same_result_and_fresh_samples_each_call():
    x = harness.random_data((10, 4, 4, 1))
    first, twin = _bn_dropout_model(seed=3), _bn_dropout_model(seed=3)
    twin.set_weights(first.get_weights())
    a = mc_predict(first, x, num_samples=6).samples
    np.testing.assert_array_equal(a, mc_predict(twin, x, num_samples=6).samples)
    assert not np.array_equal(a, mc_predict(first, x, num_samples=6).samples)


@pytest.mark.parametrize("batch_size", [None, 12])
def test_mc_predict_on_a_multi_output_model_returns_the_output_structure(batch_size):
    inputs = keras.Input((5,))
    hidden = keras.layers.Dropout(0.5, seed=0)(keras.layers.Dense(8)(inputs))
    model = keras.Model(
        inputs,
        {
            "classes": keras.layers.Dense(3, activation="softmax")(hidden),
            "value": keras.layers.Dense(1)(inputs),  # No dropout on this path.
        },
    )
    x = harness.random_data((6, 5))
    result = mc_predict(model, x, num_samples=4, batch_size=batch_size)
    assert set(result) == {"classes", "value"}
    assert result["classes"].samples.shape == (4, 6, 3)
    assert np.all(result["classes"].std > 0)
    expected = model.predict(x, verbose=0)["value"]
    np.testing.assert_allclose(result["value"].std, 0, atol=1e-7)
    np.testing.assert_allclose(result["value"].mean, expected, rtol=1e-5)


@pytest.mark.parametrize("batch_size", [25, 4])
def test_mc_predict_chunks_into_independent_samples(batch_size):
    inputs = keras.Input((16,))
    model = keras.Model(inputs, DropConnectDense(16, 0.5, seed=0)(inputs))
    x = np.eye(16, dtype="float32")[:10]
    result = mc_predict(model, x, num_samples=7, batch_size=batch_size)
    assert result.samples.shape == (7, 10, 16)
    # Per-batch kernel masks: still one independent mask per sample.
    masks = {(s != 0).tobytes() for s in result.samples}
    assert len(masks) == 7


def test_mc_predict_samples_keras_recurrent_and_wrapped_layers():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 3))
    hidden = keras.layers.LSTM(4, dropout=0.3, return_sequences=True)(inputs)
    lstm = keras.layers.LSTM(4)
    outputs = DropConnect(lstm, 0.5, weight_names=("recurrent_kernel",))(hidden)
    model = keras.Model(inputs, keras.layers.GaussianNoise(0.0)(outputs))
    result = mc_predict(model, harness.random_data((6, 5, 3)), num_samples=4)
    assert np.all(result.std > 0)
    assert len({s.tobytes() for s in result.samples[:, 0]}) == 4


class _Subclassed(keras.Model):
    """Dense -> dropout -> (optionally) another layer, as a subclassed model."""

    def __init__(self, dropout, after=None):
        super().__init__()
        self.dense = keras.layers.Dense(16)
        self.dropout = dropout
        self.after = after

    def call(self, inputs, training=None):
        outputs = self.dropout(self.dense(inputs), training=training)
        if self.after is not None:
            outputs = self.after(outputs, training=training)
        return outputs


@pytest.mark.parametrize("dropout_cls", [keras.layers.Dropout, MCDropout])
def test_mc_predict_samples_a_subclassed_model(dropout_cls):
    keras.utils.set_random_seed(0)
    x = harness.random_data((10, 3))
    model = _Subclassed(dropout_cls(0.5, seed=4))
    model(x)
    expected = harness.to_numpy(model.dense(x))
    result = mc_predict(model, x, num_samples=40)
    # Every sample is dropout on the Dense output: kept units scaled by 2.
    _assert_kept_units_doubled(
        result.samples, expected, kept_range=(0.4, 0.6), atol=1e-6
    )
    # As spread out as the `model(x, training=True)` loop (the same samples here).
    loop = np.stack([harness.to_numpy(model(x, training=True)) for _ in range(40)])
    ratio = result.std.mean() / loop.std(axis=0).mean()
    assert 0.8 < ratio < 1.25


class _Noise(keras.layers.Layer):
    """Gaussian noise of the user's own, in training only."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        noise = keras.random.normal(keras.ops.shape(inputs), seed=self.seed_generator)
        return inputs + noise


class _DeclaredNoise(_Noise):
    stochastic = True


@pytest.mark.parametrize(
    "after, message",
    [
        (keras.layers.BatchNormalization, "batch_normalization.*MCDropout"),
        (lambda: RandomShift1D(1, seed=0), "random_shift.*MCDropout"),
        (_Noise, "_noise.*MCDropout.*declare `stochastic = True`"),
    ],
)
def test_mc_predict_refuses_a_subclassed_model_it_cannot_sample_alone(after, message):
    x = harness.random_data((6, 3))
    model = _Subclassed(keras.layers.Dropout(0.5), after())
    model(x)
    with pytest.raises(ValueError, match=f"`training=True`.*{message}"):
        mc_predict(model, x, num_samples=3)
    # Dropout that samples whatever `training` is needs no training mode.
    model = _Subclassed(MCDropout(0.5), after())
    model(x)
    assert mc_predict(model, x, num_samples=8).std.mean() > 0


def test_mc_predict_samples_a_declared_layer_of_the_users_own():
    x = harness.random_data((6, 3))
    model = _Subclassed(keras.layers.Dropout(0.5), _DeclaredNoise())
    model(x)
    result = mc_predict(model, x, num_samples=8)
    assert np.all(result.std > 0)  # The noise too: no unit is always dropped.


def test_mc_predict_entropy_and_mutual_information_match_numpy():
    inputs = keras.Input((5,))
    hidden = keras.layers.Dropout(0.5, seed=2)(keras.layers.Dense(8)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    result = mc_predict(model, harness.random_data((9, 5)), num_samples=20)
    p = result.samples.astype("float64")
    mean = p.mean(axis=0)
    entropy = -(mean * np.log(mean)).sum(axis=-1)
    expected_entropy = -(p * np.log(p)).sum(axis=-1).mean(axis=0)
    np.testing.assert_allclose(result.predictive_entropy, entropy, rtol=1e-4)
    np.testing.assert_allclose(
        result.mutual_information, entropy - expected_entropy, atol=1e-5
    )
    assert np.all(result.mutual_information > -1e-6)


def test_mc_predict_entropy_needs_probabilities():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))
    result = mc_predict(model, harness.random_data((4, 3)), num_samples=2)
    with pytest.raises(ValueError, match="probabilities"):
        _ = result.predictive_entropy


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"num_samples": 0}, "num_samples"),
        ({"num_samples": 2.5}, "num_samples"),
        ({"batch_size": 0}, "batch_size"),
        ({"model": "model"}, "model"),
    ],
)
def test_mc_predict_bad_arguments(kwargs, argument):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))
    arguments = {"model": model, "x": np.ones((2, 3), "float32"), **kwargs}
    with pytest.raises(ValueError, match=f"`{argument}`"):
        mc_predict(**arguments)
