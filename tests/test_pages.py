"""The README and the docs pages stay true: every registered object is in the trick
table, the quick start runs, the migration rows hold, and the README's headline figures
are the stored ones."""

import importlib
import inspect
import math
import pathlib
import re

import keras
import numpy as np
import pytest

import keras_smithing as ks
from tests import harness
from tools.pages import read_section

ROOT = pathlib.Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
TRICKS = ROOT / "docs" / "guide" / "index.md"
MIGRATION = (ROOT / "docs" / "migration.md").read_text()


def test_every_registered_object_is_in_the_trick_table():
    table = read_section("tricks", TRICKS)
    registered = {
        key.split(">", 1)[1]
        for key in keras.saving.get_custom_objects()
        if key.startswith("keras_smithing>")
    }
    missing = sorted(name for name in registered if name not in table)
    assert not missing, (
        f"registered objects missing from {TRICKS.name}'s table: {missing}"
    )


def test_both_setup_commands_are_documented():
    assert "make demo" in README and "make test" in README


def test_quick_start_runs(tmp_path, monkeypatch):
    code = re.search(
        r"<!-- quickstart:start -->\s+```python\n(.*?)```", README, re.S
    ).group(1)
    code = code.replace("epochs=20", "epochs=2")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README quick start", "exec"), namespace)
    reloaded = keras.saving.load_model(tmp_path / "digits.keras")
    x = namespace["data"].x_test[:8]
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), namespace["model"].predict(x, verbose=0)
    )
    assert namespace["samples"].mean.shape == (len(namespace["data"].x_test), 10)


def _migration_rows():
    section = re.search(
        r"## From TensorFlow Addons\n(.*?)\nThe constructors side by side",
        MIGRATION,
        re.S,
    )
    rows = [line.split(" | ") for line in section.group(1).splitlines()]
    peers = ("| `tfa.", "| `tfmot.", "| `keras_contrib.", "| `keras_tuner.")
    return [row for row in rows if len(row) == 3 and row[0].startswith(peers)]


def _resolve(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_migration_guide_names_exist_and_its_defaults_hold():
    rows = _migration_rows()
    assert len(rows) >= 25
    peers = {row[0].split("`")[1].split(".")[0] for row in rows}
    assert peers == {"tfa", "tfmot", "keras_contrib", "keras_tuner"}
    for tfa_names, use, _ in rows:
        names = re.findall(r"`((?:keras_smithing|keras)\.[\w.]+)", use)
        assert names, f"no Keras or keras_smithing name for {tfa_names}"
        for name in names:
            assert callable(_resolve(name)), name
    defaults = {
        (ks.optimizers.Lookahead, "sync_period"): 5,
        (ks.optimizers.RectifiedAdam, "sma_threshold"): 5.0,
        (ks.optimizers.RectifiedAdam, "epsilon"): 1e-7,
    }
    for (cls, argument), value in defaults.items():
        assert inspect.signature(cls).parameters[argument].default == value
    for cell in (ks.layers.LayerNormLSTMCell, ks.layers.LayerNormSimpleRNNCell):
        assert cell(4).get_config()["norm_epsilon"] == 1e-3
    # tfa's argument names are accepted.
    cell = ks.layers.LayerNormSimpleRNNCell(4, layernorm_epsilon=1e-5)
    assert cell.get_config()["norm_epsilon"] == 1e-5
    # Instance norm is group norm with one channel per group.
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    y = harness.to_numpy(keras.layers.GroupNormalization(groups=-1)(x))
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-5)
    # StochasticDepth at inference is shortcut + residual (tfa: shortcut + p * residual).
    shortcut, residual = x, 2 * x
    out = ks.layers.StochasticDepth(0.5)([shortcut, residual], training=False)
    np.testing.assert_allclose(harness.to_numpy(out), 3 * x, rtol=1e-6)


# The rows below are checked against NumPy transcriptions of the peers' code
# (tensorflow_addons 0.23, tensorflow_model_optimization 0.8), so a row that
# stops telling the truth fails here.


def _tfa_gelu(x, approximate=True):
    # tfa.activations.gelu: the tanh approximation by default.
    if approximate:
        inner = np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1.0 + np.tanh(inner))
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / np.sqrt(2.0)))


