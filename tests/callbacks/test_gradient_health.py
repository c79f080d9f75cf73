import os
import tempfile
import warnings

import keras
import numpy as np
import pytest

from keras_smithing.callbacks import GradientHealth
from tests import harness


def _mlp(activation, initializer, depth=10, width=16, bias=0.0):
    inputs = keras.Input((8,))
    h = inputs
    for i in range(depth - 1):
        h = keras.layers.Dense(
            width,
            activation=activation,
            kernel_initializer=initializer,
            bias_initializer=keras.initializers.Constant(bias),
            name=f"hidden_{i}",
        )(h)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(h))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return model


def _data(n=64):
    return harness.random_data((n, 8)), harness.random_data((n, 1), seed=1)


def _fit(model, callback, epochs=1, batch_size=16):
    x, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[callback]
        )
    messages = [str(w.message) for w in caught if "GradientHealth" in str(w.message)]
    return history, messages


def test_harness():
    x, y = harness.random_data((32, 4)), harness.random_data((32, 1), seed=1)
    history = harness.check_callback(
        callback := GradientHealth((x[:8], y[:8]), every_n_batches=1),
        x=x,
        y=y,
        epochs=2,
    )
    assert callback.history["step"] == [0, 1, 2]
    assert "gradient_health_ratio" in history.history


@pytest.mark.parametrize("every_n_batches", [3, 4])
def test_probes_run_without_a_batch_end_hook(every_n_batches):
    """A batch-end hook would make Keras wait for every step's results; the probe
    after batch k runs as batch k + 1 begins, or at the end of the epoch."""
    for hook in ("on_batch_end", "on_train_batch_end"):
        assert getattr(GradientHealth, hook) is getattr(keras.callbacks.Callback, hook)
    model = _mlp("relu", "he_normal", depth=3)
    x, y = _data()
    probe = GradientHealth((x[:16], y[:16]), every_n_batches=every_n_batches)
    seen = []

    class Steps(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append([w.copy() for w in self.model.get_weights()])

    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[probe, Steps()])
    seen.append(model.get_weights())  # 2 epochs of 4 batches: 8 steps.
    expected = list(range(0, 9, every_n_batches))
    assert probe.history["step"] == expected
    # Each probe saw the weights after its step.
    for step, norm in zip(expected, probe.history["weight_norm"]["head"]):
        head = seen[step][-2:]
        assert np.isclose(norm, np.sqrt(sum(np.sum(np.square(w)) for w in head)))


def test_deep_sigmoid_mlp_is_flagged_as_vanishing():
    callback = GradientHealth(_data(32), every_n_batches=2)
    history, messages = _fit(_mlp("sigmoid", "glorot_uniform"), callback)
    assert history.history["gradient_health_vanishing"] == [1.0]
    assert history.history["gradient_health_ratio"][0] < 1e-3
    assert len(messages) == 1 and "vanishing gradients" in messages[0]
    norms = callback.history["gradient_norm"]
    assert norms["hidden_0"][0] < 1e-3 * norms["head"][0]


def test_deep_relu_he_mlp_is_healthy():
    # Seeded: an unlucky draw can leave half the units of a 16-wide layer dead.
    keras.utils.set_random_seed(0)
    callback = GradientHealth(_data(32), every_n_batches=2)
    history, messages = _fit(_mlp("relu", "he_normal"), callback)
    assert messages == []
    for key in ("vanishing", "exploding", "dead_units"):
        assert history.history[f"gradient_health_{key}"] == [0.0]
    assert 1e-2 < history.history["gradient_health_ratio"][0] < 1e2


def test_large_negative_bias_is_flagged_for_dead_units():
    callback = GradientHealth(_data(32), every_n_batches=2)
    model = _mlp("relu", "he_normal", depth=3, bias=-20.0)
    history, messages = _fit(model, callback)
    assert history.history["gradient_health_dead_units"] == [1.0]
    assert any("dead units" in m and "hidden_0" in m for m in messages)
    assert callback.history["dead_fraction"]["hidden_0"] == [1.0] * 3


def test_exploding_threshold_and_non_finite_gradients():
    callback = GradientHealth(_data(32), exploding_threshold=1e-3)
    history, messages = _fit(_mlp("relu", "he_normal", depth=3), callback)
    assert history.history["gradient_health_exploding"] == [1.0]
    assert len(messages) == 1 and "exploding gradients" in messages[0]

    huge = keras.initializers.Constant(1e25)
    model = _mlp("relu", huge, depth=3)
    callback = GradientHealth(_data(32))
    history, messages = _fit(model, callback)
    assert history.history["gradient_health_exploding"] == [1.0]
    assert any("not finite" in m for m in messages)


