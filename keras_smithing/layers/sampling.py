"""Vectorised sampling of a model at inference: the engine of `mc_predict` and
`tta_predict`.

Both draw many random forward passes of one input batch. Rather than a Python loop
of predictions, the input is stacked `groups` times along the batch axis
(sample-major: row `s * b + i` is copy `s` of example `i`) and run through one
compiled forward pass in which only the chosen layers sample; `draw_samples`
splits the work into several passes when there are more than `batch_size` rows.
"""

import contextlib

import keras
import numpy as np

from keras_smithing.layers.stochastic import sampling_scope


class TrainingCall(keras.layers.Wrapper):
    """Calls a Keras layer with `training=True`, whatever it is given."""

    def call(self, *args, **kwargs):
        return self.layer(*args, **{**kwargs, "training": True})


def sampling_graph(model, samples, reached):
    """The graph of `model` around the same layers, the `samples` ones training.

    Args:
        model: A `keras.Model`.
        samples: Predicate on a layer: whether it is called with `training=True`.
        reached: A set; the id of every layer made to sample is added to it.

    Returns:
        A Functional or Sequential model sharing every layer (weights and state)
        of `model`, or `model` itself when it is subclassed (no graph to rebuild).
    """

    def clone(layer):
        if samples(layer):
            reached.add(id(layer))
            return TrainingCall(layer)
        if isinstance(layer, keras.Model):
            return sampling_graph(layer, samples, reached)
        return layer  # Shared, not copied: same weights, same state.

    try:
        return keras.models.clone_model(model, clone_function=clone)
    except ValueError:  # A subclassed model: nothing to rebuild.
        return model


def _apply(transform, x):
    if isinstance(transform, keras.layers.Layer):
        return transform(x, training=True)
    return transform(x)


class StackedSampler(keras.Model):
    """Stacks its inputs `groups` times and runs `network` on all copies at once.

    Args:
        network: The model to sample (typically from `sampling_graph`).
        groups: Positive int, the number of stacked copies (samples).
        scope: Whether to run `network` in a `sampling_scope(groups)`, so that
            this pack's stochastic layers sample.
        transforms: None, or one callable per copy applied to it before
            `network` (a layer is called with `training=True`).

    Call arguments:
        inputs: The inputs of `network` (one copy).

    Returns:
        Every output of `network`, as `(num_examples, groups, ...)`.
    """

    def __init__(self, network, groups, scope=True, transforms=None):
        super().__init__(name="stacked_sampler")
        self.network = network
        self.groups = groups
        self.scope = scope
        self.transforms = None
        if transforms is not None:
            # One call per distinct transform, on all of its copies at once;
            # `order` puts the copies back (`order[k]`: stacked position of copy k).
            self.transforms = list({id(t): t for t in transforms}.values())
            self.counts = [sum(u is t for u in transforms) for t in self.transforms]
            positions = [
                k for t in self.transforms for k, u in enumerate(transforms) if u is t
            ]
            self.order = np.argsort(positions).tolist()

    def _stack(self, inputs):
        def tile(count):
            return lambda x: keras.ops.tile(x, (count,) + (1,) * (len(x.shape) - 1))

        if self.transforms is None:
            return keras.tree.map_structure(tile(self.groups), inputs)
        blocks = [
            _apply(transform, keras.tree.map_structure(tile(count), inputs))
            for transform, count in zip(self.transforms, self.counts)
        ]
        return keras.tree.map_structure(
            lambda *parts: keras.ops.concatenate(parts, axis=0), *blocks
        )

    def call(self, inputs):
        stacked = self._stack(inputs)
        scope = sampling_scope(self.groups) if self.scope else contextlib.nullcontext()
        with scope:
            outputs = self.network(stacked, training=False)

        def unstack(y):
            y = keras.ops.reshape(y, (self.groups, -1) + tuple(y.shape[1:]))
            if self.transforms is not None:
                y = keras.ops.take(y, self.order, axis=0)
            return keras.ops.moveaxis(y, 0, 1)

        return keras.tree.map_structure(unstack, outputs)


def predict_chunks(model, x, num_examples, chunk):
    """`predict_on_batch` over chunks: the compiled step, without `predict`'s
    per-call set-up (data adapter, callbacks), which would dominate small inputs."""
    outputs = []
    for start in range(0, num_examples, chunk):
        part = keras.tree.map_structure(lambda a, s=start: a[s : s + chunk], x)
        outputs.append(model.predict_on_batch(part))
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts), *outputs)


def draw_samples(sampler, x, num_samples, max_rows):
    """Draws `num_samples` stacked samples of the model behind `sampler`.

    Args:
        sampler: Function `(groups, first) -> StackedSampler` returning the
            sampler of `groups` copies that draws samples `first, first + 1, ...`.
        x: Inputs (NumPy arrays) of `num_examples` examples.
        num_samples: Positive int.
        max_rows: The largest number of rows (example-copies) in one pass.

    Returns:
        Every output as a NumPy array `(num_samples, num_examples, ...)`.
    """
    num_examples = len(keras.tree.flatten(x)[0])
    if num_examples * num_samples <= max_rows:
        chunk, passes = num_examples, 1
    elif num_examples <= max_rows:
        chunk = num_examples
        passes = -(-num_samples // (max_rows // num_examples))
    else:
        chunk, passes = max_rows, num_samples
    groups = -(-num_samples // passes)
    draws = [
        predict_chunks(sampler(groups, p * groups), x, num_examples, chunk)
        for p in range(passes)
    ]

    def gather(*parts):
        return np.moveaxis(np.concatenate(parts, axis=1)[:, :num_samples], 1, 0)

    return keras.tree.map_structure(gather, *draws)
