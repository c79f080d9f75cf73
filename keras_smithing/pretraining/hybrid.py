"""Hybrid discriminative + generative training of a classification RBM."""

import keras
import numpy as np
from keras import ops

from keras_smithing.pretraining.rbm import check_visible_data, sample_bernoulli
from keras_smithing.pretraining.training import ClosedFormModel
from keras_smithing.utils.validation import (
    check_array,
    check_float,
    check_int,
    invalid_data,
)


@keras.saving.register_keras_serializable(package="keras_smithing")
class HybridRBMClassifier(ClosedFormModel):
    """Classification RBM trained on `-log p(y|x) + alpha * (-log p(x, y))`.

    An RBM over binary inputs `x` in [0, 1] and a one-hot label `y`, with energy
    `E(x, y, h) = -h.W'x - b.x - c.h - d.y - h.U'y`. Its class posterior is exact
    and cheap, `p(y|x) = softmax_y(d_y + sum_j softplus(c_j + U_yj + (x W)_j))`,
    which is what calling the model returns. One `fit` mixes the two objectives of
    Larochelle et al.: the exact gradient of the discriminative loss
    `-log p(y|x)` plus `alpha` times the CD-1 estimate of the gradient of the
    generative loss `-log p(x, y)` (the generative term regularizes, which pays
    off on small labelled sets), plus `weight_decay * W`. Any backend and any
    Keras optimizer work: `compile(optimizer=...)` without a loss, then
    `fit(x, y)` with integer labels.
    Metrics: `loss` (mean `-log p(y|x)`), `accuracy` and, in training,
    `reconstruction_error` of `x`.

    Args:
        units: Positive integer, number of hidden units.
        num_classes: Integer >= 2.
        alpha: Non-negative float, weight of the generative term (the paper
            selects it on validation data, around 0.001 to 0.1; 0 is the purely
            discriminative ClassRBM).
        weight_decay: Non-negative float, L2 weight-cost on `W` and `U`.
        seed: Integer seed of the weight initialization and Gibbs sampling.
        **kwargs: Base model arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: Data in [0, 1] of shape `(batch, features)`.

    Returns:
        Class probabilities `p(y|x)`, shape `(batch, num_classes)`.

    Reference:
        Larochelle, Mandel, Pascanu & Bengio, "Learning algorithms for the
        classification restricted Boltzmann machine", JMLR 2012 (Larochelle &
        Bengio, ICML 2008).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.pretraining import HybridRBMClassifier
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((64, 16)) < 0.3).astype("float32")  # Binary, in [0, 1].
    >>> y = rng.integers(0, 3, size=64)
    >>> model = HybridRBMClassifier(16, num_classes=3, alpha=0.01, seed=0)
    >>> model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    >>> history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'reconstruction_error']
    >>> model.predict(x, verbose=0).shape  # p(y | x).
    (64, 3)
    """

    def __init__(
        self, units, num_classes, alpha=0.01, weight_decay=0.0, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units)
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.alpha = check_float("alpha", alpha, 0.0, strict=False)
        self.weight_decay = check_float("weight_decay", weight_decay, 0.0, strict=False)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.hidden = keras.layers.Dense(
            self.units,
            activation="sigmoid",
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01, seed=seed),
            dtype=self.dtype_policy,
            name="hidden",
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.reconstruction_error_tracker = keras.metrics.Mean(
            name="reconstruction_error"
        )

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.visible_bias = self.add_weight(
            shape=(input_shape[-1],), initializer="zeros", name="visible_bias"
        )
        self.class_kernel = self.add_weight(
            shape=(self.num_classes, self.units),
            initializer=keras.initializers.RandomNormal(
                stddev=0.01, seed=None if self.seed is None else self.seed + 1
            ),
            name="class_kernel",
        )
        self.class_bias = self.add_weight(
            shape=(self.num_classes,), initializer="zeros", name="class_bias"
        )

    def _class_terms(self, x):
        """Per-class hidden pre-activations `(batch, classes, units)` and logits."""
        data_logits = ops.matmul(x, self.hidden.kernel) + self.hidden.bias
        per_class = data_logits[:, None, :] + self.class_kernel[None, :, :]
        logits = self.class_bias + ops.sum(ops.softplus(per_class), axis=-1)
        return data_logits, per_class, logits

    def call(self, inputs):
        return ops.softmax(self._class_terms(inputs)[2], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def compute_gradients(self, x, y):
        """Hybrid gradients for a batch and the metrics' inputs.

        Args:
            x: Inputs in [0, 1].
            y: Integer labels.

        Returns:
            `(grads, logits, reconstruction)`: a dict from variable path to the
            gradient of `-log p(y|x) - alpha log p(x, y)` (batch means), the class
            logits and the mean-field reconstruction of `x`.
        """
        batch = ops.cast(ops.shape(x)[0], x.dtype)
        labels = ops.one_hot(ops.reshape(ops.cast(y, "int32"), (-1,)), self.num_classes)
        labels = ops.cast(labels, x.dtype)
        data_logits, per_class, logits = self._class_terms(x)
        # Discriminative: exact gradient of -log p(y|x) (Larochelle et al., eq. 7).
        residual = labels - ops.softmax(logits, axis=-1)
        weighted = residual[:, :, None] * ops.sigmoid(per_class)
        hidden_signal = ops.sum(weighted, axis=1)
        kernel_grad = -ops.matmul(ops.transpose(x), hidden_signal) / batch
        hidden_bias_grad = -ops.mean(hidden_signal, axis=0)
        class_kernel_grad = -ops.sum(weighted, axis=0) / batch
        class_bias_grad = -ops.mean(residual, axis=0)
        visible_bias_grad = ops.zeros(self.visible_bias.shape)
        # Generative: CD-1 on the joint (x, y).
        h_data = ops.sigmoid(data_logits + ops.matmul(labels, self.class_kernel))
        h = sample_bernoulli(h_data, self.seed_generator)
        reconstruction = ops.sigmoid(
            ops.matmul(h, ops.transpose(self.hidden.kernel)) + self.visible_bias
        )
        x_model = sample_bernoulli(reconstruction, self.seed_generator)
        class_sample = keras.random.categorical(
            self.class_bias + ops.matmul(h, ops.transpose(self.class_kernel)),
            1,
            seed=self.seed_generator,
        )
        y_model = ops.cast(ops.one_hot(class_sample[:, 0], self.num_classes), x.dtype)
        h_model = ops.sigmoid(
            ops.matmul(x_model, self.hidden.kernel)
            + self.hidden.bias
            + ops.matmul(y_model, self.class_kernel)
        )
        alpha = self.alpha / batch
        both_v = ops.concatenate([x, x_model], axis=0)
        both_y = ops.concatenate([labels, y_model], axis=0)
        both_h = ops.concatenate([-h_data, h_model], axis=0)
        kernel_grad += alpha * ops.matmul(ops.transpose(both_v), both_h)
        class_kernel_grad += alpha * ops.matmul(ops.transpose(both_y), both_h)
        hidden_bias_grad += alpha * ops.sum(both_h, axis=0)
        visible_bias_grad += alpha * ops.sum(x_model - x, axis=0)
        class_bias_grad += alpha * ops.sum(y_model - labels, axis=0)
        if self.weight_decay:
            kernel_grad += self.weight_decay * self.hidden.kernel
            class_kernel_grad += self.weight_decay * self.class_kernel
        grads = {
            self.hidden.kernel.path: kernel_grad,
            self.hidden.bias.path: hidden_bias_grad,
            self.visible_bias.path: visible_bias_grad,
            self.class_kernel.path: class_kernel_grad,
            self.class_bias.path: class_bias_grad,
        }
        return grads, logits, reconstruction

    def _unpack(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not self.built:  # TensorFlow builds at the first trace.
            self.build(x.shape)
        return ops.cast(x, self.variable_dtype), y

    def _update_classification_metrics(self, y, logits):
        loss = ops.mean(
            keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        )
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(y, logits)
        return {
            "loss": self.loss_tracker.result(),
            "accuracy": self.accuracy_tracker.result(),
        }

    def _stateful_train_step(self, data):
        x, y = self._unpack(data)
        grads, logits, reconstruction = self.compute_gradients(x, y)
        variables = self.trainable_variables
        self.apply_gradients([grads[v.path] for v in variables], variables)
        logs = self._update_classification_metrics(y, logits)
        self.reconstruction_error_tracker.update_state(
            ops.mean(ops.square(x - reconstruction))
        )
        logs["reconstruction_error"] = self.reconstruction_error_tracker.result()
        return logs

    def _stateful_test_step(self, data):
        x, y = self._unpack(data)
        return self._update_classification_metrics(y, self._class_terms(x)[2])

    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.accuracy_tracker,
            self.reconstruction_error_tracker,
        ]

    def _check_inputs(self, x, name="x"):
        features = self.hidden.kernel.shape[0] if self.built else None
        return check_visible_data(x, name, "bernoulli", features)

    def _check_targets(self, y, num_examples):
        """Integer labels in [0, num_classes), one per example."""
        y = check_array("y", y)
        classes = np.unique(y)
        if (
            y.shape != (num_examples,)
            or not np.array_equal(classes, classes.astype(int))
            or classes.min() < 0
            or classes.max() >= self.num_classes
        ):
            raise invalid_data(
                "y",
                "does not hold one integer label in [0, num_classes) per example",
                f"pass {num_examples} integer labels in [0, {self.num_classes})",
                f"y.shape={y.shape}, values in [{classes.min():g}, {classes.max():g}]",
            )
        return y

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_classes": self.num_classes,
            "alpha": self.alpha,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
        }
