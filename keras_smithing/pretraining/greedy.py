"""Greedy layer-wise pretraining of an ordinary Keras MLP, as a function and a callback."""

import keras
import numpy as np

from keras_smithing.pretraining.autoencoder import DenoisingAutoencoder
from keras_smithing.pretraining.rbm import RBM
from keras_smithing.pretraining.training import fit_block, serialize_optimizer
from keras_smithing.utils.backend import predict_here
from keras_smithing.utils.validation import (
    check_array,
    check_built_model,
    check_float,
    check_int,
    check_one_of,
    check_rate,
    check_unit_interval,
    invalid_argument,
    invalid_data,
)

_METHODS = ("rbm", "dae")
_VISIBLE = ("auto", "bernoulli", "gaussian")


def _check_options(
    method, epochs_per_layer, batch_size, visible, k, corruption, rate, verbose
):
    """The one validation of pretraining's options, for `pretrain` and the callback.

    Returns:
        The options as keyword arguments of `pretrain`.
    """
    corruption = check_one_of("corruption", corruption, ("masking", "gaussian"))
    return {
        "method": check_one_of("method", method, _METHODS),
        "epochs_per_layer": check_int("epochs_per_layer", epochs_per_layer),
        "batch_size": check_int("batch_size", batch_size),
        "visible": check_one_of("visible", visible, _VISIBLE),
        "k": check_int("k", k),
        "corruption": corruption,
        "rate": (
            check_rate("rate", rate)
            if corruption == "masking"
            else check_float("rate", rate, 0.0)
        ),
        "verbose": check_int("verbose", verbose, minimum=0),
    }


def _check_unlabeled(x, features=None):
    """`x_unlabeled` as a float32 array `(n, features)`."""
    width = "features" if features is None else features
    x = check_array(
        "x_unlabeled",
        x,
        ranks=(2,),
        expected=f"a non-empty, finite array of shape (n, {width})",
        densify=True,
    )
    if features is not None and x.shape[-1] != features:
        raise invalid_data(
            "x_unlabeled",
            f"has {x.shape[-1]} features where the model takes {features}",
            f"pass an array of shape (n, {features})",
            f"x_unlabeled.shape={x.shape}",
        )
    return x.astype("float32")


def _select_layers(model, layers):
    """The Dense layers to pretrain, in model order."""
    if layers is None:
        dense = [
            layer for layer in model.layers if isinstance(layer, keras.layers.Dense)
        ]
        if len(dense) < 2:
            raise invalid_argument(
                "model",
                model,
                "a model with a Dense layer below its output layer to pretrain "
                f"(this one has {len(dense)} Dense layer(s)); or pass `layers`",
            )
        return dense[:-1]  # All but the output layer.
    if not layers:
        raise invalid_argument("layers", layers, "a non-empty list of Dense layers")
    by_name = {layer.name: layer for layer in model.layers}
    chosen = []
    for entry in layers:
        layer = by_name.get(entry) if isinstance(entry, str) else entry
        if layer is None or all(layer is not other for other in model.layers):
            raise invalid_argument(
                "layers", layers, f"layers (or names) of the model; {entry!r} is not"
            )
        if not isinstance(layer, keras.layers.Dense):
            raise invalid_argument(
                "layers",
                layers,
                f"Dense layers of the model; {layer.name!r} is a "
                f"{type(layer).__name__}, not a keras.layers.Dense",
            )
        chosen.append(layer)
    return sorted(chosen, key=lambda layer: model.layers.index(layer))


def _representation(model, layer, x, batch_size):
    """What `layer` receives when the model sees `x` (inference mode)."""
    if layer.input is model.inputs[0]:
        return x
    below = keras.Model(model.inputs, layer.input)
    return predict_here(below, x, batch_size)


def _in_unit_interval(x):
    return bool(np.min(x) >= 0 and np.max(x) <= 1)


