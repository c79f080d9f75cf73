"""The support matrix (docs/backends.md), generated from what the test suite observed.

The `check_*` functions of tests/harness.py call `record(objects, capability)` after
each step that succeeded, for every keras_smithing object involved (wrapped layers,
initializers, constraints, inner optimizers and schedules included). A record counts
only when its test passes. With `SMITHING_SUPPORT_DIR` set, each pytest process
writes its records to `<dir>/<backend>-<worker>-<pid>.json` at the end of the
session.

`python -m tests.support_matrix write DIR` merges such files into
docs/support/matrix.json and rewrites its section of docs/backends.md from it (`make
support`); `python -m tests.support_matrix check DIR` fails when the committed matrix
claims a capability that the records in DIR do not show (CI runs it).
"""

import json
import os
import pathlib
import sys

import keras

from keras_smithing.utils import compat

ROOT = pathlib.Path(__file__).resolve().parent.parent
MATRIX = ROOT / "docs" / "support" / "matrix.json"
BACKENDS = ("tensorflow", "jax", "torch")
CAPABILITIES = {
    "fit": "fit",
    "save/load": "save",
    "jit": "jit",
    "mixed precision": "mp",
    "distribution": "dist",
}
_PACKAGE = "keras_smithing>"
_pending = set()
_passed = set()


def _registered(obj):
    cls = obj if isinstance(obj, type) else type(obj)
    name = keras.saving.get_registered_name(cls)
    return name[len(_PACKAGE) :] if name.startswith(_PACKAGE) else None


def _parts(obj):
    """`obj` and the Keras objects inside it."""
    if isinstance(obj, type):
        return [obj]
    parts = []
    if isinstance(obj, keras.layers.Layer):
        for layer in compat.flatten_layers(obj, include_self=True):
            parts.append(layer)
            parts.extend(
                value
                for value in vars(layer).values()
                if isinstance(
                    value,
                    (keras.initializers.Initializer, keras.constraints.Constraint),
                )
            )
        if isinstance(obj, keras.Model) and getattr(obj, "optimizer", None):
            parts.extend(_parts(obj.optimizer))
        return parts
    if isinstance(obj, keras.optimizers.Optimizer):
        parts.append(obj)
        for value in vars(obj).values():
            if isinstance(value, keras.optimizers.Optimizer) and value is not obj:
                parts.extend(_parts(value))
            elif isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
                parts.extend([value, *vars(value).values()])
        return parts
    return [obj]


def record(objects, capability):
    """Notes that the running test showed `capability` for `objects`.

    Args:
        objects: A class, an instance (layer, model, optimizer, callback, ...) or a
            list of them.
        capability: One of `CAPABILITIES`.
    """
    assert capability in CAPABILITIES, capability
    for obj in objects if isinstance(objects, (list, tuple)) else [objects]:
        for part in _parts(obj):
            name = _registered(part)
            if name is not None:
                _pending.add((name, capability))


def end_test(passed):
    """Keeps the running test's records if it passed."""
    if passed:
        _passed.update(_pending)
    _pending.clear()


def write(directory):
    """Writes this process's records to `<directory>/<backend>-<worker>-<pid>.json`."""
    if not _passed:
        return
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = directory / f"{keras.backend.backend()}-{worker}-{os.getpid()}.json"
    path.write_text(json.dumps(sorted(_passed), indent=1) + "\n")


def merge(directory):
    """`{backend: {object: [capabilities]}}` from a directory of records."""
    matrix = {}
    for path in sorted(pathlib.Path(directory).glob("*.json")):
        backend = path.stem.split("-")[0]
        objects = matrix.setdefault(backend, {})
        for name, capability in json.loads(path.read_text()):
            objects.setdefault(name, set()).add(capability)
    order = list(CAPABILITIES).index
    return {
        backend: {name: sorted(objects[name], key=order) for name in sorted(objects)}
        for backend, objects in matrix.items()
    }


def markdown(matrix):
    """The docs section: one row per registered object, one column per backend."""
    import keras_smithing  # noqa: F401  (registers every object)

    names = sorted(
        name[len(_PACKAGE) :]
        for name in keras.saving.get_custom_objects()
        if name.startswith(_PACKAGE)
    )
    legend = ", ".join(f"`{short}` {long}" for long, short in CAPABILITIES.items())
    lines = [
        "Generated from test results by `make support` (each mark is a passing test "
        f"on that backend): {legend} (XLA on TensorFlow and JAX, `torch.compile` "
        "on PyTorch). An empty cell: not exercised there.",
        "",
        "| object | " + " | ".join(BACKENDS) + " |",
        "|---" * (len(BACKENDS) + 1) + "|",
    ]
    for name in names:
        cells = [
            " ".join(CAPABILITIES[c] for c in matrix.get(b, {}).get(name, []))
            for b in BACKENDS
        ]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check(directory):
    """Compares the committed matrix with the records in `directory`.

    Returns:
        `(missing, not_run)`: the `(backend, object, capability)` claimed but not
        observed, and the `(backend, capability)` pairs no test exercised there at
        all (the opt-in `torch.compile` checks), which cannot be compared.
    """
    observed = merge(directory)
    committed = json.loads(MATRIX.read_text())
    missing, not_run = [], set()
    for backend, objects in committed.items():
        if backend not in observed:
            continue
        exercised = {c for caps in observed[backend].values() for c in caps}
        for name, capabilities in objects.items():
            for capability in capabilities:
                if capability not in exercised:
                    not_run.add((backend, capability))
                elif capability not in observed[backend].get(name, []):
                    missing.append((backend, name, capability))
    return missing, sorted(not_run)


def main(command, directory):
    if command == "check":
        missing, not_run = check(directory)
        for backend, capability in not_run:
            print(f"not exercised on {backend} in this run: {capability}")
        for backend, name, capability in missing:
            print(f"claimed but not observed on {backend}: {name} {capability}")
        return 1 if missing else 0
    from tools.pages import replace_section

    matrix = json.loads(MATRIX.read_text()) if MATRIX.exists() else {}
    matrix.update(merge(directory))
    MATRIX.parent.mkdir(parents=True, exist_ok=True)
    MATRIX.write_text(json.dumps(matrix, indent=1, sort_keys=True) + "\n")
    replace_section("support", markdown(matrix))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
