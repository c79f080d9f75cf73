"""What a "stochastic layer" is in this pack, and how `mc_predict` makes it sample.

A layer is *stochastic* when its output is random given its inputs and weights:
dropout masks, DropConnect masks, additive noise, sampled weights (Bayesian layers).
`keras_smithing.mc_predict` draws many such outputs for one input at *inference*,
so every stochastic layer must sample while everything else (BatchNormalization's
moving statistics, data-augmentation layers) stays in inference mode. Calling the
model with `training=True` gets that wrong, so `mc_predict` never does where the
graph can be rebuilt; a subclassed model is called with `training=True` only when
nothing else in it changes in training, otherwise `mc_predict` raises.

Contract for layers of this pack (DropConnect, MCDropout, DropBlock2D,
StochasticDepth, Bayesian layers, ...):

1. Declare: set the class attribute `stochastic = True` (`is_stochastic` reads it).
2. Decide: in `call`, sample when `should_sample(training)` is true, never by
   testing `training` alone. It is true when `training` is true, or inside a
   `sampling_scope()`, which `mc_predict` opens around its forward pass while
   calling the model with `training=False`.
3. Draw: all randomness from the layer's own `keras.random.SeedGenerator`.
4. Share with care: a layer that shares one draw across the batch (a per-batch
   DropConnect mask, one weight sample per batch) must draw `sample_groups()`
   independent draws inside a sampling scope. `mc_predict` stacks that many
   copies of the data along the batch axis, sample-major (row `s * b + i` is
   sample `s` of example `i`); `split_groups` / `merge_groups` reshape between
   `(g * b, ...)` and `(g, b, ...)`. Per-example draws need nothing special.
5. Compose: a custom layer that holds Keras dropout layers calls them with
   `training=should_sample(training)` and declares `stochastic = True` itself
   (`mc_predict` then trusts it with its sublayers).

The scope is a Python flag read while the model is traced, so it works under
`tf.function`, `jax.jit` and XLA: the function `mc_predict` compiles enters the
scope *inside* its traced call. A function traced outside the scope (e.g. a model's
cached `predict_function`) does not see it. The flag is thread-local, so each
`tf.distribute` replica thread sees the scope its own call opened.

Keras's own stochastic layers (`KERAS_SAMPLING_LAYERS`: the Dropout family, and the
layers whose `training` argument only switches dropout: recurrent layers and
MultiHeadAttention) cannot read the flag. `mc_predict` rebuilds the graph of a
Functional or Sequential model around the *same* layer objects (shared weights,
nothing copied or mutated) and calls just those layers with `training=True`.
A Keras dropout layer hidden inside a custom layer or a subclassed model is out of
that graph's reach; `mc_predict` samples it through the training-mode call or
raises (see `keras_smithing.layers.training_mode`).
"""

import contextlib
import threading

import keras

KERAS_SAMPLING_LAYERS = (
    keras.layers.Dropout,  # Also SpatialDropout1D/2D/3D and MCDropout.
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.GaussianNoise,
    keras.layers.SimpleRNN,
    keras.layers.LSTM,
    keras.layers.GRU,
    keras.layers.MultiHeadAttention,
)

_STATE = threading.local()


@contextlib.contextmanager
def sampling_scope(groups=1):
    """Makes the pack's stochastic layers sample even when `training` is false.

    Args:
        groups: Positive int. How many independent samples are stacked along the
            batch axis (sample-major), for layers that share a draw across the
            batch.
    """
    previous = getattr(_STATE, "groups", None)
    _STATE.groups = int(groups)
    try:
        yield
    finally:
        _STATE.groups = previous


def in_sampling_scope():
    """Whether a `sampling_scope` is open in this thread."""
    return getattr(_STATE, "groups", None) is not None


def sample_groups():
    """Independent sample groups stacked along the batch axis (1 outside a scope)."""
    return getattr(_STATE, "groups", None) or 1


def should_sample(training):
    """Whether a stochastic layer must sample: `training` is true or a scope is open.

    Args:
        training: The layer's `training` call argument (a Python bool or None).
    """
    return bool(training) or in_sampling_scope()


def is_stochastic(layer):
    """Whether `layer` itself samples: declares `stochastic = True` or is Keras's.

    Keras layers count only when they would actually draw (a rate or stddev > 0).
    """
    if getattr(layer, "stochastic", False):
        return True
    if not isinstance(layer, KERAS_SAMPLING_LAYERS):
        return False
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return layer.dropout > 0
    if isinstance(layer, keras.layers.GaussianNoise):
        return layer.stddev > 0
    if isinstance(layer, keras.layers.RNN):
        return layer.cell.dropout > 0 or layer.cell.recurrent_dropout > 0
    return layer.rate > 0


def split_groups(x):
    """Reshapes a `(g * b, ...)` batch into `(g, b, ...)`, g = `sample_groups()`."""
    return keras.ops.reshape(x, (sample_groups(), -1) + tuple(x.shape[1:]))


def merge_groups(x):
    """Inverse of `split_groups`: `(g, b, ...)` to `(g * b, ...)`."""
    return keras.ops.reshape(x, (-1,) + tuple(x.shape[2:]))
