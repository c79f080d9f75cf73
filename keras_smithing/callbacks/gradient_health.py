"""Gradient-health diagnostics: "plot weight and gradient magnitudes" during fit."""

import warnings

import keras
import numpy as np

from keras_smithing.utils.backend import (
    gather_from_processes,
    gradient_function,
    is_first_process,
    moments_over_processes,
    to_numpy,
)
from keras_smithing.utils.summary import SummaryWriter
from keras_smithing.utils.validation import (
    check_built_model,
    check_float,
    check_int,
    check_model_inputs,
    invalid_argument,
    invalid_data,
    model_input_structure,
)

_PER_LAYER = (
    "weight_norm",
    "gradient_norm",
    "update_ratio",
    "dead_fraction",
    "activation_mean",
    "activation_std",
)


def _snapshot(model):
    """`{id(variable): value}` of the trainable variables.

    Reading `callback.model` first matters on JAX: it syncs the trainer's state
    into the variables.
    """
    return {id(v): to_numpy(v) for v in model.trainable_variables}


def _norm(arrays):
    return float(np.sqrt(sum(np.sum(np.square(a, dtype="float64")) for a in arrays)))


@keras.saving.register_keras_serializable(package="keras_smithing")
class GradientHealth(keras.callbacks.Callback):
    """Watches per-layer weight, gradient and activation statistics during `fit`.

    Keras callbacks never see the training gradients, so every `every_n_batches`
    batches (and once before training) this callback takes the gradient of the
    model's compiled loss on a fixed `probe_data` batch, in inference mode. The
    model needs no change. For every layer with trainable
    weights it records the weight norm, the gradient norm and the update/weight
    ratio `||W_after - W_before|| / ||W_before||` of the last optimizer step
    (healthy values are around 1e-3); for every layer output it records the
    activation mean and std and the fraction of dead units (units whose output is
    exactly 0 on every probe example, i.e. dead ReLUs).

    It flags three pathologies, each with one warning per `fit`:

    - vanishing gradients: the gradient norm of the first weighted layer is less
      than `vanishing_threshold` times that of the last one (a deep sigmoid MLP:
      each layer multiplies the gradient by at most 0.25);
    - exploding gradients: that ratio exceeds `exploding_threshold`, or a
      gradient or weight is not finite;
    - dead units: some layer has more than `dead_threshold` of its units dead.

    At the end of each epoch the flags of the latest probe are added to the
    epoch logs (so `History` records them) as `gradient_health_vanishing`,
    `gradient_health_exploding`, `gradient_health_dead_units` (0.0 or 1.0) and
    `gradient_health_ratio` (first/last gradient-norm ratio). The full record is
    in `history`; `plot()` draws it.

    Args:
        probe_data: Tuple `(x, y)`: a fixed batch matching the model's inputs and
            targets. A few hundred examples are enough.
        every_n_batches: Integer >= 1, probe every this many training batches.
        log_dir: Optional directory for TensorBoard scalars (per-layer norms,
            ratios, dead fractions) and histograms (weights and gradients), on
            every backend (written with the `tensorboard` package alone).
        plot_path: Optional PNG path where `plot()` is saved at the end of `fit`.
        vanishing_threshold: Positive float, see above.
        exploding_threshold: Positive float, see above.
        dead_threshold: Float in [0, 1), see above.

    Attributes:
        history: Dict of plain lists, one entry per probe: `"step"` (training
            batches seen), `"loss"`, `"gradient_ratio"`, and for each of
            `weight_norm`, `gradient_norm`, `update_ratio` (NaN for the probe
            before training), `dead_fraction`, `activation_mean`, `activation_std`
            a dict `{layer_name: [values]}`.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import GradientHealth
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(64, 8)), rng.integers(0, 3, size=64)
    >>> model = keras.Sequential(
    ...     [
    ...         keras.Input((8,)),
    ...         keras.layers.Dense(16, activation="relu", name="hidden"),
    ...         keras.layers.Dense(3, activation="softmax", name="output"),
    ...     ]
    ... )
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> health = GradientHealth(
    ...     (x[:32], y[:32]), every_n_batches=4, plot_path="gradients.png"
    ... )
    >>> history = model.fit(
    ...     x, y, epochs=2, batch_size=16, callbacks=[health], verbose=0
    ... )
    >>> health.history["step"]  # Before training, then every 4 batches.
    [0, 4, 8]
    >>> sorted(health.history["gradient_norm"])  # One list per layer.
    ['hidden', 'output']
    >>> history.history["gradient_health_vanishing"]  # 1.0 when flagged.
    [0.0, 0.0]
    """

    def __init__(
        self,
        probe_data,
        every_n_batches=50,
        log_dir=None,
        plot_path=None,
        vanishing_threshold=1e-3,
        exploding_threshold=1e3,
        dead_threshold=0.5,
    ):
        super().__init__()
        if not isinstance(probe_data, (tuple, list)) or len(probe_data) != 2:
            raise invalid_data(
                "probe_data",
                "is not a tuple (x, y)",
                "pass probe_data=(x, y), a batch of inputs and targets",
                f"type(probe_data)={type(probe_data).__name__}",
            )
        self.probe_data = tuple(
            keras.tree.map_structure(np.asarray, part) for part in probe_data
        )
        self.every_n_batches = check_int("every_n_batches", every_n_batches)
        self.log_dir = log_dir
        self.plot_path = plot_path
        self.vanishing_threshold = check_float(
            "vanishing_threshold", vanishing_threshold, minimum=0.0
        )
        self.exploding_threshold = check_float(
            "exploding_threshold", exploding_threshold, minimum=0.0
        )
        self.dead_threshold = check_float(
            "dead_threshold", dead_threshold, 0.0, 1.0, strict=(False, True)
        )
        self.history = {}
        self._prepared_for = None

    def on_train_begin(self, logs=None):
        model = check_built_model("model", self.model)
        if self._prepared_for != (model, model.loss):
            self._prepare(model)
        # Under multi-process training only process 0 writes files.
        self._writer = (
            SummaryWriter(self.log_dir) if self.log_dir and is_first_process() else None
        )
        self._step = 0
        self._before = None
        self._warned = set()
        self.history = {"step": [], "loss": [], "gradient_ratio": []}
        self.history.update({key: {} for key in _PER_LAYER})
        self._probe()

    def _prepare(self, model):
        """Checks the probe batch and builds the probe functions (once per compile)."""
        x = check_model_inputs("probe_data", self.probe_data[0], model)
        inputs = model_input_structure(model)
        self._x = keras.tree.pack_sequence_as(inputs, x)
        self._weighted = [layer for layer in model.layers if layer.trainable_weights]
        if not self._weighted:
            raise invalid_argument("model", model, "a model with trainable weights")
        self._watched = [
            layer
            for layer in model.layers
            if not isinstance(layer, keras.layers.InputLayer)
            and isinstance(layer.output, keras.KerasTensor)
        ]
        self._activations = keras.Model(
            inputs, [layer.output for layer in self._watched]
        )
        # The backend's autodiff: `GradientTape` on TensorFlow, `jax.grad` on JAX.
        self._gradients = gradient_function(model)
        self._prepared_for = (model, model.loss)

    # The probe after batch k runs when batch k + 1 begins, or at the end of the
    # epoch: a callback with a batch-end hook makes Keras run every batch end
    # synchronously (on JAX and PyTorch it otherwise dispatches them to a thread),
    # which would wait for every step's results.
    def on_train_batch_begin(self, batch, logs=None):
        self._probe_if_due()
        if (self._step + 1) % self.every_n_batches == 0:
            self._before = _snapshot(self.model)
        self._step += 1

    def on_epoch_end(self, epoch, logs=None):
        self._probe_if_due()
        if logs is not None:
            logs.update(self._flags)

    def _probe_if_due(self):
        if self._step % self.every_n_batches == 0 and self._step != self._probed:
            self._probe()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
        if self.plot_path and is_first_process():
            self.plot(self.plot_path)

    def _record(self, key, layer, value):
        self.history[key].setdefault(layer.name, []).append(value)

    def _probe(self):
        model = self.model
        loss, gradients = self._gradients(self._x, self.probe_data[1])
        # Under multi-process training each process probes its own `probe_data`:
        # loss and gradients are averaged over the processes (collectives, in the
        # same order everywhere), so that every process logs and warns alike.
        loss = float(gather_from_processes(np.float64(loss)).mean())
        gradients = [gather_from_processes(g).mean(0) for g in gradients]
        by_variable = dict(zip(map(id, model.trainable_variables), gradients))
        weights = _snapshot(model)
        for layer in self._weighted:
            ids = [id(v) for v in layer.trainable_variables]
            after = [weights[i] for i in ids]
            update_ratio = np.nan
            if self._before is not None:
                before = [self._before[i] for i in ids]
                change = [a - b for a, b in zip(after, before)]
                update_ratio = _norm(change) / max(_norm(before), 1e-30)
            self._record("weight_norm", layer, _norm(after))
            self._record("gradient_norm", layer, _norm([by_variable[i] for i in ids]))
            self._record("update_ratio", layer, update_ratio)
        outputs = self._activations.predict_on_batch(self._x)
        if len(self._watched) == 1:
            outputs = [outputs]
        for layer, output in zip(self._watched, outputs):
            output = np.asarray(output, "float64")
            dead = np.all(output == 0, axis=tuple(range(output.ndim - 1)))
            dead = gather_from_processes(dead).all(0)  # Dead on every process.
            count, mean, m2 = moments_over_processes(
                output.size, output.mean(), np.square(output - output.mean()).sum()
            )
            self._record("dead_fraction", layer, float(np.mean(dead)))
            self._record("activation_mean", layer, float(mean))
            self._record("activation_std", layer, float(np.sqrt(m2 / count)))
        self._before = None
        self._probed = self._step
        self.history["step"].append(self._step)
        self.history["loss"].append(loss)
        self._check(gradients, weights.values())
        if self._writer is not None:
            self._write(model, gradients)

    def _check(self, gradients, weights):
        norms = self.history["gradient_norm"]
        first, last = self._weighted[0].name, self._weighted[-1].name
        ratio = norms[first][-1] / max(norms[last][-1], 1e-30)
        self.history["gradient_ratio"].append(ratio)
        finite = all(np.all(np.isfinite(g)) for g in gradients) and all(
            np.all(np.isfinite(w)) for w in weights
        )
        dead_name, dead = max(
            (
                (name, values[-1])
                for name, values in self.history["dead_fraction"].items()
            ),
            key=lambda item: item[1],
        )
        flags = {
            "vanishing": ratio < self.vanishing_threshold,
            "exploding": ratio > self.exploding_threshold or not finite,
            "dead_units": dead > self.dead_threshold,
        }
        self._flags = {f"gradient_health_{k}": float(v) for k, v in flags.items()}
        self._flags["gradient_health_ratio"] = ratio
        step = self._step
        messages = {
            "vanishing": (
                f"vanishing gradients at step {step}: the gradient norm of the first "
                f"layer '{first}' is {ratio:.2g} times that of the last layer "
                f"'{last}' (vanishing_threshold={self.vanishing_threshold:g}). "
                "Saturating activations (sigmoid, tanh) in a deep stack shrink the "
                "gradient at every layer: try ReLU with He initialization, batch "
                "normalization or residual connections."
            ),
            "exploding": (
                f"exploding gradients at step {step}: the gradient norm of the first "
                f"layer '{first}' is {ratio:.2g} times that of the last layer "
                f"'{last}' (exploding_threshold={self.exploding_threshold:g})"
                f"{'' if finite else ', and some gradients or weights are not finite'}"
                ". Try gradient clipping (clipnorm), a lower learning rate, or an "
                "orthogonal or spectral-norm constraint."
            ),
            "dead_units": (
                f"dead units at step {step}: {dead:.0%} of the units of layer "
                f"'{dead_name}' output 0 on every probe example "
                f"(dead_threshold={self.dead_threshold:g}). Dead ReLUs get no "
                "gradient: check for large negative biases or a too large learning "
                "rate, or use leaky ReLU."
            ),
        }
        for kind, flagged in flags.items():
            if flagged and kind not in self._warned:
                self._warned.add(kind)
                warnings.warn(f"GradientHealth: {messages[kind]}", stacklevel=2)

    def _write(self, model, gradients):
        scalars = {"gradient_health/gradient_ratio": self.history["gradient_ratio"][-1]}
        for key in _PER_LAYER:
            for name, values in self.history[key].items():
                if np.isfinite(values[-1]):
                    scalars[f"gradient_health/{key}/{name}"] = values[-1]
        histograms = {}
        for variable, gradient in zip(model.trainable_variables, gradients):
            histograms[f"weights/{variable.path}"] = to_numpy(variable)
            histograms[f"gradients/{variable.path}"] = gradient
        self._writer.write(self._step, scalars, histograms)

    def plot(self, path=None):
        """Draws per-layer gradient and weight norms against the training step.

        Args:
            path: Optional file path; the figure is saved there when given.

        Returns:
            The matplotlib `Figure`.
        """
        from matplotlib.figure import Figure

        figure = Figure(figsize=(11, 4), layout="constrained")
        steps = self.history.get("step", [])
        for axes, key in zip(figure.subplots(1, 2), ("gradient_norm", "weight_norm")):
            for name, values in self.history.get(key, {}).items():
                axes.plot(steps, values, marker=".", label=name)
            axes.set_yscale("log")
            axes.set_xlabel("training step")
            axes.set_ylabel(key.replace("_", " "))
            axes.set_title(f"Per-layer {key.replace('_', ' ')}")
        figure.axes[0].legend(fontsize="small", ncol=2)
        if path:
            figure.savefig(path, dpi=100)
        return figure

    def get_config(self):
        return {
            "probe_data": keras.saving.serialize_keras_object(list(self.probe_data)),
            "every_n_batches": self.every_n_batches,
            "log_dir": self.log_dir,
            "plot_path": self.plot_path,
            "vanishing_threshold": self.vanishing_threshold,
            "exploding_threshold": self.exploding_threshold,
            "dead_threshold": self.dead_threshold,
        }

    @classmethod
    def from_config(cls, config):
        probe_data = keras.saving.deserialize_keras_object(config["probe_data"])
        return cls(**{**config, "probe_data": probe_data})
