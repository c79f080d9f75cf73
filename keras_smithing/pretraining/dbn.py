"""Deep belief networks: a greedily trained stack of RBMs that becomes an MLP."""

import keras
import numpy as np
from keras import ops

from keras_smithing.pretraining.rbm import RBM
from keras_smithing.pretraining.training import (
    CheckedModel,
    fit_block,
    serialize_optimizer,
)
from keras_smithing.utils.validation import check_int, invalid_argument


@keras.saving.register_keras_serializable(package="keras_smithing")
class DeepBeliefNetwork(CheckedModel):
    """A stack of RBMs trained greedily, bottom up, then unrolled into an MLP.

    `rbms[0]` models the data, `rbms[i]` models the hidden probabilities of
    `rbms[i - 1]` (Bernoulli visible units above the first). `pretrain(x)` trains
    them one after the other; calling the network propagates hidden probabilities
    up the stack; `to_mlp(num_classes)` returns an ordinary `keras.Sequential` of
    sigmoid Dense layers holding the RBMs' weights and hidden biases, plus a fresh
    softmax output layer, ready for (gentle) fine-tuning; `sample(n, steps)` draws
    from the generative model (Gibbs sampling in the top RBM, then a top-down pass).

    Args:
        layer_sizes: List of positive integers, hidden units of each RBM, bottom
            up.
        visible: Visible units of the first RBM, `"bernoulli"` or `"gaussian"`.
        k: Positive integer, CD-k steps of every RBM.
        persistent: Whether the RBMs use PCD.
        weight_decay: L2 weight-cost of every RBM.
        seed: Integer seed; RBM `i` uses `seed + i`.
        **kwargs: Base model arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: Data of shape `(batch, features)`.

    Returns:
        The top RBM's hidden probabilities, `(batch, layer_sizes[-1])`.

    Reference:
        Hinton, Osindero & Teh, "A fast learning algorithm for deep belief nets",
        Neural Computation 2006.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.pretraining import DeepBeliefNetwork
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((64, 16)) < 0.3).astype("float32")  # Binary, in [0, 1].
    >>> y = rng.integers(0, 3, size=64)
    >>> dbn = DeepBeliefNetwork([12, 8], seed=0)
    >>> reports = dbn.pretrain(x, epochs_per_layer=2, batch_size=16)
    >>> len(reports)  # One per RBM.
    2
    >>> mlp = dbn.to_mlp(num_classes=3)
    >>> [layer.name for layer in mlp.layers]
    ['dbn_dense_0', 'dbn_dense_1', 'output']
    >>> mlp.compile(
    ...     optimizer=keras.optimizers.SGD(0.05),
    ...     loss="sparse_categorical_crossentropy",
    ... )
    >>> _ = mlp.fit(x, y, epochs=2, batch_size=16, verbose=0)
    >>> dbn.sample(4, steps=10).shape  # Fantasies from the generative model.
    (4, 16)
    """

    def __init__(
        self,
        layer_sizes,
        visible="bernoulli",
        k=1,
        persistent=False,
        weight_decay=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
            raise invalid_argument(
                "layer_sizes", layer_sizes, "a non-empty list of positive integers"
            )
        if not layer_sizes:
            raise invalid_argument(
                "layer_sizes", layer_sizes, "a non-empty list of positive integers"
            )
        self.layer_sizes = [check_int("layer_sizes", size) for size in layer_sizes]
        self.visible = visible
        self.k = k
        self.persistent = persistent
        self.weight_decay = weight_decay
        self.seed = seed
        self.rbms = [
            RBM(
                size,
                visible=visible if index == 0 else "bernoulli",
                k=k,
                persistent=persistent,
                weight_decay=weight_decay,
                seed=None if seed is None else seed + index,
                dtype=self.dtype_policy,
                name=f"rbm_{index}",
            )
            for index, size in enumerate(self.layer_sizes)
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for rbm in self.rbms:
            rbm.build(shape)
            shape = (*shape[:-1], rbm.units)

    def call(self, inputs):
        h = inputs
        for rbm in self.rbms:
            h = rbm(h)
        return h

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.layer_sizes[-1])

    def _check_inputs(self, x, name="x"):
        return self.rbms[0]._check_inputs(x, name)

    def pretrain(
        self, x, epochs_per_layer=5, batch_size=100, optimizer=None, verbose=0
    ):
        """Trains the RBMs greedily, each on the hidden probabilities below it.

        Args:
            x: Training data, `(n, features)` (in [0, 1] for Bernoulli visibles).
            epochs_per_layer: Positive integer, epochs of each RBM.
            batch_size: Positive integer.
            optimizer: Optimizer (instance, name or config) copied afresh for
                each RBM; default SGD(0.05, momentum=0.9).
            verbose: Verbosity of each RBM's `fit`.

        Returns:
            A list with one report dict per RBM (`history`, `final`, `diverged`,
            `seconds`).
        """
        epochs_per_layer = check_int("epochs_per_layer", epochs_per_layer)
        batch_size = check_int("batch_size", batch_size)
        h = np.asarray(self._check_inputs(x), dtype="float32")
        if not self.built:
            self.build(h.shape)
        optimizer = serialize_optimizer(optimizer, "rbm")
        reports = []
        for rbm in self.rbms:
            reports.append(
                fit_block(rbm, h, optimizer, epochs_per_layer, batch_size, verbose)
            )
            h = rbm.transform(h, batch_size=max(batch_size, 256))
        return reports

    def to_mlp(self, num_classes, output_activation="softmax", name=None):
        """An ordinary Keras MLP initialized with the pretrained weights.

        Args:
            num_classes: Positive integer, units of the new output layer.
            output_activation: Activation of the output layer.
            name: Optional name of the Sequential model.

        Returns:
            An uncompiled `keras.Sequential`: sigmoid Dense layers `dbn_dense_i`
            with the RBMs' kernels and hidden biases, then `Dense(num_classes)`.
        """
        num_classes = check_int("num_classes", num_classes)
        if not self.built:
            raise ValueError(
                "Call `pretrain(x)` (or build the DeepBeliefNetwork) before "
                "`to_mlp()`: the input size is not known yet."
            )
        features = self.rbms[0].hidden.kernel.shape[0]
        layers = [keras.Input((features,))]
        for index, rbm in enumerate(self.rbms):
            layers.append(
                keras.layers.Dense(
                    rbm.units, activation="sigmoid", name=f"dbn_dense_{index}"
                )
            )
        layers.append(
            keras.layers.Dense(num_classes, activation=output_activation, name="output")
        )
        mlp = keras.Sequential(layers, name=name)
        for index, rbm in enumerate(self.rbms):
            mlp.get_layer(f"dbn_dense_{index}").set_weights(rbm.hidden.get_weights())
        return mlp

    def sample(self, num_samples, steps=100, mean=True):
        """Draws visible samples from the network as a generative model.

        Runs `steps` Gibbs steps in the top RBM from random binary states, then a
        top-down pass of conditional means.

        Args:
            num_samples: Positive integer.
            steps: Positive integer, Gibbs steps in the top RBM.
            mean: Return the visible conditional mean instead of a sample.

        Returns:
            A NumPy array of shape `(num_samples, features)`.
        """
        num_samples = check_int("num_samples", num_samples)
        steps = check_int("steps", steps)
        top = self.rbms[-1]
        start = keras.random.uniform(
            (num_samples, top.hidden.kernel.shape[0]), seed=top.seed_generator
        )
        v = top.gibbs(ops.convert_to_numpy(ops.round(start)), steps=steps, mean=True)
        for index in range(len(self.rbms) - 2, -1, -1):
            v = self.rbms[index].visible_from_hidden(v, mean=mean or index > 0)
        return v

    def get_config(self):
        return {
            **super().get_config(),
            "layer_sizes": self.layer_sizes,
            "visible": self.visible,
            "k": self.k,
            "persistent": self.persistent,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
        }
