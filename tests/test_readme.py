"""The README stays true: every registered object is in its table, its quick start runs."""

import importlib
import inspect
import pathlib
import re

import keras
import numpy as np

import keras_smithing as ks
from tests import harness

README = (pathlib.Path(__file__).parent.parent / "README.md").read_text()


def _section(name):
    return README.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]


def test_every_registered_object_is_in_the_trick_table():
    table = _section("tricks")
    registered = {
        key.split(">", 1)[1]
        for key in keras.saving.get_custom_objects()
        if key.startswith("keras_smithing>")
    }
    missing = sorted(name for name in registered if name not in table)
    assert not missing, f"registered objects missing from the README table: {missing}"


def test_both_setup_commands_are_documented():
    assert "make demo" in README and "make test" in README


def test_quick_start_runs(tmp_path, monkeypatch):
    code = re.search(r"## Quick start\s+```python\n(.*?)```", README, re.S).group(1)
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
        r"## Migrating from TensorFlow Addons\n(.*?)\n## ", README, re.S
    )
    rows = [line.split(" | ") for line in section.group(1).splitlines()]
    return [row for row in rows if len(row) == 3 and row[0].startswith("| `tfa.")]


def _resolve(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_migration_guide_names_exist_and_its_defaults_hold():
    rows = _migration_rows()
    assert len(rows) >= 14
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
