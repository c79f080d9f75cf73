import keras
import numpy as np
import pytest

from keras_smithing.callbacks import GreedyLayerwisePretraining
from keras_smithing.pretraining import pretrain
from tests import harness


def _data(n=60, features=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, features)).astype("float32")
    return x, (x[:, 0] > 0.5).astype("int32")


def _mlp(seed=0, activation="sigmoid", dropout=True):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8,))
    h = keras.layers.Dense(6, activation=activation, name="h1")(inputs)
    if dropout:
        h = keras.layers.Dropout(0.1, name="drop")(h)
    h = keras.layers.Dense(5, activation=activation, name="h2")(h)
    outputs = keras.layers.Dense(2, activation="softmax", name="out")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


class _Snapshot(keras.callbacks.Callback):
    """Records the weights when training begins (after pretraining)."""

    def on_train_begin(self, logs=None):
        self.weights = {layer.name: layer.get_weights() for layer in self.model.layers}


def _fast(**kwargs):
    return {"epochs_per_layer": 2, "batch_size": 20, "seed": 0, **kwargs}


@pytest.mark.parametrize("method", ["rbm", "dae"])
def test_callback_pretrains_listed_layers_before_fine_tuning(method):
    x, y = _data()
    model = _mlp()
    initial = {layer.name: layer.get_weights() for layer in model.layers}
    callback = GreedyLayerwisePretraining(x, method=method, layers=["h2"], **_fast())
    snapshot = _Snapshot()
    # shuffle=False: on JAX, Keras shuffles arrays with NumPy's global generator,
    # so a shuffling outer fit would change the batch order of the inner one.
    model.fit(x, y, epochs=1, shuffle=False, verbose=0, callbacks=[callback, snapshot])
    assert [r["layer"] for r in callback.reports] == ["h2"]
    for name in ("h1", "out"):  # Not listed: untouched by pretraining.
        for got, want in zip(snapshot.weights[name], initial[name]):
            np.testing.assert_array_equal(got, want)
    assert not np.allclose(snapshot.weights["h2"][0], initial["h2"][0])
    # Exactly what the function computes from the same start and seed.
    reference = _mlp()
    pretrain(reference, x, method=method, layers=["h2"], **_fast())
    for got, want in zip(
        snapshot.weights["h2"], reference.get_layer("h2").get_weights()
    ):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_harness_callback_and_saved_model():
    x, y = _data()
    model = _mlp(dropout=False)  # Dropout masks differ in the fresh process.
    initial = [model.get_layer(name).get_weights()[0] for name in ("h1", "h2")]
    harness.check_callback(
        GreedyLayerwisePretraining(x, **_fast()), model=model, x=x, y=y, epochs=1
    )
    for name, before in zip(("h1", "h2"), initial):
        assert not np.allclose(model.get_layer(name).get_weights()[0], before)
    harness.check_saved_model(model, x, fit_targets=y)


def test_pretrain_reports_and_visible_units():
    x, _ = _data()
    model = _mlp(activation="relu")
    reports = pretrain(model, x * 4 - 2, **_fast(epochs_per_layer=1))  # Gaussian.
    assert reports[0]["visible"] == "gaussian"
    report = reports[0]
    assert report["input_features"] == 8 and report["units"] == 6
    assert set(report["final"]) == {"reconstruction_error", "free_energy_gap"}
    assert not report["diverged"] and report["seconds"] > 0
    reports = pretrain(
        _mlp(activation="relu"), x, method="dae", **_fast(epochs_per_layer=1)
    )
    assert [r["layer"] for r in reports] == ["h1", "h2"]
    assert "loss" in reports[1]["final"]


def test_sequential_model():
    x, y = _data()
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(4, activation="sigmoid"),
            keras.layers.Dense(2),
        ]
    )
    reports = pretrain(model, x, **_fast())
    assert len(reports) == 1


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"method": "pca"}, "`method`"),
        ({"layers": ["drop"]}, "'drop' is a Dropout"),
        ({"layers": ["missing"]}, "`layers`"),
        ({"epochs_per_layer": 0}, "`epochs_per_layer`"),
        (
            {"visible": "bernoulli", "x_unlabeled": _data()[0] * 2},
            "`x_unlabeled`.*gaussian",
        ),
        ({"x_unlabeled": _data(features=5)[0]}, "`x_unlabeled`"),
    ],
)
def test_bad_arguments(kwargs, argument):
    x = kwargs.pop("x_unlabeled", _data()[0])
    with pytest.raises(ValueError, match=argument):
        pretrain(_mlp(), x, **kwargs)


def test_bad_callback_arguments():
    with pytest.raises(ValueError, match="`x_unlabeled`"):
        GreedyLayerwisePretraining(np.zeros(5))
    with pytest.raises(ValueError, match="`k`"):
        GreedyLayerwisePretraining(np.zeros((5, 8)), k=0)
    with pytest.raises(ValueError, match="`model`"):
        pretrain(keras.Sequential([keras.layers.Dense(2)]), np.zeros((5, 8)))


def test_verbose_says_which_layer_it_trains(capsys):
    x, _ = _data()
    pretrain(_mlp(), x, method="rbm", verbose=1, **_fast())
    out = capsys.readouterr().out
    assert "layer 1/2 'h1': bernoulli RBM 8\u21926" in out
    assert "layer 2/2 'h2': bernoulli RBM 6\u21925" in out


def test_callback_checks_like_pretrain_and_keeps_its_options():
    x, _ = _data()
    for kwargs in ({"k": 0}, {"rate": 1.0}, {"epochs_per_layer": 0}):
        for make in (
            lambda kw: pretrain(_mlp(), x, **kw),
            lambda kw: GreedyLayerwisePretraining(x, **kw),
        ):
            with pytest.raises(ValueError, match=f"`{next(iter(kwargs))}`"):
                make(kwargs)
    callback = GreedyLayerwisePretraining(x, method="dae", layers=["h2"], **_fast())
    model = _mlp()
    before = model.get_layer("h1").get_weights()
    before_h2 = model.get_layer("h2").get_weights()
    snapshot = _Snapshot()
    model.fit(x, _data()[1], epochs=1, verbose=0, callbacks=[callback, snapshot])
    assert [report["layer"] for report in callback.reports] == ["h2"]
    np.testing.assert_array_equal(before[0], snapshot.weights["h1"][0])
    assert not np.allclose(before_h2[0], snapshot.weights["h2"][0])


def test_explicit_visible_applies_to_the_first_layer_only():
    x, _ = _data()  # In [0, 1]; the sigmoid layers' outputs too.
    reports = pretrain(_mlp(), x, visible="gaussian", **_fast(epochs_per_layer=1))
    assert [r["visible"] for r in reports] == ["gaussian", "bernoulli"]
