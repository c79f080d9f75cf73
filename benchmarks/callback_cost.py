"""The cost of a callback: one `fit` epoch of an MLP with it vs the same without it."""

import keras
import numpy as np

from benchmarks.timing import jit_compile, ratio_row
from keras_smithing.datasets import load_mnist1d


def mlp_classifier(num_features, num_classes, width, depth):
    """A compiled `depth`x`width` ReLU MLP (Adam, sparse cross-entropy)."""
    inputs = keras.Input((num_features,))
    h = inputs
    for _ in range(depth):
        h = keras.layers.Dense(
            width, activation="relu", kernel_initializer="he_normal"
        )(h)
    model = keras.Model(
        inputs, keras.layers.Dense(num_classes, activation="softmax")(h)
    )
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        jit_compile=jit_compile(),
    )
    return model


def _epoch(model, x, y, callbacks):
    def fit():
        model.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=callbacks)

    fit()  # Builds and traces outside the timing.
    return fit


def callback_cost_row(name, make_callbacks, quick, target):
    """Times an mnist1d training epoch with the callbacks and without, interleaved.

    Quick: 1600 examples, a 3x64 MLP, 3 repeats; full: every training example, a
    6x256 MLP, 10 repeats. Both models start from the same weights.

    Args:
        name: The callback's description, the start of the row's name.
        make_callbacks: Function of the training inputs and labels, returning the
            list of callbacks.
        quick: Whether to run the quick setting.
        target: The row's target ratio, as a phrase ("<= 1.1").

    Returns:
        A `ratio_row`.
    """
    data = load_mnist1d()
    x, y, num_classes = data.x_train, data.y_train, data.num_classes
    if quick:
        x, y = x[:1600], y[:1600]
    width, depth = (64, 3) if quick else (256, 6)
    keras.utils.set_random_seed(0)
    candidate = mlp_classifier(x.shape[1], num_classes, width, depth)
    keras.utils.set_random_seed(0)
    baseline = mlp_classifier(x.shape[1], num_classes, width, depth)
    batches = int(np.ceil(len(x) / 32))
    return ratio_row(
        f"{name} fit epoch ({batches} batches, {depth}x{width} MLP)",
        _epoch(candidate, x, y, make_callbacks(x, y)),
        "same fit without the callback",
        _epoch(baseline, x, y, []),
        target=target,
        repeats=3 if quick else 10,
    )
