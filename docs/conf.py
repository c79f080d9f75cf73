"""Sphinx configuration of the keras_smithing documentation site (`make docs`).

Why Sphinx, furo and MyST: the Python libraries closest to this pack, scikit-learn
and Optuna, build their documentation with Sphinx, and its autodoc and napoleon
extensions read our Google-style docstrings (Args, Call arguments, Returns,
Example, Reference) as they are written, so the API reference is the docstrings and
cannot drift from `help()`. With `-W -n` Sphinx turns a broken cross-reference or
an object that fails to import into an error, which is what CI needs. The furo
theme ships a client-side search that works offline, from a folder or a file://
URL, with no server. MyST lets the pages be written in the same Markdown as the
README, so a section moves between the two without being rewritten. We do not use
sphinx-gallery: our examples take minutes to hours, so the gallery page is written
from the numbers the examples stored (docs/gallery/evidence.json), like the
benchmark plots (benchmarks/results.json).

Before Sphinx reads a page, this file runs `tools.docs.main()` (also runnable as
`python -m tools.docs`), which writes the generated parts (git-ignored): docs/api/
(one page per subpackage from `tools.api.public_objects()`) and docs/_generated/
(the benchmark plots and docs/_generated/benchmark_figures.md). So a plain
`sphinx-build docs docs/_build/html` never builds stale pages.
"""

import functools
import inspect
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import keras_smithing  # noqa: E402
from tools import docs as _site  # noqa: E402

_site.main()

project = "keras_smithing"
author = "the keras_smithing authors"
copyright = "the keras_smithing authors"
release = keras_smithing.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# docs/_generated/*.md are pieces `{include}`d by the pages, not pages themselves.
exclude_patterns = ["_build", "_generated/*.md", "**/README.md"]

# MyST: `:::` fences for directives, `$...$` maths, heading anchors for
# `[text](page.md#a-heading)` links.
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "attrs_inline"]
myst_heading_anchors = 3

# Every broken reference to one of OUR objects fails the build (`-n -W`). There is
# no intersphinx (the build has no network), so the names of other libraries are
# not resolved and must not warn: Keras, NumPy and the rest are plain text.
nitpicky = True
_EXTERNAL = (
    "keras",
    "keras_tuner",
    "numpy",
    "np",
    "tf",
    "tensorflow",
    "jax",
    "torch",
    "optuna",
    "sklearn",
    "matplotlib",
    "mpl",
    "collections",
    "typing",
    "pathlib",
    "os",
    "io",
    "datetime",
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({'|'.join(_EXTERNAL)})(\..+)?"),
    # Keras's own names for array types in docstrings ("tensor", "array-like").
    (r"py:.*", r"(tensor|Tensor|array|array-like|ndarray|callable|optional|default)"),
    # Free-text types in an `Args:` entry, e.g. "(int or None, optional)", split by
    # napoleon into words; a Python name never contains a space.
    (r"py:.*", r".*\s.*"),
]

# autodoc: the signature, then the docstring; only what our class defines (no
# members inherited from Keras), and only members with a docstring of their own.
# tools/docs.py asks for the base classes of a class that has some besides `object`.
autodoc_default_options = {
    "members": True,
    "undoc-members": False,
    "inherited-members": False,
}
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False
autodoc_typehints = "none"
autodoc_class_signature = "mixed"
autoclass_content = "class"
# Docstrings write code in single backticks, as Keras's do (Markdown's habit): show
# it as code, not as reST's default italics.
default_role = "literal"
add_module_names = True
python_use_unqualified_type_names = True

# napoleon: Keras's Google-style sections, "Call arguments" included.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = [
    ("Call arguments", "params_style"),
    ("Reference", "references_style"),
]
napoleon_use_rtype = False
# A dataclass's `Attributes:` section as a field list of the class (`:ivar:`), typed
# by the docstring only: autodoc does not describe the fields a second time.
napoleon_use_ivar = True
napoleon_attr_annotations = False

# Methods Keras calls for the user (hooks), not methods a user calls: left out of
# the reference even when our class overrides them with a docstring.
KERAS_HOOKS = {
    # Layer, Model, Initializer, Constraint.
    "build",
    "call",
    "compute_output_shape",
    "compute_output_spec",
    "compute_mask",
    "get_config",
    "from_config",
    "get_build_config",
    "build_from_config",
    "save_own_variables",
    "load_own_variables",
    "compute_loss",
    "compute_metrics",
    "train_step",
    "test_step",
    "predict_step",
    "metrics",
    # Optimizer (and our wrappers' hook for the wrapped optimizer's step).
    "update_step",
    "apply",
    "stateless_apply",
    "finalize_variable_values",
    "wrapped_apply",
    # Callback.
    "set_model",
    "set_params",
    # KerasTuner Oracle, Tuner, HyperModel, Objective.
    "populate_space",
    "create_trial",
    "update_space",
    "update_trial",
    "end_trial",
    "score_trial",
    "get_state",
    "set_state",
    "run_trial",
    "declare_hyperparameters",
    "has_value",
    "get_value",
    "better_than",
    "score",
}


def _init_signature(app, what, name, obj, options, signature, return_annotation):
    """A class's signature is its `__init__`'s: Keras's `Layer.__new__(*args,
    **kwargs)` would otherwise hide every argument."""
    if what != "class" or "__init__" not in {
        k for c in obj.__mro__[:-1] for k in vars(c)
    }:
        return None
    init = inspect.signature(obj.__init__)
    parameters = [
        p.replace(annotation=inspect.Parameter.empty) for p in init.parameters.values()
    ][1:]
    return str(init.replace(parameters=parameters, return_annotation=init.empty)), None


