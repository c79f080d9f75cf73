"""Every public object's docstring example runs as written, and shows what it says.

The examples are doctests: each imports what it uses (no names are injected), and its
printed output is compared with the docstring's. They run on TensorFlow, the backend
CI runs them on; on JAX and PyTorch they are skipped, since printed floats may differ
in the last digits between backends.
"""

import doctest

import keras
import pytest

from tools.api import public_objects

OBJECTS = [
    (f"keras_smithing.{subpackage}.{name}".replace("..", "."), obj)
    for subpackage, members in sorted(public_objects().items())
    for name, obj in members
]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples(path, obj):
    # The object's own docstring only: a method's examples would be found twice.
    finder = doctest.DocTestFinder(recurse=False)
    return [test for test in finder.find(obj, path) if test.examples]


@pytest.mark.parametrize("path,obj", OBJECTS, ids=[path for path, _ in OBJECTS])
def test_public_object_has_an_example(path, obj):
    assert _examples(path, obj), (
        f"{path} has no example in its docstring: add an `Example:` section with "
        "`>>>` lines that run as written (imports included)."
    )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="examples are checked on TensorFlow"
)
@pytest.mark.parametrize("path,obj", OBJECTS, ids=[path for path, _ in OBJECTS])
def test_docstring_example_runs(path, obj, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Examples that write files write them here.
    keras.utils.set_random_seed(0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    reports = []
    tests = _examples(path, obj)
    for test in tests:
        test.globs = {}
        runner.run(test, out=reports.append, clear_globs=True)
    if reports:
        pytest.fail("".join(reports), pytrace=False)
    assert tests and runner.summarize(verbose=False).attempted > 0
