"""Train-step cost of the architecture layers against the nearest Keras composition.

- Highway vs the same computation written with Dense layers and merge layers.
- LayerNormLSTM vs keras.layers.LSTM followed by LayerNormalization, and vs the
  generic RNN(LSTMCell) loop followed by LayerNormalization.
- WeightNormalization(Dense) and WeightNormalization(Conv2D) vs the bare layer.
"""

import keras
import numpy as np

from benchmarks.timing import jit_compile, ratio_row
from keras_smithing.layers import Highway, LayerNormLSTM, WeightNormalization


def _step(model, x, y):
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile())
    model.train_on_batch(x, y)  # Builds and traces outside the timing.
    return lambda: model.train_on_batch(x, y)


def _highway_baseline(inputs, width):
    """`x + T (H - x)` from Keras layers: the composition users would write."""
    transform = keras.layers.Dense(width, activation="relu")(inputs)
    gate = keras.layers.Dense(
        width,
        activation="sigmoid",
        bias_initializer=keras.initializers.Constant(-2.0),
    )(inputs)
    delta = keras.layers.Subtract()([transform, inputs])
    return keras.layers.Add()([inputs, keras.layers.Multiply()([gate, delta])])


def _mlp(block, width, depth):
    inputs = keras.Input((width,))
    h = inputs
    for _ in range(depth):
        h = block(h)
    return keras.Model(inputs, keras.layers.Dense(1)(h))


def run(quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    repeats = 5 if quick else 20
    rows = []

    width, depth, batch = (64, 4, 128) if quick else (256, 10, 256)
    x = rng.standard_normal((batch, width)).astype("float32")
    y = rng.standard_normal((batch, 1)).astype("float32")
    rows.append(
        ratio_row(
            f"Highway x{depth} train step ({width} wide)",
            _step(_mlp(lambda h: Highway()(h), width, depth), x, y),
            "Dense pair + gate merge layers",
            _step(_mlp(lambda h: _highway_baseline(h, width), width, depth), x, y),
            target="<= 1.2",
            repeats=repeats,
        )
    )

    steps, features, units, batch = (20, 8, 32, 32) if quick else (40, 16, 128, 128)
    seq = rng.standard_normal((batch, steps, features)).astype("float32")
    target = rng.standard_normal((batch, 1)).astype("float32")

    def rnn(layers):
        inputs = keras.Input((steps, features))
        h = inputs
        for layer in layers:
            h = layer(h)
        return keras.Model(inputs, keras.layers.Dense(1)(h))

    candidate = _step(rnn([LayerNormLSTM(units)]), seq, target)
    name = f"LayerNormLSTM train step ({steps} steps, {units} units)"
    # Keras's LSTM layer dispatches to a fused TF kernel when it can; the
    # generic RNN loop around LSTMCell is the same machinery our cell runs in.
    for baseline_name, lstm in (
        ("LSTM + LayerNormalization", keras.layers.LSTM(units)),
        (
            "RNN(LSTMCell) + LayerNormalization",
            keras.layers.RNN(keras.layers.LSTMCell(units)),
        ),
    ):
        rows.append(
            ratio_row(
                name,
                candidate,
                baseline_name,
                _step(rnn([lstm, keras.layers.LayerNormalization()]), seq, target),
                target="<= 1.2",
                repeats=repeats,
            )
        )

    width, batch = (128, 128) if quick else (512, 512)
    x = rng.standard_normal((batch, width)).astype("float32")
    y = rng.standard_normal((batch, 1)).astype("float32")
    rows.append(
        _weight_norm_row(
            f"WeightNormalization(Dense) x3 train step ({width} wide, batch {batch})",
            lambda: keras.layers.Dense(width, activation="relu"),
            x,
            y,
            repeats,
        )
    )
    side, filters, batch = (16, 16, 32) if quick else (32, 64, 64)
    x = rng.standard_normal((batch, side, side, filters)).astype("float32")
    rows.append(
        _weight_norm_row(
            f"WeightNormalization(Conv2D) x3 train step (3x3, {filters} filters, "
            f"{side}x{side}, batch {batch})",
            lambda: keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
            x,
            y[:batch],
            repeats,
        )
    )
    return rows


def _weight_norm_row(name, make_layer, x, y, repeats):
    def model(wrap):
        inputs = keras.Input(x.shape[1:])
        h = inputs
        for _ in range(3):
            h = (WeightNormalization(make_layer()) if wrap else make_layer())(h)
        h = keras.layers.Flatten()(h)
        return keras.Model(inputs, keras.layers.Dense(1)(h))

    return ratio_row(
        name,
        _step(model(True), x, y),
        "the bare layer",
        _step(model(False), x, y),
        target="<= 1.15",
        repeats=repeats,
    )
