"""Gradual weight pruning: Zhu & Gupta's cubic schedule, by magnitude or OBD saliency."""

import warnings

import keras
import numpy as np

from keras_smithing.optimizers.wrapper import innermost_optimizer
from keras_smithing.utils.backend import gradient_function, to_numpy, variable_scope
from keras_smithing.utils.compat import (
    add_optimizer_variables,
    remove_optimizer_variables,
)
from keras_smithing.utils.validation import (
    check_int,
    check_model_inputs,
    check_one_of,
    check_rate,
    invalid_argument,
    model_input_structure,
)

# Layers whose `kernel` is pruned by default (biases, normalization and embedding
# weights are left alone).
PRUNABLE_LAYERS = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)


def polynomial_sparsity(step, initial_sparsity, target_sparsity, begin_step, end_step):
    """Zhu & Gupta's sparsity at training step `step`.

    `s_t = s_f + (s_i - s_f) * (1 - (t - t_0) / (n Δt))**3`, with `n Δt = end_step -
    begin_step`: `s_i` before `begin_step`, `s_f` from `end_step` on.

    Args:
        step: Number of training steps completed (`t`).
        initial_sparsity: `s_i`.
        target_sparsity: `s_f`.
        begin_step: `t_0`.
        end_step: `t_0 + n Δt`.

    Returns:
        The sparsity as a float.
    """
    progress = min(max((step - begin_step) / max(end_step - begin_step, 1), 0.0), 1.0)
    return (
        target_sparsity + (initial_sparsity - target_sparsity) * (1.0 - progress) ** 3
    )


def prune_lowest(scores, mask, sparsity):
    """The keep-mask that drops the `round(sparsity * size)` lowest-scored weights.

    Weights already dropped by `mask` stay dropped (they rank below every other
    weight), so the mask only shrinks while the sparsity grows. The selection is a
    linear-time partition; which of several equal scores at the threshold goes is
    unspecified.

    Args:
        scores: NumPy array, the importance of each weight.
        mask: Boolean NumPy array of the same shape, `True` for kept weights.
        sparsity: Float in [0, 1), the fraction of weights to drop.

    Returns:
        A boolean NumPy array of the shape of `scores`.
    """
    count = int(np.floor(sparsity * scores.size + 0.5))
    keep = np.ones(scores.size, dtype=bool)
    if count:
        ranked = np.where(mask, scores.astype("float64"), -np.inf).ravel()
        keep[np.argpartition(ranked, count - 1)[:count]] = False
    return keep.reshape(scores.shape)


class _KeepMask:
    """A variable constraint: the variable's own constraint, then `* mask`."""

    def __init__(self, mask, constraint):
        self.mask = mask
        self.constraint = constraint

    def __call__(self, w):
        if self.constraint is not None:
            w = self.constraint(w)
        return keras.ops.multiply(w, keras.ops.cast(self.mask, w.dtype))


def _all_layers(layer):
    for inner in getattr(layer, "layers", []):
        yield inner
        yield from _all_layers(inner)


