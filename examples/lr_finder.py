"""Learning-rate range test on digits, then training at the suggested learning rate.

The seed notes call the learning rate the most important hyperparameter. The LR
finder (Smith, 2017) sweeps it exponentially over a few hundred steps on a copy of
the model and suggests the rate where the loss falls fastest. The same MLP is then
trained with plain SGD at the suggestion, at a hundredth of it (too small: slow)
and near the divergence edge found by the sweep (too large: unstable).

Run: python examples/lr_finder.py [--quick]
"""

import keras
from _common import output_path, print_summary, run_main

import keras_smithing
from keras_smithing.datasets import load_digits


def build_model(learning_rate=0.01):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def main(quick: bool = False) -> dict:
    data = load_digits()
    epochs = 5 if quick else 30
    result = keras_smithing.find_learning_rate(
        build_model(),
        data.x_train,
        data.y_train,
        min_lr=1e-5,
        max_lr=10.0,
        num_steps=100 if quick else 300,
        seed=0,
    )
    result.plot(output_path("lr_finder.png"))
    suggested = result.suggested_lr
    edge = float(result.learning_rates[-1])  # Where the sweep diverged (or ended).
    print(f"suggested lr {suggested:.3g}; sweep stopped at {edge:.3g}")
    rates = {"too small": suggested / 100, "suggested": suggested, "too large": edge}
    summary = {"suggested_lr": suggested, "divergence_lr": edge, "epochs": epochs}
    for label, rate in rates.items():
        model = build_model(rate)
        history = model.fit(
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=epochs,
            batch_size=32,
            verbose=0,
        )
        accuracy = float(history.history["val_accuracy"][-1])
        loss = float(history.history["loss"][-1])
        print(
            f"{label:9s} lr={rate:.3g}: train loss {loss:.4g}, val accuracy {accuracy:.3f}"
        )
        summary[label] = {"lr": rate, "train_loss": loss, "val_accuracy": accuracy}
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__, quick_help="shorter sweep and runs")
