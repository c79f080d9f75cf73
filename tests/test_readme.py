"""The README stays true: every registered object is in its table, its quick start runs."""

import pathlib
import re

import keras
import numpy as np

import keras_smithing  # noqa: F401

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