@keras.saving.register_keras_serializable(package="keras_smithing")
class WeightPruning(keras.callbacks.Callback):
    """Gradual pruning: drives a growing fraction of the model's kernels to zero.

    From the beginning of epoch `start_epoch` to the end of epoch `end_epoch - 1`
    (0-based, as Keras counts epochs), every `frequency` training steps, each pruned
    kernel's least important weights are set to zero so that its sparsity follows
    Zhu & Gupta's cubic schedule

        s_t = s_f + (s_i - s_f) * (1 - (t - t_0) / (n Δt))**3,

    with `t` the number of training steps completed, `t_0 = start_epoch *
    steps_per_epoch`, `t_0 + n Δt = end_epoch * steps_per_epoch`, `Δt = frequency`,
    `s_i = initial_sparsity`, `s_f = target_sparsity`. The last update falls on step
    `t_0 + n Δt` whether or not `frequency` divides the span, so every pruned kernel
    ends with exactly `round(target_sparsity * kernel.size)` zeros. Each kernel is
    pruned on its own (layer-wise sparsity), and a weight once pruned stays pruned.
    Train some epochs after `end_epoch` to let the remaining weights recover. The
    number of steps per epoch must be known to `fit` (arrays, sized datasets, or
    `steps_per_epoch`).

    Criteria (the importance of weight `w_i`; the lowest go first):

    - `"magnitude"`: `|w_i|`.
    - `"saliency"`: Optimal Brain Damage's `½ h_ii w_i²`, the loss increase
      predicted by a diagonal quadratic model. `h_ii` is estimated by the
      empirical Fisher diagonal: `probe_data` is split into consecutive
      micro-batches of `probe_batch_size` examples, the compiled loss (in
      inference mode) is differentiated on each at the current (partly pruned)
      weights, and `h_ii` is the mean over the micro-batches of the squared
      gradient. With `probe_batch_size=1` that is the mean squared per-example
      gradient, the empirical Fisher; larger micro-batches cost fewer gradient
      evaluations but square batch means. The gradients come from the active
      backend's autodiff (`keras_smithing.utils.backend.gradient_function`). A
      fixed probe set is needed because Keras callbacks never see the training
      batches or their gradients.

    By default the trainable `kernel` of every Dense, EinsumDense and convolution
    layer (nested models included) is pruned; biases, normalization and embedding
    weights never are. The keep-masks live in the callback, one per kernel.

    Keeping pruned weights at zero: the optimizer still computes an update for a
    pruned weight (its gradient is not zero, and momentum or Adam moments carry
    it), so the masks are applied inside the compiled train step, as variable
    constraints: for the length of `fit` each pruned kernel's `constraint` becomes
    `mask * constraint(kernel)` (its own constraint, if any, first), which Keras
    applies right after every optimizer update, `jit_compile=True` and
    `steps_per_execution` included. Every forward pass therefore sees exact
    zeros and pruned weights never regrow; their optimizer slots keep stale
    values, which have no effect. The masks are variables added to the
    optimizer that owns the slots (inside `LossScaleOptimizer` or the pack's
    wrappers), so JAX's stateless train step carries them; the callback writes
    them only when it re-ranks, every `frequency` steps. When `fit` ends the
    kernels get their own constraints back and the mask variables leave the
    optimizer: the model holds plain Keras layers whose kernels contain zeros,
    saves and reloads with no custom object (optimizer state included), and
    further training without this callback lets the zeros regrow.

    The epoch logs (and so `History`) get `pruning_sparsity`, the fraction of
    pruned-kernel weights the masks hold at zero (counted on the masks, which
    costs no read of the weights); `sparsity()` counts the weights that are
    exactly zero. `history` records each update.

    Args:
        target_sparsity: Float in [0, 1), `s_f`: the fraction of each kernel's
            weights that is zero at the end.
        criterion: `"magnitude"` or `"saliency"`, see above.
        start_epoch: Integer >= 0, the epoch at whose beginning pruning starts.
        end_epoch: Integer > `start_epoch`, the epoch at whose beginning the
            target is reached (at most the `epochs` of `fit`); None for the end of
            `fit`.
        frequency: Integer >= 1, `Δt`: training steps between mask updates.
        initial_sparsity: Float in [0, `target_sparsity`], `s_i`.
        layers: None (every Dense and convolution kernel), or a list of layers or
            layer names whose `kernel` to prune.
        probe_data: Tuple `(x, y)` for `criterion="saliency"` (required there):
            a fixed batch matching the model's inputs and targets, e.g. a few
            hundred training examples.
        probe_batch_size: Integer >= 1, examples per micro-batch of the Fisher
            estimate (see above).
        verbose: 0 or 1; 1 prints the sparsity reached after every epoch.

    Attributes:
        history: Dict of lists, one entry per mask update: `"step"` (training
            steps completed) and `"sparsity"` (the scheduled `s_t`).
        masks: Dict `{variable path: boolean keep-mask}` (NumPy arrays).

    Example:
        >>> pruning = WeightPruning(0.9, start_epoch=2, end_epoch=12, frequency=20)
        >>> model.fit(x_train, y_train, epochs=20, callbacks=[pruning])

    Reference:
        Zhu & Gupta, "To prune, or not to prune: exploring the efficacy of pruning
        for model compression", arXiv:1710.01878, 2017. LeCun, Denker & Solla,
        "Optimal Brain Damage", NIPS 1990.
    """

    def __init__(
        self,
        target_sparsity,
        criterion="magnitude",
        start_epoch=0,
        end_epoch=None,
        frequency=100,
        initial_sparsity=0.0,
        layers=None,
        probe_data=None,
        probe_batch_size=1,
        verbose=0,
    ):
        super().__init__()
        self.target_sparsity = check_rate("target_sparsity", target_sparsity)
        self.criterion = check_one_of("criterion", criterion, ("magnitude", "saliency"))
        self.start_epoch = check_int("start_epoch", start_epoch, minimum=0)
        if end_epoch is not None:
            check_int("end_epoch", end_epoch, minimum=0)
            if end_epoch <= self.start_epoch:
                raise invalid_argument(
                    "end_epoch",
                    end_epoch,
                    f"None or an integer > start_epoch={self.start_epoch}",
                )
        self.end_epoch = end_epoch
        self.frequency = check_int("frequency", frequency, minimum=1)
        self.initial_sparsity = check_rate("initial_sparsity", initial_sparsity)
        if self.initial_sparsity > self.target_sparsity:
            raise invalid_argument(
                "initial_sparsity",
                initial_sparsity,
                f"a float in [0, target_sparsity={self.target_sparsity}]",
            )
        self.layers = self._check_layers(layers)
        if probe_data is not None and (
            not isinstance(probe_data, (tuple, list)) or len(probe_data) != 2
        ):
            raise invalid_argument(
                "probe_data", type(probe_data).__name__, "None or a tuple (x, y)"
            )
        if self.criterion == "saliency" and probe_data is None:
            raise invalid_argument(
                "probe_data", None, 'a tuple (x, y) when criterion="saliency"'
            )
        if self.criterion == "magnitude" and probe_data is not None:
            warnings.warn(
                'WeightPruning: `probe_data` is used only by criterion="saliency"; '
                "it is ignored.",
                stacklevel=2,
            )
        self.probe_data = (
            None
            if probe_data is None
            else tuple(keras.tree.map_structure(np.asarray, p) for p in probe_data)
        )
        self.probe_batch_size = check_int("probe_batch_size", probe_batch_size)
        self.verbose = check_int("verbose", verbose, minimum=0, maximum=1)
        self.history = {"step": [], "sparsity": []}
        self.masks = {}
        self._mask_variables = []
        self._traced = None

    @staticmethod
    def _check_layers(layers):
        if layers is None:
            return None
        if isinstance(layers, (str, keras.layers.Layer)):
            layers = [layers]
        if not isinstance(layers, (list, tuple)) or not layers:
            raise invalid_argument(
                "layers", layers, "None or a non-empty list of layers or layer names"
            )
        for layer in layers:
            if not isinstance(layer, (str, keras.layers.Layer)):
                raise invalid_argument(
                    "layers", layers, "None or a list of layers or layer names"
                )
        return list(layers)

    def _select_kernels(self, model):
        """The kernel variables to prune, checked against the model."""
        candidates = [model, *_all_layers(model)]
        if self.layers is None:
            chosen = [
                layer
                for layer in candidates
                if isinstance(layer, PRUNABLE_LAYERS) and layer.trainable
            ]
            if not chosen:
                raise invalid_argument(
                    "layers",
                    None,
                    "the layers to prune: the model has no trainable Dense or "
                    "convolution kernel",
                )
        else:
            by_name = {layer.name: layer for layer in candidates}
            chosen = []
            for wanted in self.layers:
                layer = by_name.get(wanted) if isinstance(wanted, str) else wanted
                if not any(layer is c for c in candidates):
                    raise invalid_argument(
                        "layers", wanted, "a layer (or layer name) of the model"
                    )
                kernel = getattr(layer, "kernel", None)
                if not isinstance(kernel, keras.Variable):
                    raise invalid_argument(
                        "layers", layer.name, "layers that have a `kernel` variable"
                    )
                chosen.append(layer)
        kernels = [layer.kernel for layer in chosen]
        if self.criterion == "saliency":
            trainable = {id(v) for v in model.trainable_variables}
            frozen = [k.path for k in kernels if id(k) not in trainable]
            if frozen:
                raise invalid_argument(
                    "layers",
                    frozen,
                    'layers with trainable kernels for criterion="saliency"',
                )
        return kernels

    def on_train_begin(self, logs=None):
        if self._mask_variables:
            # Keras skips `on_train_end` when `fit` is interrupted: undo that fit's
            # masking before anything else.
            self._detach_masks()
        model = self.model
        steps, epochs = self.params.get("steps"), self.params.get("epochs")
        if not steps:
            raise invalid_argument(
                "steps_per_epoch",
                steps,
                "a known number of steps per epoch for WeightPruning's schedule "
                "(pass `steps_per_epoch` to `fit`)",
            )
        end_epoch = epochs if self.end_epoch is None else self.end_epoch
        if self.start_epoch >= epochs or end_epoch > epochs:
            name, value = (
                ("start_epoch", self.start_epoch)
                if self.start_epoch >= epochs
                else ("end_epoch", self.end_epoch)
            )
            raise invalid_argument(
                name, value, f"an epoch index within the {epochs} epochs of this fit"
            )
        self._steps_per_epoch = steps
        self._begin = self.start_epoch * steps
        self._end = end_epoch * steps
        self._next_update = self._begin
        self._kernels = self._select_kernels(model)
        self.masks = {k.path: np.ones(k.shape, dtype=bool) for k in self._kernels}
        self.history = {"step": [], "sparsity": []}
        if self.criterion == "saliency":
            x = check_model_inputs("probe_data", self.probe_data[0], model)
            self._probe_x = x
            index = {id(v): i for i, v in enumerate(model.trainable_variables)}
            self._kernel_index = [index[id(k)] for k in self._kernels]
            self._gradients = gradient_function(model)
        self._attach_masks(model)  # Last: nothing after it may refuse the fit.

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = epoch * self._steps_per_epoch
        self._step_if_due(self._epoch_start)

    def on_train_batch_begin(self, batch, logs=None):
        # Before the step rather than after the previous one: a callback with
        # batch-end hooks makes Keras fetch every batch's logs, which waits for
        # the step (JAX dispatches steps asynchronously).
        self._step_if_due(self._epoch_start + batch)

    def on_train_end(self, logs=None):
        self._detach_masks()

    def _attach_masks(self, model):
        """Makes each kernel's constraint apply its mask in the train step.

        The train function traced with the masks is kept: a later `fit` of the
        same compiled model with this callback reuses it, mask variables and all,
        instead of tracing again.
        """
        optimizer = innermost_optimizer(model.optimizer)
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        cached = self._traced
        if (
            cached is not None
            and cached["model"] is model
            and cached["optimizer"] is optimizer
            and cached["plain"] is model.train_function
            and len(cached["kernels"]) == len(self._kernels)
            and all(a is b for a, b in zip(cached["kernels"], self._kernels))
        ):
            add_optimizer_variables(optimizer, cached["masks"])
            for variable in cached["masks"]:
                variable.assign(keras.ops.ones(variable.shape, variable.dtype))
        else:
            with variable_scope(model):
                masks = [
                    optimizer.add_variable(
                        k.shape, initializer="ones", dtype=k.dtype, name="pruning_mask"
                    )
                    for k in self._kernels
                ]
            cached = self._traced = {
                "model": model,
                "optimizer": optimizer,
                "plain": model.train_function,
                "kernels": self._kernels,
                "masks": masks,
                "function": None,
            }
        self._mask_variables = cached["masks"]
        self._own_constraints = [k.constraint for k in self._kernels]
        for kernel, mask in zip(self._kernels, self._mask_variables):
            kernel.constraint = _KeepMask(mask, kernel.constraint)
        if cached["function"] is None:
            model.make_train_function(force=True)  # Traced with the constraints.
        else:
            model.train_function = cached["function"]

    def _detach_masks(self):
        """Restores the kernels' constraints, optimizer and train function."""
        for kernel, constraint in zip(self._kernels, self._own_constraints):
            kernel.constraint = constraint
        cached = self._traced
        model = cached["model"]
        remove_optimizer_variables(cached["optimizer"], self._mask_variables)
        self._mask_variables = []
        cached["function"] = model.train_function
        model.train_function = cached["plain"]  # Traced without the masks.

    def _step_if_due(self, step):
        """Updates the masks when a scheduled update is due at `step`."""
        if self._next_update is None or step < self._next_update:
            return
        sparsity = polynomial_sparsity(
            step, self.initial_sparsity, self.target_sparsity, self._begin, self._end
        )
        self._update_masks(sparsity)
        self.history["step"].append(step)
        self.history["sparsity"].append(sparsity)
        if step >= self._end:
            self._next_update = None
        else:
            passed = (step - self._begin) // self.frequency + 1
            self._next_update = min(self._begin + passed * self.frequency, self._end)

    def _update_masks(self, sparsity):
        self._synced_model()
        weights = [to_numpy(k) for k in self._kernels]
        if self.criterion == "saliency":
            curvatures = self._fisher_diagonal()
            scores = [0.5 * h * np.square(w) for h, w in zip(curvatures, weights)]
        else:
            scores = [np.abs(w) for w in weights]
        for kernel, score in zip(self._kernels, scores):
            self.masks[kernel.path] = prune_lowest(
                score, self.masks[kernel.path], sparsity
            )
        for kernel, weight, variable in zip(
            self._kernels, weights, self._mask_variables
        ):
            mask = self.masks[kernel.path]
            variable.assign(mask.astype(weight.dtype))
            kernel.assign(np.where(mask, weight, 0).astype(weight.dtype))

    def _synced_model(self):
        """`self.model`, whose access on JAX syncs the trainer's state into the
        variables (they are stale inside an epoch otherwise)."""
        return self.model

    def _fisher_diagonal(self):
        """Mean squared gradient of each pruned kernel over the probe micro-batches."""
        structure = model_input_structure(self._synced_model())
        y = self.probe_data[1]
        count = len(self._probe_x[0])
        totals = [np.zeros(k.shape, dtype="float64") for k in self._kernels]
        batches = range(0, count, self.probe_batch_size)
        for start in batches:
            part = slice(start, start + self.probe_batch_size)
            x_part = keras.tree.pack_sequence_as(
                structure, [x[part] for x in self._probe_x]
            )
            y_part = keras.tree.map_structure(lambda a, part=part: a[part], y)
            _, gradients = self._gradients(x_part, y_part)
            for total, i in zip(totals, self._kernel_index):
                total += np.square(gradients[i], dtype="float64")
        return [total / len(batches) for total in totals]

    def sparsity(self):
        """The fraction of the pruned kernels' weights that is exactly zero."""
        self._synced_model()
        zeros = sum(int(np.sum(to_numpy(k) == 0)) for k in self._kernels)
        return zeros / sum(int(np.prod(k.shape)) for k in self._kernels)

    def on_epoch_end(self, epoch, logs=None):
        self._step_if_due(self._epoch_start + self._steps_per_epoch)
        sparsity = sum(int(np.sum(~m)) for m in self.masks.values()) / sum(
            m.size for m in self.masks.values()
        )
        if logs is not None:
            logs["pruning_sparsity"] = sparsity
        if self.verbose:
            scheduled = polynomial_sparsity(
                (epoch + 1) * self._steps_per_epoch,
                self.initial_sparsity,
                self.target_sparsity,
                self._begin,
                self._end,
            )
            print(
                f"WeightPruning: epoch {epoch + 1}: sparsity {sparsity:.2%} of "
                f"{len(self._kernels)} kernels (scheduled {scheduled:.2%}, "
                f"target {self.target_sparsity:.2%})"
            )

    def get_config(self):
        layers = self.layers
        if layers is not None:
            layers = [x if isinstance(x, str) else x.name for x in layers]
        probe_data = self.probe_data
        if probe_data is not None:
            probe_data = keras.saving.serialize_keras_object(list(probe_data))
        return {
            "target_sparsity": self.target_sparsity,
            "criterion": self.criterion,
            "start_epoch": self.start_epoch,
            "end_epoch": self.end_epoch,
            "frequency": self.frequency,
            "initial_sparsity": self.initial_sparsity,
            "layers": layers,
            "probe_data": probe_data,
            "probe_batch_size": self.probe_batch_size,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        probe_data = config.get("probe_data")
        if probe_data is not None:
            probe_data = keras.saving.deserialize_keras_object(probe_data)
        return cls(**{**config, "probe_data": probe_data})
