import warnings

import keras
import numpy as np
import pytest

from keras_smithing.callbacks import PreciseBatchNorm, recompute_batch_norm_statistics
from keras_smithing.callbacks import precise_batch_norm as module
from keras_smithing.layers import GhostBatchNormalization, ResidualBlock
from keras_smithing.utils import compat
from tests import harness


def _data(n=100):
    x = harness.random_data((n, 4)) * np.array([1, 2, 3, 4], "float32") + 5
    return x, harness.random_data((n, 1), seed=1)


def _model():
    """BN on the input, BN in a nested model, BN inside a custom layer, ghost BN."""
    keras.utils.set_random_seed(0)
    inner = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(6), keras.layers.BatchNormalization()],
        name="inner",
    )
    inputs = keras.Input((4,))
    h = keras.layers.BatchNormalization(name="input_bn")(inputs)
    h = keras.layers.Dense(6, activation="relu")(h)
    h = inner(h)
    h = ResidualBlock(6, name="block")(h)
    h = GhostBatchNormalization(2, name="ghost")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


def _bn_inputs(model, layer, x):
    """The inputs `layer` receives in an inference pass (numpy, all calls)."""
    seen = []
    with module._intercept_inputs(
        layer, lambda inputs, mask: seen.append(harness.to_numpy(inputs))
    ):
        model(x, training=False)
    return np.concatenate(seen)