def pretrain(
    model,
    x_unlabeled,
    method="rbm",
    layers=None,
    epochs_per_layer=5,
    batch_size=100,
    optimizer=None,
    visible="auto",
    k=1,
    persistent=False,
    corruption="masking",
    rate=0.25,
    seed=None,
    verbose=0,
):
    """Greedily pretrains the Dense layers of `model`, one at a time, in place.

    Each listed Dense layer, from the bottom up, is trained as an `RBM` (its units
    as hidden units) or a tied-weight `DenoisingAutoencoder` (its activation as
    the code's) on the representation that the layers below it produce for
    `x_unlabeled` (in inference mode, so Dropout and the like pass through), and
    its kernel and bias are then overwritten with the learned weights and hidden
    biases. Layers not listed keep their weights. Fine-tune afterwards with
    `model.fit` on the labelled data, gently (small learning rate, or
    `keras_smithing.optimizers.LayerwiseLearningRate` with small multipliers for
    the pretrained layers).

    RBM visible units: `visible` sets the first pretrained layer's ("auto":
    Bernoulli if its input lies in [0, 1], else Gaussian with unit variance, which
    expects standardized data); higher layers use "auto". A sigmoid MLP matches
    the RBM's hidden units; for ReLU layers prefer `method="dae"`.

    Args:
        model: A built Functional or Sequential `keras.Model`.
        x_unlabeled: Unlabelled inputs, shape `(n, features)` with the model's
            feature count.
        method: `"rbm"` (contrastive divergence) or `"dae"` (denoising
            autoencoder, binary cross-entropy for inputs in [0, 1], else MSE).
        layers: Dense layers (or their names) to pretrain; default: every Dense
            layer but the last (the output layer).
        epochs_per_layer: Positive integer, epochs of each layer's training.
        batch_size: Positive integer.
        optimizer: Optimizer (instance, name or config) copied afresh for each
            layer; default: SGD(0.05, momentum=0.9) for RBMs, Adam(1e-3) for DAEs.
        visible: `"auto"`, `"bernoulli"` or `"gaussian"` (RBM only).
        k: Positive integer, Gibbs steps of CD-k (RBM only).
        persistent: Use PCD (RBM only).
        corruption: `"masking"` or `"gaussian"` (DAE only).
        rate: Corruption rate or noise standard deviation (DAE only).
        seed: Integer seed; layer `i` uses `seed + i`.
        verbose: Verbosity of each layer's `fit`.

    Returns:
        A list with one dict per pretrained layer: `layer` (name), `method`,
        `input_features`, `units`, `visible` (RBMs), `history`, `final` (last
        epoch's metrics), `diverged` and `seconds`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.pretraining import pretrain
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((64, 16)) < 0.3).astype("float32")  # Binary, in [0, 1].
    >>> y = rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((16,)),
    ...         keras.layers.Dense(12, activation="sigmoid", name="hidden"),
    ...         keras.layers.Dense(3, activation="softmax", name="output"),
    ...     ]
    ... )
    >>> reports = pretrain(model, x, method="rbm", epochs_per_layer=2, seed=0)
    >>> [(r["layer"], r["visible"], r["units"]) for r in reports]
    [('hidden', 'bernoulli', 12)]
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> _ = model.fit(x, y, epochs=2, batch_size=16, verbose=0)  # Fine-tuning.
    """
    check_built_model("model", model)
    options = _check_options(
        method, epochs_per_layer, batch_size, visible, k, corruption, rate, verbose
    )
    method, visible = options["method"], options["visible"]
    epochs_per_layer, batch_size = options["epochs_per_layer"], options["batch_size"]
    features = model.inputs[0].shape[-1] if len(model.inputs) == 1 else None
    if features is None or len(model.inputs[0].shape) != 2:
        raise invalid_argument(
            "model", model, "a model with one input of shape (batch, features)"
        )
    x = _check_unlabeled(x_unlabeled, features)
    if method == "rbm" and visible == "bernoulli":
        check_unit_interval(
            "x_unlabeled",
            x,
            'scale the data to [0, 1] or use visible="gaussian" (or "auto")',
        )
    optimizer = serialize_optimizer(optimizer, method)
    reports = []
    chosen = _select_layers(model, layers)
    for index, layer in enumerate(chosen):
        h = _representation(model, layer, x, batch_size)
        if h.ndim != 2:
            raise invalid_data(
                "layers",
                f"includes {layer.name!r}, whose inputs are not 2-D",
                "choose Dense layers that receive (batch, features) inputs",
                f"inputs of {layer.name!r} of shape {h.shape}",
            )
        bernoulli = _in_unit_interval(h)
        layer_seed = None if seed is None else seed + index
        report = {
            "layer": layer.name,
            "method": method,
            "input_features": h.shape[-1],
            "units": layer.units,
        }
        if method == "rbm":
            kind = visible if index == 0 and visible != "auto" else None
            kind = kind or ("bernoulli" if bernoulli else "gaussian")
            what = f"{kind} RBM"
        else:
            what = "denoising autoencoder"
        if verbose:
            print(
                f"Pretraining layer {index + 1}/{len(chosen)} {layer.name!r}: "
                f"{what} {h.shape[-1]}\u2192{layer.units}"
            )
        if method == "rbm":
            block = RBM(
                layer.units, visible=kind, k=k, persistent=persistent, seed=layer_seed
            )
            report["visible"] = kind
            report.update(
                fit_block(block, h, optimizer, epochs_per_layer, batch_size, verbose)
            )
            kernel, bias = block.hidden.kernel, block.hidden.bias
        else:
            block = DenoisingAutoencoder(
                layer.units,
                corruption=corruption,
                rate=rate,
                activation=layer.activation,
                output_activation="sigmoid" if bernoulli else "linear",
                seed=layer_seed,
            )
            loss = "binary_crossentropy" if bernoulli else "mse"
            report.update(
                fit_block(
                    block, h, optimizer, epochs_per_layer, batch_size, verbose, loss
                )
            )
            kernel, bias = block.encoder.kernel, block.encoder.bias
        layer.kernel.assign(keras.ops.cast(kernel, layer.kernel.dtype))
        if layer.use_bias:
            layer.bias.assign(keras.ops.cast(bias, layer.bias.dtype))
        reports.append(report)
    return reports


