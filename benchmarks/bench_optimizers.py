"""Step time of the wrapper optimizers against their inner optimizer (target <= 1.1x)."""

import keras
import numpy as np

from benchmarks.timing import jit_compile, ratio_row
from keras_smithing.optimizers import Adam, LayerwiseLearningRate, Lookahead


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
    baseline = _train_steps(lambda: Adam(1e-3), x, y, steps)
    candidates = {
        "Lookahead(Adam) train step": lambda: Lookahead(Adam(1e-3)),
        "LayerwiseLearningRate(Adam) train step": lambda: LayerwiseLearningRate(
            Adam(1e-3), {"^hidden_0": 0.1, "^hidden_1": 0.5}
        ),
    }
    return [
        ratio_row(
            name,
            _train_steps(make, x, y, steps),
            "Adam",
            baseline,
            target="<= 1.1",
            repeats=repeats,
        )
        for name, make in candidates.items()
    ]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
