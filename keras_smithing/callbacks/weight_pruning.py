"""Gradual weight pruning: Zhu & Gupta's cubic schedule, by magnitude or OBD saliency."""

import warnings

import keras
import numpy as np

from keras_smithing.optimizers.wrapper import innermost_optimizer
from keras_smithing.utils.backend import (
    gather_from_processes,
    gradient_function,
    multiply_in_place,
    to_numpy,
    variable_scope,
)
from keras_smithing.utils.compat import (
    add_optimizer_variables,
    flatten_layers,
    remove_optimizer_variables,
)
from keras_smithing.utils.validation import (
    check_int,
    check_model_inputs,
    check_one_of,
    check_rate,
    invalid_argument,
    invalid_data,
    model_input_structure,
)

# The weights pruned by default, by layer type: what tfmot's `prune_low_magnitude`
# prunes (its `PruneRegistry`), in Keras 3's attribute names. Biases and
# normalization weights are never pruned. Keras's RNN layers hold their weights in
# their cell, a sublayer; the pack's LayerNorm*Cell subclass Keras's cells.
PRUNABLE_WEIGHTS = (
    (
        (
            keras.layers.Dense,
            keras.layers.EinsumDense,
            keras.layers.Conv1D,
            keras.layers.Conv2D,
            keras.layers.Conv3D,
            keras.layers.Conv1DTranspose,
            keras.layers.Conv2DTranspose,
            keras.layers.Conv3DTranspose,
            keras.layers.DepthwiseConv1D,
            keras.layers.DepthwiseConv2D,
        ),
        ("kernel",),
    ),
    (
        (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D),
        ("pointwise_kernel",),
    ),
    ((keras.layers.Embedding,), ("embeddings",)),
    (
        (keras.layers.SimpleRNNCell, keras.layers.LSTMCell, keras.layers.GRUCell),
        ("kernel", "recurrent_kernel"),
    ),
)


def prunable_weight_names(layer):
    """The attribute names of `layer`'s own weights that are pruned by default."""
    for types, names in PRUNABLE_WEIGHTS:
        if isinstance(layer, types):
            return names
    return ()


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
    kept = np.flatnonzero(mask)
    more = count - (scores.size - kept.size)  # Still to drop, among the kept.
    if more >= 0:
        # The same selection, ranking only the kept weights (the dropped ones
        # rank lowest anyway): a partition of fewer entries, in their own dtype.
        keep = mask.ravel().copy()
        if more:
            keep[kept[_lowest(scores.ravel()[kept], more)]] = False
        return keep.reshape(scores.shape)
    keep = np.ones(scores.size, dtype=bool)
    if count:
        ranked = np.where(mask, scores.astype("float64"), -np.inf).ravel()
        keep[np.argpartition(ranked, count - 1)[:count]] = False
    return keep.reshape(scores.shape)


def _lowest(values, count):
    """Indices of `count` (>= 1) lowest of the 1-D `values`, ties taken in order.

    Entries equal to the minimum (the zeros of a pruned model, when its weights
    are ranked again) are taken first without a partition: NumPy's partition
    slows down ~40x on an array that is mostly one repeated value.
    """
    low = values.min()
    if not np.isnan(low):
        ties = np.flatnonzero(values == low)
        if ties.size >= count:
            return ties[:count]
        if ties.size > 1:  # Partition only the rest.
            rest = np.flatnonzero(values != low)
            chosen = np.argpartition(values[rest], count - ties.size - 1)
            return np.concatenate([ties, rest[chosen[: count - ties.size]]])
    return np.argpartition(values, count - 1)[:count]


class _KeepMask:
    """A variable constraint: the variable's own constraint, then `* mask`."""

    def __init__(self, mask, constraint):
        self.mask = mask
        self.constraint = constraint

    def __call__(self, w):
        if self.constraint is not None:
            w = self.constraint(w)
        return multiply_in_place(w, self.mask)