@keras.saving.register_keras_serializable(package="keras_smithing")
class GreedyLayerwisePretraining(keras.callbacks.Callback):
    """Pretrains the Dense layers of the model being fitted before fine-tuning.

    Attach it to `model.fit` of an ordinary Keras MLP (Sequential or Functional
    stack of Dense layers, possibly with Dropout and the like in between): at the
    start of the first `fit`, it runs `pretrain` on `x_unlabeled`, which trains
    the listed Dense layers greedily, bottom up, as RBMs or denoising
    autoencoders and copies their weights and hidden biases in; `fit` then
    fine-tunes the whole network with its own optimizer and loss. Later `fit`
    calls do not pretrain again. The per-layer reports are in `reports`.

    Args:
        x_unlabeled: Unlabelled inputs, shape `(n, features)`.
        method: `"rbm"` or `"dae"`.
        epochs_per_layer: Positive integer.
        layers: Names of the Dense layers to pretrain; default: all but the last.
        batch_size: Positive integer, batch size of pretraining.
        optimizer: Optimizer (instance, name or config) copied for each layer.
        visible: `"auto"`, `"bernoulli"` or `"gaussian"` (RBM input units).
        k: Positive integer, CD-k steps.
        persistent: Use PCD.
        corruption: `"masking"` or `"gaussian"` (DAE).
        rate: Corruption rate (DAE).
        seed: Integer seed.
        verbose: Verbosity of the per-layer fits.

    Reference:
        Hinton, Osindero & Teh, "A fast learning algorithm for deep belief nets",
        Neural Computation 2006. Bengio et al., "Greedy layer-wise training of
        deep networks", NIPS 2006. Erhan et al., "Why does unsupervised
        pre-training help deep learning?", JMLR 2010.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.pretraining import GreedyLayerwisePretraining
    >>> rng = np.random.default_rng(0)
    >>> x_unlabeled = rng.random((256, 16)).astype("float32")
    >>> x_small, y_small = x_unlabeled[:32], rng.integers(0, 3, size=32)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((16,)),
    ...         keras.layers.Dense(12, activation="relu", name="hidden_1"),
    ...         keras.layers.Dense(8, activation="relu", name="hidden_2"),
    ...         keras.layers.Dense(3, activation="softmax", name="output"),
    ...     ]
    ... )
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> pretraining = GreedyLayerwisePretraining(
    ...     x_unlabeled, method="dae", epochs_per_layer=2, seed=0
    ... )
    >>> _ = model.fit(
    ...     x_small, y_small, epochs=3, callbacks=[pretraining], verbose=0
    ... )
    >>> [report["layer"] for report in pretraining.reports]  # Pretrained first.
    ['hidden_1', 'hidden_2']
    """

    def __init__(
        self,
        x_unlabeled,
        method="rbm",
        epochs_per_layer=5,
        layers=None,
        batch_size=100,
        optimizer=None,
        visible="auto",
        k=1,
        persistent=False,
        corruption="masking",
        rate=0.25,
        seed=None,
        verbose=0,
    ):
        super().__init__()
        self.x_unlabeled = _check_unlabeled(x_unlabeled)
        options = _check_options(
            method, epochs_per_layer, batch_size, visible, k, corruption, rate, verbose
        )
        if layers is not None and (
            not layers or not all(isinstance(n, str) for n in layers)
        ):
            raise invalid_argument(
                "layers", layers, "a non-empty list of layer names, or None"
            )
        self.layers = None if layers is None else list(layers)
        self.method = options["method"]
        self.epochs_per_layer = options["epochs_per_layer"]
        self.batch_size = options["batch_size"]
        self.optimizer = serialize_optimizer(optimizer, self.method)
        self.visible = options["visible"]
        self.k = options["k"]
        self.persistent = bool(persistent)
        self.corruption = options["corruption"]
        self.rate = options["rate"]
        self.seed = seed
        self.verbose = options["verbose"]
        self.reports = None

    def on_train_begin(self, logs=None):
        if self.reports is not None:
            return
        self.reports = pretrain(self.model, self.x_unlabeled, **self._options())

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _options(self):
        """`pretrain`'s keyword arguments."""
        return {
            "method": self.method,
            "epochs_per_layer": self.epochs_per_layer,
            "layers": self.layers,
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
            "visible": self.visible,
            "k": self.k,
            "persistent": self.persistent,
            "corruption": self.corruption,
            "rate": self.rate,
            "seed": self.seed,
            "verbose": self.verbose,
        }

    def get_config(self):
        return {"x_unlabeled": self.x_unlabeled.tolist(), **self._options()}
