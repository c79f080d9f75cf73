"""The public API, listed once: what the reference documents and the example tests run.

A public object is a class or function defined in `keras_smithing` and exported by
the package or one of its subpackages (`keras_smithing.layers`, ...,
`keras_smithing.optimizers.schedules`); Keras objects the subpackages re-export are
listed separately, with where they come from. An object exported by two subpackages
(`GreedyLayerwisePretraining` from `pretraining` and `callbacks`) is documented once,
under the subpackage whose module defines it.
"""

import importlib
import inspect

SUBPACKAGES = (
    "layers",
    "initializers",
    "constraints",
    "optimizers",
    "optimizers.schedules",
    "callbacks",
    "pretraining",
    "tuners",
    "datasets",
    "utils",
)


def _exports(module):
    for name in sorted(getattr(module, "__all__", vars(module))):
        value = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if inspect.isclass(value) or inspect.isfunction(value):
            yield name, value


def _home(obj):
    """The subpackage whose module defines `obj`, e.g. "optimizers.schedules"."""
    module = obj.__module__.removeprefix("keras_smithing.")
    return module if module in SUBPACKAGES else module.rpartition(".")[0]


def public_objects():
    """`{subpackage: [(name, object), ...]}` of the pack's own public objects.

    The key "" holds the top-level functions no subpackage exports (`mc_predict`).
    """
    import keras_smithing

    exported = {"": dict(_exports(keras_smithing))}
    for subpackage in SUBPACKAGES:
        module = importlib.import_module(f"keras_smithing.{subpackage}")
        exported[subpackage] = dict(_exports(module))
    found = {}
    for subpackage, names in exported.items():
        for name, value in names.items():
            if not value.__module__.startswith("keras_smithing."):
                continue
            home = _home(value)
            owner = home if name in exported.get(home, {}) else subpackage
            if owner == subpackage and name not in dict(found.get(subpackage, [])):
                if subpackage == "" and any(name in exported[s] for s in SUBPACKAGES):
                    continue
                found.setdefault(subpackage, []).append((name, value))
    return found


def keras_reexports():
    """`{subpackage: [(name, "keras.module.Name"), ...]}` of the Keras objects re-exported."""
    found = {}
    for subpackage in SUBPACKAGES:
        module = importlib.import_module(f"keras_smithing.{subpackage}")
        for name, value in _exports(module):
            if value.__module__.startswith("keras_smithing."):
                continue
            found.setdefault(subpackage, []).append((name, value))
    return found