class _MaskedTraining:
    """A train function traced with the masks, and what it was traced for."""

    def __init__(self, model, optimizer, weights, masks):
        self.model = model
        self.optimizer = optimizer
        self.plain = model.train_function  # The one `fit` made, without masks.
        self.weights = weights
        self.masks = masks
        self.function = None  # The masked train function, once traced.

    def serves(self, model, optimizer, weights):
        """Whether this traced function is the one for `weights` of `model`."""
        return (
            self.model is model
            and self.optimizer is optimizer
            and self.plain is model.train_function
            and len(self.weights) == len(weights)
            and all(a is b for a, b in zip(self.weights, weights))
        )


@keras.saving.register_keras_serializable(package="keras_smithing")
class WeightPruning(keras.callbacks.Callback):
    """Gradual pruning: drives a growing fraction of the model's weights to zero.

    From the beginning of epoch `start_epoch` to the end of epoch `end_epoch - 1`
    (0-based, as Keras counts epochs), every `frequency` training steps, each pruned
    weight tensor's least important entries are set to zero so that its sparsity
    follows Zhu & Gupta's cubic schedule

        s_t = s_f + (s_i - s_f) * (1 - (t - t_0) / (n Δt))**3,

    with `t` the number of training steps completed, `t_0 = start_epoch *
    steps_per_epoch`, `t_0 + n Δt = end_epoch * steps_per_epoch`, `Δt = frequency`,
    `s_i = initial_sparsity`, `s_f = target_sparsity`. The last update falls on step
    `t_0 + n Δt` whether or not `frequency` divides the span, so every pruned tensor
    ends with exactly `round(target_sparsity * tensor.size)` zeros. Each tensor is
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
      evaluations but square batch means. A fixed probe set is needed because
      Keras callbacks never see the training batches or their gradients.

    What is pruned by default, in every trainable layer (nested models and
    wrappers included), is what tfmot's `prune_low_magnitude` prunes: the `kernel`
    of Dense, EinsumDense, convolution and depthwise convolution layers, the
    `pointwise_kernel` of separable convolutions, the `embeddings` of Embedding
    layers, and the `kernel` and `recurrent_kernel` of SimpleRNN, LSTM and GRU
    cells (`keras_smithing.layers.LayerNorm*Cell` included). Biases and
    normalization weights never are. The model may be one that `fit` builds (no
    `Input`, subclassed); TensorFlow builds it during the first train step, so
    there pruning starts from the second.

    Pruned weights stay exactly zero in every forward pass and never regrow
    during `fit` (`jit_compile=True`, `steps_per_execution`, `LossScaleOptimizer`
    and the pack's optimizer wrappers included); a weight's own constraint, if
    any, still applies. When `fit` ends the model holds plain Keras layers whose
    pruned weights contain zeros: it saves and reloads with no custom object
    (optimizer state included), and further training without this callback
    lets the zeros regrow.

    The epoch logs (and so `History`) get `pruning_sparsity`, the fraction of
    everything pruned that the masks hold at zero; `sparsity()` counts the pruned
    weights that are exactly zero.
    `history` records each update.

    Args:
        target_sparsity: Float in [0, 1), `s_f`: the fraction of each pruned
            tensor that is zero at the end.
        criterion: `"magnitude"` or `"saliency"`, see above.
        start_epoch: Integer >= 0, the epoch at whose beginning pruning starts.
        end_epoch: Integer > `start_epoch`, the epoch at whose beginning the
            target is reached (at most the `epochs` of `fit`); None for the end of
            `fit`.
        frequency: Integer >= 1, `Δt`: training steps between mask updates.
        initial_sparsity: Float in [0, `target_sparsity`], `s_i`.
        layers: None (every layer pruned by default, see above), or a list of
            layers or layer names to prune: a layer of a type listed above (its
            weights listed there), an RNN layer or nested model (the listed
            layers inside it), or any other layer that has a `kernel`.
        probe_data: Tuple `(x, y)` for `criterion="saliency"` (required there):
            a fixed batch matching the model's inputs and targets, e.g. a few
            hundred training examples.
        probe_batch_size: Integer >= 1, examples per micro-batch of the Fisher
            estimate (see above).
        verbose: 0 or 1; 1 prints the sparsity reached after every epoch and,
            when `fit` ends, the fraction of all the model's weights that is
            zero.

    Attributes:
        history: Dict of lists, one entry per mask update: `"step"` (training
            steps completed) and `"sparsity"` (the scheduled `s_t`).
        masks: Dict `{variable path: boolean keep-mask}` (NumPy arrays).

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.callbacks import WeightPruning
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
    >>> # Prune to 50 % over epochs 0 and 1, then train one more epoch.
    >>> pruning = WeightPruning(0.5, start_epoch=0, end_epoch=2, frequency=2)
    >>> history = model.fit(
    ...     x, y, epochs=3, batch_size=16, callbacks=[pruning], verbose=0
    ... )
    >>> pruning.sparsity()  # Of the kernels; biases are not pruned.
    0.5
    >>> [round(s, 4) for s in history.history["pruning_sparsity"]]
    [0.4375, 0.5, 0.5]
    >>> kernel = model.get_layer("hidden").kernel.numpy()
    >>> int(np.sum(kernel == 0)), kernel.size
    (64, 128)

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
            raise invalid_data(
                "probe_data",
                "is not a tuple (x, y)",
                "pass probe_data=(x, y), a batch of inputs and targets, or None",
                f"type(probe_data)={type(probe_data).__name__}",
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
        self._weights = None
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

    def _select_layers(self, model):
        """The layers to prune, each with the names of its weights to prune.

        Runs on an unbuilt model too: the choice is by layer type.
        """
        candidates = flatten_layers(model, include_self=True)
        if self.layers is None:
            chosen = [
                (layer, names)
                for layer in candidates
                if layer.trainable and (names := prunable_weight_names(layer))
            ]
            if not chosen:
                raise ValueError(
                    "WeightPruning found nothing to prune: the model has no "
                    "trainable Dense, convolution, Embedding or recurrent layer. "
                    "Pass `layers` to name the layers to prune."
                )
            return chosen
        by_name = {layer.name: layer for layer in candidates}
        chosen = []
        for wanted in self.layers:
            layer = by_name.get(wanted) if isinstance(wanted, str) else wanted
            if not any(layer is c for c in candidates):
                raise invalid_argument(
                    "layers", wanted, "a layer (or layer name) of the model"
                )
            # An RNN layer or a nested model: the prunable layers inside it. Any
            # other layer: its `kernel`.
            inner = [
                (sublayer, names)
                for sublayer in flatten_layers(layer, include_self=True)
                if (names := prunable_weight_names(sublayer))
            ]
            chosen += inner or [(layer, ("kernel",))]
        return chosen

    def _select_weights(self, model):
        """The variables to prune, read from the built layers and checked."""
        weights = []
        for layer, names in self._layers:
            found = [getattr(layer, name, None) for name in names]
            found = [w for w in found if isinstance(w, keras.Variable)]
            if self.layers is None:
                found = [w for w in found if w.trainable]
            elif not found:
                raise invalid_argument(
                    "layers",
                    layer.name,
                    "layers that hold a kernel, an embedding table or a recurrent "
                    "kernel, or contain such layers",
                )
            weights += found
        if self.criterion == "saliency":
            trainable = {id(v) for v in model.trainable_variables}
            frozen = [w.path for w in weights if id(w) not in trainable]
            if frozen:
                raise invalid_argument(
                    "layers",
                    frozen,
                    'layers with trainable weights for criterion="saliency"',
                )
        return weights

    def on_train_begin(self, logs=None):
        if self._mask_variables:
            # Keras skips `on_train_end` when `fit` is interrupted: undo that fit's
            # masking before anything else.
            self._detach_masks()
        steps, epochs = self.params.get("steps"), self.params.get("epochs")
        if not steps:
            raise ValueError(
                "WeightPruning needs the number of steps per epoch to place its "
                "schedule, and this `fit` does not know it (its data has no known "
                "length). Pass `steps_per_epoch` to `fit`, or fit on arrays or on "
                "a dataset of known cardinality."
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
        self._layers = self._select_layers(self.model)
        self._weights = None
        self.masks = {}
        self.history = {"step": [], "sparsity": []}
        self._set_up_if_built()

    def _set_up_if_built(self):
        """Finds the weights to prune and attaches their masks, once they exist.

        TensorFlow builds a model that has no `Input` (a subclassed one, a
        Sequential without `Input`) in the first train step, after
        `on_train_begin` (JAX and PyTorch build it before): the masks are then
        attached before the second step, and that first step trains unpruned.

        Returns:
            Whether the masks are attached.
        """
        if self._weights is not None:
            return True
        if not all(layer.built for layer, _ in self._layers):
            return False
        model = self.model
        weights = self._select_weights(model)
        if self.criterion == "saliency":
            self._probe_x = self._probe_inputs(model)
            index = {id(v): i for i, v in enumerate(model.trainable_variables)}
            self._weight_index = [index[id(w)] for w in weights]
            # The active backend's autodiff of the compiled loss.
            self._gradients = gradient_function(model)
        self._weights = weights
        self.masks = {w.path: np.ones(w.shape, dtype=bool) for w in weights}
        self._attach_masks(model)  # Last: nothing after it may refuse the fit.
        return True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = epoch * self._steps_per_epoch
        self._step_if_due(self._epoch_start)

    def on_train_batch_begin(self, batch, logs=None):
        # Before the step rather than after the previous one: a callback with
        # batch-end hooks makes Keras fetch every batch's logs, which waits for
        # the step (JAX dispatches steps asynchronously).
        self._step_if_due(self._epoch_start + batch)

    def on_train_end(self, logs=None):
        if self.verbose and self._weights is not None:
            # Read before the masks leave the optimizer: on JAX, reading the
            # model syncs the optimizer variables from the trainer's state.
            weights = [to_numpy(w) for w in self._synced_model().weights]
            zeros = sum(int(np.sum(w == 0)) for w in weights)
            size = sum(w.size for w in weights)
            pruned = sum(m.size for m in self.masks.values())
            print(
                f"WeightPruning: {zeros / size:.2%} of the model's {size} weights "
                f"are zero ({self._mask_sparsity():.2%} of the {pruned} pruned "
                "weights)"
            )
        if self._mask_variables:
            self._detach_masks()

    def _attach_masks(self, model):
        """Makes each pruned weight's constraint apply its mask in the train step.

        The train function traced with the masks is kept: a later `fit` of the
        same compiled model with this callback reuses it, mask variables and all,
        instead of tracing again.
        """
        # The optimizer still computes an update for a pruned weight (its
        # gradient is not zero, and momentum or Adam moments carry it), so the
        # masks act inside the compiled train step, as variable constraints: for
        # the length of `fit` each pruned weight's `constraint` becomes
        # `mask * constraint(weight)`, which Keras applies right after every
        # optimizer update. The optimizer slots of pruned weights keep stale
        # values, which have no effect. The masks are variables of the optimizer
        # that owns the slots (inside `LossScaleOptimizer` or the pack's
        # wrappers), so JAX's stateless train step carries them; the callback
        # writes them only when it re-ranks. `_detach_masks` undoes all of it.
        optimizer = innermost_optimizer(model.optimizer)
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        traced = self._traced
        if traced is not None and traced.serves(model, optimizer, self._weights):
            add_optimizer_variables(optimizer, traced.masks)
            for variable in traced.masks:
                variable.assign(keras.ops.ones(variable.shape, variable.dtype))
        else:
            with variable_scope(model):
                masks = [
                    optimizer.add_variable(
                        w.shape, initializer="ones", dtype=w.dtype, name="pruning_mask"
                    )
                    for w in self._weights
                ]
            traced = self._traced = _MaskedTraining(
                model, optimizer, self._weights, masks
            )
        self._mask_variables = traced.masks
        self._own_constraints = [w.constraint for w in self._weights]
        for weight, mask in zip(self._weights, self._mask_variables):
            weight.constraint = _KeepMask(mask, weight.constraint)
        if traced.function is None:
            model.make_train_function(force=True)  # Traced with the constraints.
        else:
            model.train_function = traced.function

    def _detach_masks(self):
        """Restores the weights' constraints, optimizer and train function."""
        for weight, constraint in zip(self._weights, self._own_constraints):
            weight.constraint = constraint
        traced = self._traced
        remove_optimizer_variables(traced.optimizer, self._mask_variables)
        self._mask_variables = []
        traced.function = traced.model.train_function
        traced.model.train_function = traced.plain  # Traced without the masks.

    def _step_if_due(self, step):
        """Updates the masks when a scheduled update is due at `step`."""
        if (
            not self._set_up_if_built()
            or self._next_update is None
            or step < self._next_update
        ):
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
        weights = [to_numpy(w) for w in self._weights]
        if self.criterion == "saliency":
            curvatures = self._fisher_diagonal()
            scores = [0.5 * h * np.square(w) for h, w in zip(curvatures, weights)]
        else:
            scores = [np.abs(w) for w in weights]
        for variable, score in zip(self._weights, scores):
            self.masks[variable.path] = prune_lowest(
                score, self.masks[variable.path], sparsity
            )
        for variable, weight, mask_variable in zip(
            self._weights, weights, self._mask_variables
        ):
            mask = self.masks[variable.path]
            mask_variable.assign(mask.astype(weight.dtype))
            variable.assign(np.where(mask, weight, 0).astype(weight.dtype))

    def _synced_model(self):
        """`self.model`, whose access on JAX syncs the trainer's state into the
        variables (they are stale inside an epoch otherwise)."""
        return self.model

    def _probe_inputs(self, model):
        """The probe inputs, checked against the inputs of a Functional or
        Sequential model; a subclassed model declares none, and takes them as
        given."""
        x = self.probe_data[0]
        if not hasattr(model, "inputs"):
            return x
        arrays = check_model_inputs("probe_data", x, model)
        return keras.tree.pack_sequence_as(model_input_structure(model), arrays)

    def _fisher_diagonal(self):
        """Mean squared gradient of each pruned weight over the probe micro-batches."""
        self._synced_model()
        y = self.probe_data[1]
        count = len(keras.tree.flatten(self._probe_x)[0])
        totals = [np.zeros(w.shape, dtype="float64") for w in self._weights]
        batches = range(0, count, self.probe_batch_size)
        for start in batches:
            part = slice(start, start + self.probe_batch_size)
            x_part = keras.tree.map_structure(
                lambda a, part=part: a[part], self._probe_x
            )
            y_part = keras.tree.map_structure(lambda a, part=part: a[part], y)
            _, gradients = self._gradients(x_part, y_part)
            for total, i in zip(totals, self._weight_index):
                total += np.square(gradients[i], dtype="float64")
        # Under multi-process training each process probes its own `probe_data`:
        # the sums and counts are pooled over the processes (collectives), so that
        # every process ranks alike and its masks match the others'.
        counts = gather_from_processes(np.float64(len(batches))).sum()
        return [gather_from_processes(total).sum(0) / counts for total in totals]

    def sparsity(self):
        """The fraction of the pruned weights that is exactly zero."""
        self._synced_model()
        zeros = sum(int(np.sum(to_numpy(w) == 0)) for w in self._weights)
        return zeros / sum(int(np.prod(w.shape)) for w in self._weights)

    def _mask_sparsity(self):
        """The fraction of the pruned weights that the masks hold at zero."""
        return sum(int(np.sum(~m)) for m in self.masks.values()) / sum(
            m.size for m in self.masks.values()
        )

    def on_epoch_end(self, epoch, logs=None):
        self._step_if_due(self._epoch_start + self._steps_per_epoch)
        if self._weights is None:  # No train step ran, nothing was built.
            return
        sparsity = self._mask_sparsity()
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
                f"WeightPruning: epoch {epoch + 1}: sparsity {sparsity:.2%} over "
                f"{len(self._weights)} weight tensors (scheduled {scheduled:.2%}, "
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