def test_statistics_match_a_numpy_reference():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(5, activation="relu", name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(hidden))
    lr = 0.1
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    x, y = _data(16)
    w1, b1, w2, b2 = (w.astype("float64") for w in model.get_weights())
    callback = GradientHealth((x, y), every_n_batches=1)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[callback])

    # Forward and backward pass of the initial weights in NumPy.
    pre = x @ w1 + b1
    h = np.maximum(pre, 0)
    out = h @ w2 + b2
    d_out = 2 * (out - y) / len(x)
    d_w2, d_b2 = h.T @ d_out, d_out.sum(0)
    d_pre = (d_out @ w2.T) * (pre > 0)
    d_w1, d_b1 = x.T @ d_pre, d_pre.sum(0)

    def norm(*arrays):
        return np.sqrt(sum(np.sum(a**2) for a in arrays))

    record = callback.history
    assert record["loss"][0] == pytest.approx(np.mean((out - y) ** 2), rel=1e-5)
    assert record["weight_norm"]["hidden"][0] == pytest.approx(norm(w1, b1), rel=1e-5)
    assert record["gradient_norm"]["hidden"][0] == pytest.approx(
        norm(d_w1, d_b1), rel=1e-4
    )
    assert record["gradient_norm"]["head"][0] == pytest.approx(
        norm(d_w2, d_b2), rel=1e-4
    )
    # One SGD step on the probe batch moves the weights by lr * gradient.
    assert np.isnan(record["update_ratio"]["head"][0])
    assert record["update_ratio"]["head"][1] == pytest.approx(
        lr * norm(d_w2, d_b2) / norm(w2, b2), rel=1e-4
    )
    assert record["activation_mean"]["hidden"][0] == pytest.approx(h.mean(), rel=1e-5)
    assert record["activation_std"]["hidden"][0] == pytest.approx(h.std(), rel=1e-5)
    dead = np.mean(np.all(h == 0, axis=0))
    assert record["dead_fraction"]["hidden"][0] == pytest.approx(dead)


def test_probing_changes_no_model_state():
    def run(callbacks):
        keras.utils.set_random_seed(1)
        inputs = keras.Input((8,))
        h = keras.layers.BatchNormalization()(keras.layers.Dense(6)(inputs))
        outputs = [
            keras.layers.Dense(1, name="a")(h),
            keras.layers.Dense(1, name="b")(h),
        ]
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss=["mse", "mse"])
        x, y = _data(32)
        history = model.fit(
            x,
            [y, -y],
            batch_size=16,
            verbose=0,
            shuffle=False,
            callbacks=callbacks,
        )
        return model.get_weights(), history.history

    x, y = _data(8)
    probe = GradientHealth((x, [y, -y]), every_n_batches=1)
    weights, history = run([probe])
    assert len(probe.history["step"]) == 3
    expected_weights, expected_history = run([])
    for got, want in zip(weights, expected_weights):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    for key, values in expected_history.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-6)


def test_tensorboard_and_plot():
    from tensorboard.backend.event_processing.event_file_loader import (
        LegacyEventFileLoader,
    )

    directory = tempfile.mkdtemp()
    plot_path = os.path.join(directory, "health.png")
    callback = GradientHealth(
        _data(16), every_n_batches=2, log_dir=directory, plot_path=plot_path
    )
    _fit(_mlp("relu", "he_normal", depth=3), callback)
    tags = set()
    for name in os.listdir(directory):
        if name.startswith("events"):
            loader = LegacyEventFileLoader(os.path.join(directory, name))
            for event in loader.Load():
                tags.update(value.tag for value in event.summary.value)
                histograms = [v.histo for v in event.summary.value if v.histo.num]
                assert all(sum(h.bucket) == h.num for h in histograms)
    assert "gradient_health/gradient_norm/hidden_0" in tags
    assert "gradient_health/dead_fraction/head" in tags
    assert any(tag.startswith("gradients/") and tag.endswith("kernel") for tag in tags)
    with open(plot_path, "rb") as f:
        assert f.read(4) == b"\x89PNG"
    figure = callback.plot()
    assert [len(axes.lines) for axes in figure.axes] == [3, 3]


def test_probe_data_not_matching_the_model():
    model = _mlp("relu", "he_normal", depth=2)
    x, y = _data(16)
    callback = GradientHealth((np.zeros((4, 3), "float32"), y[:4]))
    with pytest.raises(ValueError, match="`probe_data`.*input shapes"):
        model.fit(x, y, verbose=0, callbacks=[callback])


def test_probe_data_not_a_pair():
    for probe_data in [np.zeros((4, 8)), (np.zeros((4, 8)),), None]:
        with pytest.raises(ValueError, match="`probe_data`.*tuple"):
            GradientHealth(probe_data)


def test_unbuilt_model():
    callback = GradientHealth(_data(4))
    callback.set_model(keras.Sequential([keras.layers.Dense(1)]))
    with pytest.raises(ValueError, match="`model`.*built"):
        callback.on_train_begin()


def test_bad_arguments():
    for kwargs in [
        {"every_n_batches": 0},
        {"every_n_batches": 2.5},
        {"vanishing_threshold": 0.0},
        {"exploding_threshold": -1.0},
        {"dead_threshold": 1.0},
    ]:
        (name,) = kwargs
        with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
            GradientHealth(_data(4), **kwargs)
