"""A KerasTuner HyperModel whose hyperparameters are the pack's tricks."""

import math
import numbers

import keras
import keras_tuner

from keras_smithing.initializers import SVDOrthogonal, lsuv_init
from keras_smithing.layers import (
    DropConnectDense,
    Highway,
    RandomJitter,
    RandomShift1D,
    ResidualBlock,
)
from keras_smithing.optimizers import Lookahead
from keras_smithing.tuners.objectives import TrialTimer
from keras_smithing.utils.validation import check_int, check_one_of, invalid_argument

# name -> (kind, default, log-sampled). Ranges are (low, high), choices lists.
_SPACE = {
    "depth": ("int", (1, 4), False),
    "width": ("int", (32, 512), True),
    "activation": (
        "choice",
        ["relu", "leaky_relu", "prelu", "elu", "sigmoid", "tanh"],
        False,
    ),
    "initializer": ("choice", ["glorot", "he", "svd_orthogonal", "lsuv"], False),
    "normalization": ("choice", ["none", "batch", "layer"], False),
    "l2": ("float", (1e-6, 1e-2), True),
    "dropout": ("float", (0.0, 0.5), False),
    "dropconnect": ("float", (0.0, 0.5), False),
    "skip": ("choice", ["none", "residual", "highway"], False),
    "optimizer": ("choice", ["sgd", "nesterov", "rmsprop", "adam", "lookahead"], False),
    "learning_rate": ("float", (1e-4, 1e-1), True),
    "augmentation": ("choice", [False, True], False),
    "augmentation_strength": ("float", (0.05, 1.0), False),
    "batch_size": ("int", (16, 256), True),
}
# Opt-in hyperparameters: searched only when named in `search_space`.
_OPT_IN = ("batch_size",)
# name -> (lowest, highest, whether each bound is allowed) of every value.
_BOUNDS = {
    "depth": (1, None, True, True),
    "width": (1, None, True, True),
    "l2": (0.0, None, True, True),
    "dropout": (0.0, 1.0, True, False),
    "dropconnect": (0.0, 1.0, True, False),
    "learning_rate": (0.0, None, False, True),
    "augmentation_strength": (0.0, 1.0, True, True),
    "batch_size": (1, None, True, True),
}
_ACTIVATION_LAYERS = {
    "leaky_relu": lambda: keras.layers.LeakyReLU(negative_slope=0.01),
    "prelu": lambda: keras.layers.PReLU(),
}
_INITIALIZERS = {"glorot": "glorot_uniform", "he": "he_normal"}


def _known_choice(name, choice):
    """Whether `choice` is a value `build` can use for hyperparameter `name`."""
    kind, default, _ = _SPACE[name]
    if kind != "choice" or choice in default:
        return True
    getters = {
        "activation": keras.activations.get,
        "initializer": keras.initializers.get,
        "optimizer": keras.optimizers.get,
    }
    if name not in getters or not isinstance(choice, str):
        return False
    try:
        getters[name](choice)
    except (ValueError, TypeError):
        return False
    return True


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_entry(name, value):
    """Validates one `search_space` entry against its default's kind."""
    kind, _, _ = _SPACE[name]

    def bad(expected):
        return invalid_argument("search_space", {name: value}, expected)

    if isinstance(value, list):
        if not value or len(set(map(repr, value))) != len(value):
            raise bad(f"a non-empty list of distinct choices for '{name}'")
        if kind != "choice" and not all(map(_is_number, value)):
            raise bad(f"numbers for '{name}'")
        for choice in value:
            if not _known_choice(name, choice):
                raise bad(f"choices of '{name}' among {_SPACE[name][1]} or Keras names")
        _check_bounds(name, value if kind != "choice" else [])
        return value
    if isinstance(value, tuple):
        if kind == "choice" or len(value) != 2 or not all(map(_is_number, value)):
            raise bad(f"a list of choices or a single value for '{name}'")
        if not value[0] < value[1]:
            raise bad(f"a range (min, max) with min < max for '{name}'")
        if _SPACE[name][2] and value[0] <= 0:
            raise bad(f"a positive range for the log-sampled '{name}'")
        _check_bounds(name, value)
        return value
    if kind == "choice" and not _known_choice(name, value):
        raise bad(f"a choice of '{name}' among {_SPACE[name][1]} or a Keras name")
    if kind != "choice" and not _is_number(value):
        raise bad(f"a number for '{name}'")
    _check_bounds(name, value)
    return value