def test_tfa_activations_row_holds():
    x = np.linspace(-4.0, 4.0, 81).astype("float32")
    act = keras.activations

    def np_(y):
        return harness.to_numpy(y)

    np.testing.assert_allclose(
        np_(act.gelu(x, approximate=True)), _tfa_gelu(x), atol=1e-6
    )
    # The defaults differ: Keras's plain `gelu` is the exact form.
    np.testing.assert_allclose(np_(act.gelu(x)), _tfa_gelu(x, False), atol=1e-6)
    assert np.abs(np_(act.gelu(x)) - _tfa_gelu(x)).max() > 1e-4
    softplus = np.log1p(np.exp(x))
    np.testing.assert_allclose(np_(act.mish(x)), x * np.tanh(softplus), atol=1e-5)
    lower, upper = -0.7, 0.7  # tfa's hardshrink/softshrink(lower, upper)
    hard = np.where((x < lower) | (x > upper), x, 0.0)
    soft = np.where(x < lower, x - lower, np.where(x > upper, x - upper, 0.0))
    np.testing.assert_allclose(np_(act.hard_shrink(x, threshold=0.7)), hard, atol=1e-6)
    np.testing.assert_allclose(np_(act.soft_shrink(x, threshold=0.7)), soft, atol=1e-6)
    np.testing.assert_allclose(np_(act.tanh_shrink(x)), x - np.tanh(x), atol=1e-6)
    # Each is also found by name, as `activation="mish"` in a layer.
    for name in ("mish", "gelu", "sparsemax", "tanh_shrink", "soft_shrink"):
        assert callable(keras.activations.get(name))


def test_tfa_f1_score_row_holds():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=40)
    probs = rng.dirichlet(np.ones(3), size=40).astype("float32")
    for average in ("macro", "micro", "weighted"):
        metric = keras.metrics.F1Score(average=average)
        metric.update_state(np.eye(3, dtype="float32")[labels], probs)
        # tfa with threshold=None counted the top class as predicted.
        expected = f1_score(labels, probs.argmax(1), average=average)
        np.testing.assert_allclose(
            float(harness.to_numpy(metric.result())), expected, rtol=1e-5
        )
    with pytest.raises(TypeError, match="num_classes"):
        keras.metrics.F1Score(num_classes=3)


def _tfa_sigmoid_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0):
    # tfa.losses.sigmoid_focal_crossentropy on probabilities (from_logits=False).
    eps = 1e-7
    p = np.clip(y_pred, eps, 1 - eps)
    ce = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    alpha_factor = y_true * alpha + (1 - y_true) * (1 - alpha)
    return np.sum(alpha_factor * (1.0 - p_t) ** gamma * ce, axis=-1)


def test_tfa_focal_loss_row_holds():
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 2, size=(16, 5)).astype("float32")
    y_pred = rng.uniform(0.02, 0.98, size=(16, 5)).astype("float32")
    expected = _tfa_sigmoid_focal_crossentropy(y_true, y_pred)

    def loss(**kwargs):
        fn = keras.losses.BinaryFocalCrossentropy(reduction=None, **kwargs)
        return harness.to_numpy(fn(y_true, y_pred))

    # tfa's loss is the sum over the k = 5 outputs of Keras's class-balanced one.
    np.testing.assert_allclose(
        5 * loss(apply_class_balancing=True), expected, rtol=1e-4
    )
    # Without class balancing Keras does not weight by alpha: not tfa's loss.
    assert np.abs(5 * loss() - expected).max() > 1e-2


def _tfmot_polynomial_decay(step, initial, final, begin, end, power=3):
    # tfmot.sparsity.keras.PolynomialDecay.__call__'s sparsity.
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    return (initial - final) * (1 - p) ** power + final


def test_tfmot_pruning_row_holds():
    from keras_smithing.callbacks.weight_pruning import polynomial_sparsity

    for step in (0, 40, 100, 137, 250, 399, 400, 500):
        np.testing.assert_allclose(
            polynomial_sparsity(step, 0.2, 0.8, 100, 400),
            _tfmot_polynomial_decay(step, 0.2, 0.8, 100, 400),
            rtol=1e-12,
        )
    # The row's conversion, on 10 steps an epoch: begin_step=20, end_step=60,
    # frequency=10 prune at steps 20, 30, ..., 60, as tfmot's schedule does.
    steps_per_epoch, begin_step, end_step, frequency = 10, 20, 60, 10
    pruning = ks.callbacks.WeightPruning(
        0.8,
        initial_sparsity=0.2,
        start_epoch=begin_step // steps_per_epoch,
        end_epoch=end_step // steps_per_epoch,
        frequency=frequency,
    )
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8)])
    model.compile("sgd", "mse")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(80, 6)), rng.normal(size=(80, 8))
    model.fit(x, y, epochs=8, batch_size=8, callbacks=[pruning], verbose=0)
    assert pruning.history["step"] == list(range(begin_step, end_step + 1, frequency))
    np.testing.assert_allclose(
        pruning.history["sparsity"],
        [
            _tfmot_polynomial_decay(s, 0.2, 0.8, begin_step, end_step)
            for s in pruning.history["step"]
        ],
        rtol=1e-9,
    )
    kernel = harness.to_numpy(model.layers[0].kernel)
    assert np.mean(kernel == 0) == pytest.approx(0.8, abs=1 / kernel.size)


