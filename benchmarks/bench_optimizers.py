"""Step time of our optimizers against the Keras optimizer they wrap or extend.

Wrappers (Lookahead, layer-wise LR, target <= 1.1x; adaptive gradient clipping,
which computes two norms per unit, <= 1.15x) against their inner Adam or SGD, and
RectifiedAdam against Adam.
"""

import keras
import numpy as np

from benchmarks.timing import jit_compile, ratio_row
from keras_smithing.optimizers import (
    SGD,
    Adam,
    AdaptiveGradientClipping,
    LayerwiseLearningRate,
    Lookahead,
    RectifiedAdam,
)


def _train_steps(make_optimizer, x, y, steps):
    """A compiled MLP and a function taking `steps` train steps with it."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((x.shape[1],))
    hidden = inputs
    for i in range(2):
        hidden = keras.layers.Dense(256, activation="relu", name=f"hidden_{i}")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(10, name="head")(hidden))
    model.compile(
        optimizer=make_optimizer(),
        loss="sparse_categorical_crossentropy",
        jit_compile=jit_compile(),
    )
    batches = [(x[i::steps], y[i::steps]) for i in range(steps)]

    def run():
        for batch_x, batch_y in batches:
            model.train_on_batch(batch_x, batch_y)

    run()  # Traces the train function.
    return run


def run(quick: bool) -> list[dict]:
    steps, repeats = (5, 3) if quick else (20, 10)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128 * steps, 64)).astype("float32")
    y = rng.integers(0, 10, 128 * steps)
    baselines = {
        "Adam": _train_steps(lambda: Adam(1e-3), x, y, steps),
        "SGD": _train_steps(lambda: SGD(0.01, momentum=0.9), x, y, steps),
    }
    # name: (optimizer factory, baseline, target)
    candidates = {
        "Lookahead(Adam) train step": (lambda: Lookahead(Adam(1e-3)), "Adam", 1.1),
        "LayerwiseLearningRate(Adam) train step": (
            lambda: LayerwiseLearningRate(
                Adam(1e-3), {"^hidden_0": 0.1, "^hidden_1": 0.5}
            ),
            "Adam",
            1.1,
        ),
        "AdaptiveGradientClipping(Adam) train step": (
            lambda: AdaptiveGradientClipping(Adam(1e-3)),
            "Adam",
            1.15,
        ),
        "AdaptiveGradientClipping(SGD) train step": (
            lambda: AdaptiveGradientClipping(SGD(0.01, momentum=0.9)),
            "SGD",
            1.15,
        ),
        "RectifiedAdam train step": (lambda: RectifiedAdam(1e-3), "Adam", 1.1),
    }
    return [
        ratio_row(
            name,
            _train_steps(make, x, y, steps),
            baseline,
            baselines[baseline],
            target=f"<= {target}",
            repeats=repeats,
        )
        for name, (make, baseline, target) in candidates.items()
    ]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
