"""The seed notes' "default recipe", end to end, on scikit-learn's digits.

ReLU units, He initialization, batch normalization, L2 + dropout, Adam at 3e-4 and
early stopping on a 60/20/20 split; then save as `.keras`, reload with only
`import keras_smithing`, and plot the learning curves.

Run: python examples/quickstart.py [--quick]
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
from _common import (
    finish_figure,
    output_path,
    print_summary,
    run_main,
)

import keras_smithing
from keras_smithing.datasets import load_digits


def build_model(num_features, num_classes, width=256, dropout=0.3, l2=1e-4):
    """A two-hidden-layer MLP with the default recipe's tricks."""
    regularizer = keras.regularizers.L2(l2)
    layers = [keras.Input((num_features,))]
    for _ in range(2):
        layers += [
            keras.layers.Dense(
                width,
                kernel_initializer="he_normal",
                kernel_regularizer=regularizer,
                use_bias=False,  # Batch norm's beta is the bias.
            ),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dropout(dropout),
        ]
    layers.append(keras.layers.Dense(num_classes, activation="softmax"))
    return keras.Sequential(layers)


def plot_learning_curves(history, path=None):
    """Training and validation loss/accuracy per epoch."""
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, style in (("loss", "-"), ("val_loss", "--")):
        loss_axis.plot(history[key], style, label=key)
    for key, style in (("accuracy", "-"), ("val_accuracy", "--")):
        accuracy_axis.plot(history[key], style, label=key)
    loss_axis.set(xlabel="epoch", ylabel="loss", yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.legend()
    figure.suptitle("Default recipe on digits (He + BN + L2 + dropout + Adam 3e-4)")
    return finish_figure(figure, path)


def main(quick=False):
    keras_smithing.set_seed(0)
    data = load_digits()
    model = build_model(data.x_train.shape[1], data.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-4),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=15 if quick else 200,
        batch_size=32,
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(
                patience=15, restore_best_weights=True, monitor="val_loss"
            )
        ],
    )
    _, test_accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)

    model_path = output_path("quickstart.keras")
    model.save(model_path)
    reloaded = keras.saving.load_model(model_path)
    same = np.allclose(
        model.predict(data.x_test, verbose=0),
        reloaded.predict(data.x_test, verbose=0),
        atol=1e-6,
    )
    plot_learning_curves(history.history, output_path("quickstart.png"))

    result = {
        "test_accuracy": round(float(test_accuracy), 4),
        "epochs_trained": len(history.history["loss"]),
        "reloaded_predictions_identical": bool(same),
        "figure": "examples/output/quickstart.png",
    }
    print(f"test accuracy {test_accuracy:.4f} after {result['epochs_trained']} epochs")
    print_summary(result)
    return result


if __name__ == "__main__":
    run_main(main, __doc__)