def _assert_population_statistics(model, layers, x):
    for layer in layers:
        inputs = _bn_inputs(model, layer, x).reshape(-1, layer.moving_mean.shape[0])
        np.testing.assert_allclose(
            layer.moving_mean.numpy(), inputs.mean(0), rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(
            layer.moving_variance.numpy(), inputs.var(0), rtol=1e-4, atol=1e-5
        )


def test_harness():
    x, y = _data()
    harness.check_callback(
        PreciseBatchNorm(x, every_n_epochs=1),
        model=_model(),
        x=x,
        y=y,
        validation_data=(x, y),
    )


def test_statistics_equal_numpy_over_whole_dataset():
    x, y = _data(100)
    model = _model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    layers = recompute_batch_norm_statistics(model, x, batch_size=32)  # 100 % 32 != 0
    names = [layer.name for layer in layers]
    assert names[0] == "input_bn" and names[-1] == "ghost" and len(names) == 5
    np.testing.assert_allclose(layers[0].moving_mean.numpy(), x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(layers[0].moving_variance.numpy(), x.var(0), rtol=1e-5)
    _assert_population_statistics(model, layers, x)


def test_data_formats_agree():
    x, y = _data(60)
    model = _model()
    reference = None
    for data in (
        x,
        (x, y),
        *harness.batched_datasets(x, y, batch_size=7).values(),
        *harness.batched_datasets(x, batch_size=64).values(),
    ):
        layers = recompute_batch_norm_statistics(model, data)
        stats = [
            w.numpy()
            for layer in layers
            for w in (layer.moving_mean, layer.moving_variance)
        ]
        if reference is None:
            reference = stats
        for a, b in zip(stats, reference):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_py_dataset_and_num_batches():
    x, y = _data(64)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 8

        def __getitem__(self, index):
            return x[index * 8 : (index + 1) * 8], y[index * 8 : (index + 1) * 8]

    model = _model()
    first = recompute_batch_norm_statistics(model, Batches(), num_batches=3)[0]
    np.testing.assert_allclose(first.moving_mean.numpy(), x[:24].mean(0), rtol=1e-6)
    np.testing.assert_allclose(first.moving_variance.numpy(), x[:24].var(0), rtol=1e-5)


def test_recomputes_before_validation_and_at_end():
    x, y = _data(96)
    model = _model()
    history = model.fit(
        x,
        y,
        epochs=2,
        batch_size=16,
        validation_data=(x[:32], y[:32]),
        callbacks=[PreciseBatchNorm(x)],
        verbose=0,
    )
    layers = [
        layer
        for layer in compat.flatten_layers(model, include_self=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    _assert_population_statistics(model, layers, x)
    # The last validation already used the final, precise statistics.
    np.testing.assert_allclose(
        history.history["val_loss"][-1],
        model.evaluate(x[:32], y[:32], verbose=0),
        rtol=1e-4,
    )


def test_every_n_epochs(monkeypatch):
    calls = []
    real = module.recompute_batch_norm_statistics
    monkeypatch.setattr(
        module,
        "recompute_batch_norm_statistics",
        lambda *a, **k: calls.append(1) or real(*a, **k),
    )
    x, y = _data(32)
    model = _model()
    model.fit(
        x, y, epochs=5, callbacks=[PreciseBatchNorm(x, every_n_epochs=2)], verbose=0
    )
    assert len(calls) == 3  # After epochs 2 and 4, and at the end of training.


def test_model_without_batch_norm_warns_once_and_does_nothing():
    x, y = _data(32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback = PreciseBatchNorm(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=3, callbacks=[callback], verbose=0)
        model.fit(x, y, epochs=1, callbacks=[callback], verbose=0)
    messages = [w for w in caught if "BatchNormalization" in str(w.message)]
    assert len(messages) == 1
    with pytest.warns(UserWarning, match="no trainable BatchNormalization"):
        assert recompute_batch_norm_statistics(model, x) == []


def test_frozen_layers_are_left_alone():
    x, _ = _data(32)
    model = _model()
    frozen = model.get_layer("input_bn")
    frozen.trainable = False
    layers = recompute_batch_norm_statistics(model, x)
    assert frozen not in layers
    np.testing.assert_array_equal(frozen.moving_mean.numpy(), 0.0)


def test_bad_arguments():
    x, _ = _data(8)
    with pytest.raises(ValueError, match="`num_batches`"):
        PreciseBatchNorm(x, num_batches=0)
    with pytest.raises(ValueError, match="`every_n_epochs`"):
        PreciseBatchNorm(x, every_n_epochs=0)
    with pytest.raises(ValueError, match="`num_batches`"):
        recompute_batch_norm_statistics(_model(), x, num_batches=0)
    with pytest.raises(ValueError, match="`data`"):
        recompute_batch_norm_statistics(_model(), x[:0])
    with pytest.raises(ValueError, match="`data`.*re-iterable"):
        recompute_batch_norm_statistics(
            _model(), (x[i : i + 4] for i in range(0, 8, 4))
        )


@pytest.mark.distributed
def test_distributed_strategy():
    x, y = _data(64)

    def model_fn():
        inputs = keras.Input((4,))
        h = keras.layers.BatchNormalization()(inputs)
        return keras.Model(inputs, keras.layers.Dense(1)(h))

    model = harness.check_distributed_fit(
        model_fn, x, y, epochs=2, callbacks=[PreciseBatchNorm(x)]
    )
    layer = model.layers[1]
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), x.var(0), rtol=1e-5)


def test_non_finite_statistics_leave_the_layer_untouched():
    x, _ = _data(16)
    x[3, 0] = np.inf

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return x[index * 8 : (index + 1) * 8]

    model = _model()
    layer = model.get_layer("input_bn")
    before = harness.to_numpy(layer.moving_mean)
    with pytest.raises(ValueError, match="`data`.*non-finite"):
        recompute_batch_norm_statistics(model, Batches())
    np.testing.assert_array_equal(before, harness.to_numpy(layer.moving_mean))
    with pytest.raises(ValueError, match="`data`.*non-finite"):
        recompute_batch_norm_statistics(model, x)


def test_masked_inputs_and_batch_renorm():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(40, 6, 3)).astype("float32")
    lengths = rng.integers(1, 7, size=40)
    x[np.arange(6)[None, :] >= lengths[:, None]] = 0.0  # Zero padding, masked out.
    inputs = keras.Input((6, 3))
    h = keras.layers.Masking(0.0)(inputs)
    h = keras.layers.BatchNormalization(renorm=True, name="renorm_bn")(h)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(h))
    layer = model.get_layer("renorm_bn")
    recompute_batch_norm_statistics(model, x, batch_size=16)
    kept = x[np.arange(6)[None, :] < lengths[:, None]]  # (unmasked steps, 3)
    np.testing.assert_allclose(
        harness.to_numpy(layer.moving_mean), kept.mean(0), rtol=1e-5
    )
    np.testing.assert_allclose(
        harness.to_numpy(layer.moving_variance), kept.var(0), rtol=1e-4
    )
    np.testing.assert_allclose(
        harness.to_numpy(layer.moving_stddev),
        np.sqrt(kept.var(0) + layer.epsilon),
        rtol=1e-4,
    )
