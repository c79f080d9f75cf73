"""Costs of the small-data toolkit: Bayesian layers and 1-D augmentation.

- A BayesianDense train step (each estimator) against a Dense layer of the same
  shape: Flipout does two matmuls and draws noise, the target is <= 2.5x.
- A training epoch of an MNIST-1D MLP with RandomShift1D + RandomJitter inside the
  model against the same MLP without augmentation: target <= 1.2x.
- `tta_predict` with 16 augmented copies of the 1000 MNIST-1D test signals
  through that MLP's own augmentation layers, against a Python loop of 16
  `model(x, training=True)` calls (the same computation: the MLP has no dropout
  or batch normalization): target >= 5x faster (ratio <= 0.2).

Run: `python -m benchmarks --only bayesian [--quick]`.
"""

import keras
import numpy as np

from benchmarks.timing import jit_compile, ratio_row
from keras_smithing import tta_predict
from keras_smithing.datasets import load_mnist1d
from keras_smithing.layers import BayesianDense, RandomJitter, RandomShift1D


def _train_step(layer, x, y):
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile())
    return lambda: model.train_on_batch(x, y)


def _mlp(augment, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((40,))
    hidden = inputs
    if augment:
        hidden = RandomShift1D(4, seed=seed)(hidden)
        hidden = RandomJitter(0.1, seed=seed)(hidden)
    for _ in range(2):
        hidden = keras.layers.Dense(100, activation="relu")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(10)(hidden))
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile(),
    )
    return model


def run(quick: bool) -> list[dict]:
    repeats = 5 if quick else 20
    rng = np.random.default_rng(0)
    batch, width = (128, 256) if quick else (256, 512)
    x = rng.standard_normal((batch, width)).astype("float32")
    y = rng.standard_normal((batch, width)).astype("float32")
    dense = _train_step(keras.layers.Dense(width), x, y)
    rows = []
    for estimator, target in [
        ("flipout", "<= 2.5"),
        ("local_reparameterization", None),
        ("reparameterization", None),
    ]:
        layer = BayesianDense(width, estimator=estimator, kl_weight=1 / 1000, seed=0)
        rows.append(
            ratio_row(
                f"BayesianDense ({estimator}) train step {batch}x{width}->{width}",
                _train_step(layer, x, y),
                "Dense",
                dense,
                target=target,
                repeats=repeats,
            )
        )

    data = load_mnist1d()
    augmented, plain = _mlp(augment=True), _mlp(augment=False)

    def epoch(model):
        return lambda: model.fit(
            data.x_train, data.y_train, batch_size=32, epochs=1, verbose=0
        )

    rows.append(
        ratio_row(
            "MNIST-1D MLP epoch with RandomShift1D(4) + RandomJitter(0.1)",
            epoch(augmented),
            "same MLP, no augmentation",
            epoch(plain),
            target="<= 1.2",
            repeats=3 if quick else 10,
        )
    )
    rows.append(
        ratio_row(
            "tta_predict, 16 copies of 1000 MNIST-1D signals, augmented MLP",
            lambda: tta_predict(augmented, data.x_test, num_samples=16),
            "loop of 16 model(x, training=True)",
            lambda: [augmented(data.x_test, training=True) for _ in range(16)],
            target="<= 0.2",
            repeats=5 if quick else 30,
        )
    )
    return rows
