"""What the pack loads on the active backend."""

import os
import subprocess
import sys

import keras
import pytest

_TRIPWIRE = """\
import pathlib
pathlib.Path(__file__).with_name("imported").touch()
raise ImportError("tensorflow is a tripwire in this test")
"""


def _imports_tensorflow(code, tmp_path):
    """Runs `code` with a `tensorflow` package that records any import of it."""
    package = tmp_path / "tensorflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(_TRIPWIRE)
    env = dict(
        os.environ, KERAS_BACKEND=keras.backend.backend(), PYTHONPATH=str(tmp_path)
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=False)
    return (package / "imported").exists()


@pytest.mark.skipif(
    keras.backend.backend() == "tensorflow", reason="TensorFlow is the backend"
)
def test_import_loads_no_tensorflow_on_other_backends(tmp_path):
    assert not _imports_tensorflow("import keras_smithing", tmp_path / "a")
    # The tripwire works: an import of TensorFlow is seen.
    assert _imports_tensorflow("import keras_smithing, tensorflow", tmp_path / "b")