def _migration_code(peer):
    code = re.search(
        r"The constructors side by side.*?```python\n(.*?)```", MIGRATION, re.S
    ).group(1)
    return code.split("# keras_smithing")[int(peer == "keras_smithing")]


def test_keras_tuner_rows_constructors_run(tmp_path, monkeypatch):
    import keras_tuner

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, size=32)

    def build_model(hp):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(hp.Int("units", 2, 8)),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    namespace = {
        "keras_tuner": keras_tuner,
        "ks": ks,
        "build_model": build_model,
        "x": x,
        "y": y,
        "x_val": x,
        "y_val": y,
    }
    # KerasTuner's side is valid KerasTuner code (constructed, not searched).
    kerastuner_code = _migration_code("keras_tuner").split("tuner.search")[0]
    exec(compile(kerastuner_code, "migration KerasTuner", "exec"), dict(namespace))
    ours = _migration_code("keras_smithing")
    ours = ours.replace("max_trials=30", "max_trials=2").replace(
        "epochs=30", "epochs=1"
    )
    exec(compile(ours, "migration keras_smithing", "exec"), namespace)
    trials = namespace["tuner"].oracle.trials.values()
    assert len(trials) == 2
    assert all(trial.score is not None for trial in trials)
    # RandomSearch's constructor carries over unchanged, max_trials aside.
    kt_params = inspect.signature(keras_tuner.RandomSearch).parameters
    ours_params = inspect.signature(ks.tuners.CoarseToFine).parameters
    assert set(kt_params) <= set(ours_params)
    assert kt_params["max_trials"].default == 10
    assert ours_params["max_trials"].default == 50


def test_keras2_decay_row_holds():
    lr, decay = 0.1, 1e-3
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        lr, decay_steps=1, decay_rate=decay
    )
    for step in (0, 1, 50, 1000):
        # Keras 2's optimizers: lr / (1 + decay * iterations).
        np.testing.assert_allclose(
            float(harness.to_numpy(schedule(step))), lr / (1 + decay * step), rtol=1e-6
        )
    with pytest.raises(ValueError, match="InverseTimeDecay"):
        ks.optimizers.RectifiedAdam(lr, decay=decay)


def test_tfmot_row_prunes_what_tfmot_prunes_by_default():
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(20, 4, name="embedding"),
            keras.layers.LSTM(3, name="lstm"),
            keras.layers.Dense(2, name="head"),
        ]
    )
    model.compile("sgd", "mse")
    pruning = ks.callbacks.WeightPruning(0.5, frequency=1)
    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 20, size=(8, 5)), rng.normal(size=(8, 2))
    model.fit(x, y, epochs=1, batch_size=4, callbacks=[pruning], verbose=0)
    pruned = {path.split("/")[1] for path in pruning.masks}  # model/layer/...
    assert pruned == {"embedding", "lstm", "head"}, sorted(pruning.masks)
    lstm_weights = [p for p in pruning.masks if "/lstm/" in p]
    assert any("recurrent_kernel" in p for p in lstm_weights), lstm_weights
    assert not any("bias" in p for p in pruning.masks)


def test_readme_headline_figures_are_the_stored_ones():
    import json

    from benchmarks.report import headline_markdown

    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    assert read_section("headlines") == headline_markdown(results).strip()


def test_readme_is_a_newcomers_page():
    lines = README.count("\n")
    assert lines <= 250, f"README.md has {lines} lines: move detail into docs/ pages"
    for page in re.findall(r"\]\((docs/[^)#]+)", README):
        assert (ROOT / page).exists(), f"README links to {page}, which does not exist"
