"""Cost of the GradientHealth callback: a training epoch with it vs without it.

Target from issue 6: at `every_n_batches=50` the callback adds at most 15 % to the
epoch time of an ordinary `model.fit`.
"""

import keras
import numpy as np

from benchmarks.timing import jit_compile, ratio_row
from keras_smithing.callbacks import GradientHealth
from keras_smithing.datasets import load_mnist1d


def _model(num_features, num_classes, width, depth):
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


def run(quick: bool) -> list[dict]:
    data = load_mnist1d()
    x, y, num_classes = data.x_train, data.y_train, data.num_classes
    if quick:
        x, y = x[:1600], y[:1600]
    width, depth = (64, 3) if quick else (256, 6)
    health = GradientHealth((x[:256], y[:256]), every_n_batches=50)
    keras.utils.set_random_seed(0)
    candidate = _model(x.shape[1], num_classes, width, depth)
    keras.utils.set_random_seed(0)
    baseline = _model(x.shape[1], num_classes, width, depth)
    batches = int(np.ceil(len(x) / 32))
    return [
        ratio_row(
            f"GradientHealth(every_n_batches=50) fit epoch ({batches} batches, "
            f"{depth}x{width} MLP)",
            _epoch(candidate, x, y, [health]),
            "same fit without the callback",
            _epoch(baseline, x, y, []),
            target="<= 1.15",
            repeats=3 if quick else 10,
        )
    ]
