"""Every object registered under "keras_smithing" goes through the shared harness."""

import ast
import pathlib

import keras

import keras_smithing  # noqa: F401  (registers everything)

TESTS = pathlib.Path(__file__).parent


def _names_checked_by_harness():
    """Names that appear inside calls to `harness.check_*` in any test file."""
    names = set()
    for path in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else getattr(func, "id", "")
            )
            # check_rejects tries bad inputs only: it proves no capability.
            if not called.startswith("check_") or called == "check_rejects":
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name):
                    names.add(inner.id)
                elif isinstance(inner, ast.Attribute):
                    names.add(inner.attr)
    return names


def test_every_registered_object_has_a_harness_test():
    registered = {
        key.split(">", 1)[1]
        for key in keras.saving.get_custom_objects()
        if key.startswith("keras_smithing>")
    }
    assert registered, "import keras_smithing registered nothing"
    missing = sorted(registered - _names_checked_by_harness())
    assert not missing, f"registered but never passed to a harness check: {missing}"


def test_registration_happens_at_import():
    assert "keras_smithing>MCDropout" in keras.saving.get_custom_objects()