def _check_bounds(name, value):
    """Checks every number of a `search_space` entry against `_BOUNDS`."""
    if name not in _BOUNDS:
        return
    low, high, low_ok, high_ok = _BOUNDS[name]
    numbers_ = value if isinstance(value, (list, tuple)) else [value]
    integer = _SPACE[name][0] == "int"
    for number in numbers_:
        inside = (
            math.isfinite(number)
            and (number >= low if low_ok else number > low)
            and (high is None or (number <= high if high_ok else number < high))
            and (not integer or float(number).is_integer())
        )
        if not inside:
            interval = f"{'[' if low_ok else '('}{low}, " + (
                "inf)" if high is None else f"{high}{']' if high_ok else ')'}"
            )
            kind = "integers" if integer else "numbers"
            raise invalid_argument(
                "search_space",
                {name: value},
                f"{kind} in {interval} for '{name}'",
            )


class SmithingHyperModel(keras_tuner.HyperModel):
    """An MLP whose hyperparameters are the tricks of the trade.

    `build(hp)` assembles a multilayer perceptron from the pack's objects and
    Keras's own, choosing among (the default search space, `DEFAULT_SPACE`):

    | name | values |
    | --- | --- |
    | `depth`, `width` | 1-4 hidden blocks of 32-512 units (log) |
    | `activation` | relu, leaky_relu, prelu, elu, sigmoid, tanh |
    | `initializer` | glorot, he, svd_orthogonal (`SVDOrthogonal`), lsuv (`lsuv_init` on the first batch before training) |
    | `normalization` | none, batch, layer |
    | `l2`, `dropout`, `dropconnect` | L2 factor 1e-6-1e-2 (log), dropout rate 0-0.5, DropConnect rate 0-0.5 (`DropConnectDense`, plain blocks) |
    | `skip` | none, residual (`ResidualBlock`), highway (`Highway`) |
    | `optimizer` | sgd (momentum 0.9), nesterov, rmsprop, adam, lookahead (`Lookahead` around Adam) |
    | `learning_rate` | 1e-4-1e-1 (log) |
    | `batch_size` | 16-256 (log), only when named in `search_space` |
    | `augmentation`, `augmentation_strength` | signals only: on/off, and `s` in 0.05-1: `RandomShift1D(round(s * steps / 8))` then `RandomJitter(s / 4)` |

    PReLU is a layer, not a function, so it is offered with plain blocks only:
    when both are searched, `activation` is drawn for plain blocks and
    `block_activation` (the other choices) for residual and highway blocks.
    `dropconnect` applies to plain blocks. Inputs of shape `(steps, channels)`
    are signals; name `augmentation` in `search_space` to treat `(steps,)`
    inputs as signals too.

    `batch_size` (16-256, log) is searched only when named in `search_space`:
    `fit` then trains with the drawn batch size, in place of the one passed to
    `search`. `fit` passes its other arguments on to `model.fit`, runs
    `lsuv_init` when that initializer is drawn and adds a `TrialTimer`, so
    `CostAwareObjective` works with any tuner.

    Args:
        input_shape: Tuple of positive integers, the shape of one example.
        num_classes: Integer, classes (`task="classification"`, >= 2) or
            outputs (`task="regression"`, >= 1).
        task: `"classification"` (softmax, sparse cross-entropy, accuracy) or
            `"regression"` (linear, mean squared error, MAE).
        search_space: Optional dict restricting or changing the default space:
            a name maps to a list (choices), a `(min, max)` tuple (a range,
            sampled on a log scale where the default is) or a single value
            (fixed, not tuned). Other names keep their defaults. A choice may
            also be any Keras activation, initializer or optimizer name.
            Every value is checked at construction: `dropout` and
            `dropconnect` in [0, 1), `learning_rate` > 0, `l2` >= 0,
            `augmentation_strength` in [0, 1], and `depth`, `width` and
            `batch_size` integers >= 1.
        name: Optional name of the hypermodel.
        tunable: Whether the hyperparameters are tuned.

    Example:

    >>> import numpy as np
    >>> from keras_smithing.tuners import CoarseToFine, SmithingHyperModel
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(64, 8)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> hypermodel = SmithingHyperModel(
    ...     (8,), 2, search_space={"depth": 1, "width": (8, 32),
    ...                            "skip": ["none", "residual"]})
    >>> tuner = CoarseToFine(hypermodel, "val_accuracy", max_trials=2, seed=0,
    ...                      directory="smithing", overwrite=True)
    >>> tuner.search(x, y, validation_split=0.25, epochs=1, verbose=0)
    >>> best = tuner.get_best_hyperparameters()[0]
    >>> best["depth"], best["skip"] in ("none", "residual")
    (1, True)
    """

    DEFAULT_SPACE = {name: default for name, (_, default, _) in _SPACE.items()}

    def __init__(
        self,
        input_shape,
        num_classes,
        task="classification",
        search_space=None,
        name=None,
        tunable=True,
    ):
        super().__init__(name=name, tunable=tunable)
        if isinstance(input_shape, numbers.Integral):
            input_shape = (input_shape,)
        if not isinstance(input_shape, (tuple, list)) or not input_shape:
            raise invalid_argument(
                "input_shape", input_shape, "a tuple of positive ints"
            )
        self.input_shape = tuple(check_int("input_shape", d) for d in input_shape)
        self.task = check_one_of("task", task, ("classification", "regression"))
        minimum = 2 if task == "classification" else 1
        self.num_classes = check_int("num_classes", num_classes, minimum=minimum)
        if search_space is not None and not isinstance(search_space, dict):
            raise invalid_argument("search_space", search_space, "a dict or None")
        search_space = dict(search_space or {})
        for key, value in search_space.items():
            if key not in _SPACE:
                raise invalid_argument(
                    "search_space", {key: value}, f"names among {sorted(_SPACE)}"
                )
            _check_entry(key, value)
        self.is_signal = len(self.input_shape) == 2 or "augmentation" in search_space
        space = {}
        for key, (_, default, _) in _SPACE.items():
            if key in search_space:
                space[key] = search_space[key]
            elif key not in _OPT_IN:
                space[key] = default
        if not self.is_signal:
            space.pop("augmentation", None)
            space.pop("augmentation_strength", None)
        activations = space["activation"]
        activations = activations if isinstance(activations, list) else [activations]
        if set(activations) == {"prelu"} and set(self._skips(space)) - {"none"}:
            raise invalid_argument(
                "search_space",
                {"activation": space["activation"], "skip": space["skip"]},
                "another activation besides 'prelu' when skip connections are "
                "searched (residual and highway blocks take a function, PReLU is "
                "a layer)",
            )
        self.search_space = space

    def _value(self, hp, name):
        """Declares `name` in `hp` from the search space; returns its value."""
        value = self.search_space.get(name)
        kind, _, log = _SPACE[name]
        if value is None:
            return None
        if isinstance(value, list):
            if len(value) == 1:
                return hp.Fixed(name, value[0])
            return hp.Choice(name, value)
        if isinstance(value, tuple):
            sampling = "log" if log else "linear"
            if kind == "int":
                return hp.Int(name, int(value[0]), int(value[1]), sampling=sampling)
            return hp.Float(name, float(value[0]), float(value[1]), sampling=sampling)
        return hp.Fixed(name, value)

    def build(self, hp):
        depth = self._value(hp, "depth")
        width = self._value(hp, "width")
        skip = self._value(hp, "skip")
        activation = self._activation(hp, skip)
        initializer = self._value(hp, "initializer")
        normalization = self._value(hp, "normalization")
        l2 = self._value(hp, "l2")
        dropout = self._value(hp, "dropout") or 0.0
        with hp.conditional_scope("skip", ["none"]):
            dropconnect = self._value(hp, "dropconnect") if skip == "none" else None
        optimizer = self._value(hp, "optimizer")
        learning_rate = self._value(hp, "learning_rate")
        self._value(hp, "batch_size")  # Declared here, used by `fit`.

        inputs = keras.Input(self.input_shape)
        x = self._augment(hp, inputs)
        x = keras.layers.Flatten()(x) if len(self.input_shape) > 1 else x
        common = {
            "kernel_initializer": self._initializer(initializer),
            "kernel_regularizer": keras.regularizers.L2(l2) if l2 else None,
        }
        if skip != "none":
            x = keras.layers.Dense(width, **common)(x)
        for _ in range(depth):
            if skip == "residual":
                x = ResidualBlock(
                    width,
                    activation=activation,
                    normalization=None if normalization == "none" else normalization,
                    dropout=dropout,
                    **common,
                )(x)
                continue
            if skip == "highway":
                x = Highway(activation=activation, **common)(x)
            else:
                if dropconnect:
                    dense = DropConnectDense(width, rate=dropconnect, **common)
                else:
                    dense = keras.layers.Dense(width, **common)
                x = dense(x)
            x = _normalization(normalization, x)
            if skip == "none":
                x = _activation_layer(activation)(x)
            if dropout:
                x = keras.layers.Dropout(dropout)(x)
        if self.task == "classification":
            outputs = keras.layers.Dense(self.num_classes, "softmax")(x)
            loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
        else:
            outputs = keras.layers.Dense(self.num_classes)(x)
            loss, metrics = "mse", ["mae"]
        model = keras.Model(inputs, outputs)
        model.compile(self._optimizer(optimizer, learning_rate), loss, metrics=metrics)
        return model

    def _activation(self, hp, skip):
        choices = self.search_space["activation"]
        others = [s for s in self._skips(self.search_space) if s != "none"]
        if not isinstance(choices, list) or "prelu" not in choices or not others:
            return self._value(hp, "activation")
        # PReLU is a layer with weights; the skip blocks take a function, drawn
        # as `block_activation` (KerasTuner values are keyed by name alone).
        with hp.conditional_scope("skip", ["none"]):
            plain_block = hp.Choice("activation", choices)
        with hp.conditional_scope("skip", others):
            block = hp.Choice("block_activation", [c for c in choices if c != "prelu"])
        return plain_block if skip == "none" else block

    @staticmethod
    def _skips(space):
        skips = space["skip"]
        return skips if isinstance(skips, list) else [skips]

    def _augment(self, hp, x):
        if not self.is_signal or "augmentation" not in self.search_space:
            return x
        if not self._value(hp, "augmentation"):
            return x
        with hp.conditional_scope("augmentation", [True]):
            strength = self._value(hp, "augmentation_strength") or 0.0
        steps = self.input_shape[0]
        x = RandomShift1D(min(steps - 1, round(strength * steps / 8)))(x)
        return RandomJitter(strength / 4)(x)

    def _initializer(self, name):
        if name in ("svd_orthogonal", "lsuv"):
            return SVDOrthogonal()
        return _INITIALIZERS.get(name, name)

    def _optimizer(self, name, learning_rate):
        if name == "sgd":
            return keras.optimizers.SGD(learning_rate, momentum=0.9)
        if name == "nesterov":
            return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
        if name == "lookahead":
            return Lookahead(keras.optimizers.Adam(learning_rate))
        return keras.optimizers.get(
            {"class_name": name, "config": {"learning_rate": learning_rate}}
        )

    def fit(self, hp, model, *args, **kwargs):
        """Fits `model` with the drawn batch size; runs LSUV first when drawn.

        Args:
            hp: The trial's `HyperParameters`.
            model: The model `build(hp)` returned.
            *args, **kwargs: `model.fit` arguments (from `tuner.search`);
                `batch_size` is replaced by the drawn one when `batch_size` is
                in the search space.

        Returns:
            The `History` of `model.fit`.
        """
        if "batch_size" in self.search_space:
            kwargs["batch_size"] = hp.values["batch_size"]
        if hp.values.get("initializer") == "lsuv":
            x = args[0] if args else kwargs["x"]
            lsuv_init(model, x[:256])
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if not any(isinstance(c, TrialTimer) for c in callbacks):
            callbacks.insert(0, TrialTimer())
        return model.fit(*args, callbacks=callbacks, **kwargs)


def _normalization(name, x):
    if name == "batch":
        return keras.layers.BatchNormalization()(x)
    if name == "layer":
        return keras.layers.LayerNormalization()(x)
    return x


def _activation_layer(name):
    if name in _ACTIVATION_LAYERS:
        return _ACTIVATION_LAYERS[name]()
    return keras.layers.Activation(name)
