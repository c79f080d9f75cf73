"""Costs of the regularization layers and of vectorised Monte-Carlo prediction.

- A DropConnectDense train step against a Dense + Dropout pair of the same shape
  (batch 256, 1024 -> 1024, Keras's default jit_compile, i.e. no XLA on CPU):
  target <= 1.3x. Measured at rate 0.5 (8 random bits per weight) and at rate 0.3
  (16 bits), so the cost of both mask resolutions is on record.
- DropConnectDense at inference against Dense: target <= 1.05x (it *is* Dense).
- `mc_predict` with 30 samples against a Python loop of 30 `model(x,
  training=True)` calls on a dropout MLP: target >= 3x faster (ratio <= 0.33).

Run: `python -m benchmarks --only regularization [--quick]`.
"""

import keras
import numpy as np

from benchmarks.timing import jit_compile, ratio_row
from keras_smithing import mc_predict
from keras_smithing.layers import DropConnectDense


def _model(layers, width):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((width,))
    outputs = inputs
    for layer in layers:
        outputs = layer(outputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile())
    return model


def _mlp(width=64, hidden=256, classes=10):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((width,))
    outputs = inputs
    for _ in range(2):
        outputs = keras.layers.Dense(hidden, activation="relu")(outputs)
        outputs = keras.layers.Dropout(0.5)(outputs)
    outputs = keras.layers.Dense(classes, activation="softmax")(outputs)
    return keras.Model(inputs, outputs)


def run(quick: bool) -> list[dict]:
    repeats = 5 if quick else 30
    batch, width = 256, 1024
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, width)).astype("float32")
    y = rng.standard_normal((batch, width)).astype("float32")
    pair = _model([keras.layers.Dense(width), keras.layers.Dropout(0.5)], width)
    rows = []
    for rate in (0.5, 0.3):
        model = _model([DropConnectDense(width, rate, seed=0)], width)
        rows.append(
            ratio_row(
                f"DropConnectDense train step, rate {rate}, {batch}x{width}->{width}",
                lambda model=model: model.train_on_batch(x, y),
                "Dense+Dropout",
                lambda: pair.train_on_batch(x, y),
                target="<= 1.3",
                repeats=repeats,
            )
        )
    dense = _model([keras.layers.Dense(width)], width)
    dropconnect = _model([DropConnectDense(width, 0.5, seed=0)], width)
    rows.append(
        ratio_row(
            f"DropConnectDense inference, {batch}x{width}->{width}",
            lambda: dropconnect.predict_on_batch(x),
            "Dense",
            lambda: dense.predict_on_batch(x),
            target="<= 1.05",
            repeats=repeats,
        )
    )
    mlp = _mlp()
    digits = rng.standard_normal((batch, 64)).astype("float32")
    rows.append(
        ratio_row(
            f"mc_predict, 30 samples of {batch} examples, MLP 64-256-256-10",
            lambda: mc_predict(mlp, digits, num_samples=30),
            "loop of 30 model(x, training=True)",
            lambda: [mlp(digits, training=True) for _ in range(30)],
            target="<= 0.33",
            repeats=repeats,
        )
    )
    return rows