# Sphinx 9's napoleon splits a `Returns:` line at its first colon, even inside
# `code` ("A tensor of shape `inputs.shape[:-1] + (units,)`." would read as a type
# "A tensor of shape `inputs.shape[" and a description). The colons inside code on
# that line are hidden from napoleon and put back after it.
_CODE = re.compile(r"`[^`]+`")
_HIDDEN_COLON = "\ue000"


def _hide_code_colons(app, what, name, obj, options, lines):
    for i, line in enumerate(lines[:-1]):
        if line.strip() in ("Returns:", "Yields:"):
            lines[i + 1] = _CODE.sub(
                lambda m: m[0].replace(":", _HIDDEN_COLON), lines[i + 1]
            )


# An `Args:` entry may name several arguments ("restart_patience, restart_tolerance:
# ..."), and a long list of names may wrap ("kernel_initializer, bias_initializer,"
# then "    bias_regularizer, ...: As in `Highway`."): the wrapped names are joined
# into one line for napoleon, and a `**kwargs` after a comma is escaped for reST
# (napoleon escapes only the first name).
_ARGUMENT_SECTIONS = {"Args:", "Arguments:", "Call arguments:", "Attributes:"}
_WRAPPED_NAMES = re.compile(r"\**\w+(, \**\w+)*,")


def _join_wrapped_names(app, what, name, obj, options, lines):
    entry_indent = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped in _ARGUMENT_SECTIONS:
            entry_indent = -1
        elif stripped and entry_indent == -1:
            entry_indent = indent
        elif stripped and entry_indent is not None and indent < entry_indent:
            entry_indent = None
        if stripped and entry_indent not in (None, -1) and indent == entry_indent:
            if _WRAPPED_NAMES.fullmatch(stripped) and i + 1 < len(lines):
                lines[i] = f"{line.rstrip()} {lines.pop(i + 1).strip()}"
                continue
            names, colon, rest = line.partition(":")
            if colon and ", *" in names:
                lines[i] = (
                    names.replace(", **", r", \*\*").replace(", *", r", \*")
                    + ":"
                    + rest
                )
        i += 1


def _restore_code_colons(app, what, name, obj, options, lines):
    lines[:] = [line.replace(_HIDDEN_COLON, ":") for line in lines]


def _skip_member(app, what, name, obj, skip, options):
    if what == "class" and (name in KERAS_HOOKS or name.startswith("on_")):
        return True
    return None


def _public_bases(app, name, obj, options, bases):
    """Name a base class by its public path: `keras.layers.Layer` rather than
    `keras.src.layers.layer.Layer`; a private base of ours by the class above it."""
    public = []
    for base in bases:
        while base not in _public_paths() and base.__module__.startswith(
            "keras_smithing"
        ):
            base = base.__bases__[0]
        if base is object:
            continue
        path = _public_paths().get(base) or getattr(base, "_api_export_path", None)
        if isinstance(path, (list, tuple)):
            path = path[0]
        public.append(path or f"{base.__module__}.{base.__qualname__}")
    bases[:] = [f":py:class:`{path}`" for path in dict.fromkeys(public)]


@functools.cache
def _public_paths():
    """`{object: "keras_smithing.subpackage.Name"}`, where the reference documents it."""
    from tools.api import public_objects

    return {
        obj: ".".join(filter(None, ("keras_smithing", subpackage, name)))
        for subpackage, members in public_objects().items()
        for name, obj in members
    }


@functools.cache
def _aliases():
    """`{another path: the documented path}` of every public object: the path of the
    module that defines it (`keras_smithing.layers.dropconnect.DropConnectDense`),
    and every other public module that exports it (`keras_smithing.set_seed`)."""
    import importlib

    from tools.api import SUBPACKAGES

    documented = _public_paths()
    aliases = {
        f"{obj.__module__}.{obj.__qualname__}": path for obj, path in documented.items()
    }
    for subpackage in ("", *SUBPACKAGES):
        module = importlib.import_module(
            ".".join(filter(None, ("keras_smithing", subpackage)))
        )
        for name, value in vars(module).items():
            if callable(value) and not name.startswith("_") and value in documented:
                aliases[f"{module.__name__}.{name}"] = documented[value]
    return {alias: path for alias, path in aliases.items() if alias != path}


def _resolve_alias(app, env, node, contnode):
    """A reference to a public object by another of its paths finds the one entry."""
    target = _aliases().get(node.get("reftarget"))
    if node.get("refdomain") != "py" or target is None:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], target, node, contnode
    )


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-signature", _init_signature)
    # napoleon rewrites docstrings at the default priority, 500.
    app.connect("autodoc-process-docstring", _join_wrapped_names, priority=100)
    app.connect("autodoc-process-docstring", _hide_code_colons, priority=100)
    app.connect("autodoc-process-docstring", _restore_code_colons, priority=900)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("missing-reference", _resolve_alias)


# HTML: furo, its offline search, the pages' source links off (the repository is
# the source), the gallery images copied from docs/gallery/ by MyST's image syntax.
html_theme = "furo"
html_title = f"keras_smithing {release}"
html_static_path = []
html_show_sourcelink = False
html_copy_source = False
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
