"""The package as a whole: it imports under `python -OO`, the layers that mirror a
Keras layer take that layer's arguments, and their docstrings list them."""

import inspect
import os
import re
import subprocess
import sys

import keras
import pytest

from keras_smithing import layers
from keras_smithing.layers import LayerNormGRU, LayerNormLSTM, LayerNormSimpleRNN

# `-OO` strips every docstring (`__doc__` is None): a module that builds a docstring
# at import (`__doc__.format(...)`) fails there. The script also builds and calls a
# few layers, so that constructors that read a docstring fail too.
_OO_SCRIPT = """
import sys
import numpy as np
import keras_smithing
from keras_smithing.layers import BayesianDense, LayerNormLSTM
assert sys.flags.optimize == 2, sys.flags.optimize
assert LayerNormLSTM.__doc__ is None
x = np.zeros((2, 3, 4), "float32")
print("outputs", tuple(LayerNormLSTM(5)(x).shape), tuple(BayesianDense(5, kl_weight=1.0)(x).shape))
"""


def test_imports_under_python_oo():
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    result = subprocess.run(
        [sys.executable, "-OO", "-c", _OO_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "outputs (2, 5) (2, 3, 5)" in result.stdout, result.stdout


# Keras arguments the layer-normalized layers leave out, with the reason. None today:
# `use_cudnn` is accepted ("auto" or False; both run the RNN loop) and so is GRU's
# `reset_after` (True only), so that code written for the Keras layer runs unchanged.
OMITTED = {}


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (LayerNormSimpleRNN, keras.layers.SimpleRNN),
        (LayerNormLSTM, keras.layers.LSTM),
        (LayerNormGRU, keras.layers.GRU),
    ],
    ids=lambda cls: cls.__name__,
)
def test_layernorm_rnn_layers_name_every_keras_argument(ours, theirs):
    # Every named argument of the Keras layer, in Keras's order and with Keras's
    # default, then ours (the normalization's), then only `**kwargs`.
    def named(cls):
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [
            (p.name, p.default)
            for p in parameters
            if p.name != "self" and p.kind is not p.VAR_KEYWORD
        ]

    expected = [(n, d) for n, d in named(theirs) if n not in OMITTED.get(theirs, {})]
    assert expected, theirs  # Keras's signature was read.
    got = named(ours)
    assert got[: len(expected)] == expected
    assert all(name.startswith("norm_") for name, _ in got[len(expected) :])


WRITTEN_OUT = [
    "BayesianConv1D",
    "BayesianConv2D",
    "BayesianDense",
    "LayerNormGRU",
    "LayerNormGRUCell",
    "LayerNormLSTM",
    "LayerNormLSTMCell",
    "LayerNormSimpleRNN",
    "LayerNormSimpleRNNCell",
]


@pytest.mark.parametrize("name", WRITTEN_OUT)
def test_docstring_args_list_every_argument_in_order(name):
    cls = getattr(layers, name)
    args = cls.__doc__.split("\n    Args:\n", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^ {8}(?:\*\*)?(\w+):", args, flags=re.MULTILINE)
    parameters = list(inspect.signature(cls.__init__).parameters)[1:]
    assert documented == parameters
