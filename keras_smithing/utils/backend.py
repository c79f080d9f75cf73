"""Backend-specific code, behind small backend-agnostic functions."""

import contextlib
import os
import tempfile

import keras
import numpy as np


# Stateful train/test steps on every backend (used by keras_smithing.pretraining).
def stateful_step(model, step_fn, args, training):
    """Runs a stateful `step_fn(data) -> logs` as a Keras train or test step.

    TensorFlow and PyTorch call `train_step(data)` and let it assign variables.
    JAX calls `train_step(state, data)` and expects `(logs, new_state)`; there
    `step_fn` runs inside a `keras.StatelessScope` mapping every variable to its
    value in `state`, and the assignments it records become the new state. Write
    the step once with `variable.assign`, `optimizer.apply` and
    `metric.update_state`, and call this from `train_step(self, *args)`. The step
    computes its gradients in closed form: on PyTorch it runs under
    `torch.no_grad()`, so no autograd graph is recorded behind the variables'
    tensors (Keras's PyTorch train loop leaves autograd on).

    Args:
        model: The `keras.Model` whose step this is.
        step_fn: Function of the batch, returning a dict of logs.
        args: The arguments Keras passed to `train_step` / `test_step`.
        training: Whether this is a train step (the JAX state then includes the
            optimizer variables).

    Returns:
        The logs (TensorFlow, PyTorch) or `(logs, state)` (JAX).
    """
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        (data,) = args
        with torch.no_grad():
            return step_fn(data)
    if backend != "jax":
        (data,) = args
        return step_fn(data)
    state, data = args
    groups = [model.trainable_variables, model.non_trainable_variables]
    if training:
        groups.append(model.optimizer.variables)
    groups.append(model.metrics_variables)
    mapping = [
        (variable, value)
        for variables, values in zip(groups, state)
        for variable, value in zip(variables, values)
    ]
    with keras.StatelessScope(state_mapping=mapping) as scope:
        logs = step_fn(data)
    new_state = []
    for variables, values in zip(groups, state):
        new_values = []
        for variable, value in zip(variables, values):
            new_value = scope.get_current_value(variable)
            new_values.append(value if new_value is None else new_value)
        new_state.append(new_values)
    return logs, tuple(new_state)


# Array inputs of `fit` (used by keras_smithing.pretraining.RBM).
def array_batches(x, batch_size, shuffle):
    """The batches `fit` cuts from the array `x`, where that costs less per epoch.

    On TensorFlow, Keras feeds an array to `fit` through a `tf.data` pipeline (an
    index permutation, a parallel gather, a prefetch) whose iterator it builds
    twice per epoch; on a 2-core CPU that costs more than an epoch of a small
    model's steps. A dataset of the rows, reshuffled for every epoch when
    `shuffle`, then batched, gives `fit` the same batches (the last one partial)
    at a fraction of the cost. JAX and PyTorch iterate over the array directly.

    Args:
        x: A NumPy array, one example per row.
        batch_size: Positive integer, rows per batch.
        shuffle: Whether every epoch visits the rows in a new random order.

    Returns:
        A `tf.data.Dataset` on TensorFlow; elsewhere `x`, unchanged.
    """
    if keras.backend.backend() != "tensorflow":
        return x
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(x)
    if shuffle:
        dataset = dataset.shuffle(len(x), reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


# Gradients on a fixed batch (used by keras_smithing.callbacks.GradientHealth).
def gradient_function(model):
    """Returns `fn(x, y) -> (loss, gradients)` for a compiled `model`.

    `fn` evaluates the model's compiled loss (plus its regularization losses) on
    `(x, y)` in inference mode (`training=False`: no dropout, batch statistics
    untouched) and differentiates it with the active backend's autodiff:
    `tf.GradientTape` in a `tf.function` on TensorFlow, `jax.value_and_grad` of
    the stateless `compute_loss_and_updates` on JAX, `torch.autograd.grad` on
    PyTorch. It changes no variable of the model, metric variables included.

    Args:
        model: A compiled `keras.Model`.

    Returns:
        A function of `(x, y)` returning the loss as a float and the gradients as
        a list of NumPy arrays aligned with `model.trainable_variables` (zeros for
        variables the loss does not depend on).
    """
    backend = keras.backend.backend()
    if backend == "jax":
        return _jax_gradient_function(model)
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def compute(x, y):
            with tf.GradientTape() as tape:
                y_pred = model(x, training=False)
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
            variables = model.trainable_variables
            gradients = tape.gradient(loss, variables)
            return loss, [
                tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                for v, g in zip(variables, gradients)
            ]

    elif backend == "torch":
        import torch

        def compute(x, y):
            y_pred = model(x, training=False)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
            values = [v.value for v in model.trainable_variables]
            gradients = torch.autograd.grad(loss, values, allow_unused=True)
            return loss, [
                torch.zeros_like(v) if g is None else g
                for v, g in zip(values, gradients)
            ]

    else:
        raise ValueError(f"Gradients are not supported on the {backend} backend.")

    def fn(x, y):
        # compute_loss updates the per-output loss metrics of multi-output models.
        metrics = [keras.ops.convert_to_numpy(v) for v in model.metrics_variables]
        loss, gradients = compute(x, y)
        for variable, value in zip(model.metrics_variables, metrics):
            variable.assign(value)
        return _to_numpy(loss, gradients)

    return fn


def _jax_gradient_function(model):
    import jax

    def loss_fn(trainable, non_trainable, metrics, x, y):
        loss, _ = model.compute_loss_and_updates(
            trainable, non_trainable, metrics, x, y, None, training=False
        )
        return loss

    compute = jax.jit(jax.value_and_grad(loss_fn))

    def fn(x, y):
        loss, gradients = compute(
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in model.metrics_variables],
            x,
            y,
        )
        return _to_numpy(loss, gradients)

    return fn


def _to_numpy(loss, gradients):
    return float(keras.ops.convert_to_numpy(loss)), [
        keras.ops.convert_to_numpy(g) for g in gradients
    ]


def mean_over_replicas(gradients):
    """Scales per-replica mean gradients so that their cross-replica sum is a mean.

    Optimizers sum gradients over the replicas of a `tf.distribute` strategy
    (Keras losses divide by the replica count for that reason); closed-form
    gradients need the same division. Elsewhere the gradients pass unchanged.

    Args:
        gradients: List of gradient tensors, each a mean over the local batch.

    Returns:
        The list, divided by the number of replicas in sync.
    """
    if keras.backend.backend() != "tensorflow":
        return gradients
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas == 1:
        return gradients
    return [g / replicas for g in gradients]


@contextlib.contextmanager
def seeded_shuffle(seed):
    """Seeds the global generator that `fit(shuffle=True)` draws its order from.

    Keras shuffles array inputs with NumPy's global generator on JAX and with
    PyTorch's on PyTorch (TensorFlow's order follows its own op seeds). Inside
    this context both are seeded with `seed`; on exit the caller's generator
    states are restored, so a seeded inner `fit` is reproducible without
    changing anyone else's random stream.

    Args:
        seed: Integer seed, or None to leave the generators alone.
    """
    if seed is None:
        yield
        return
    numpy_state = np.random.get_state()
    np.random.seed(seed)
    try:
        if keras.backend.backend() == "torch":
            import torch

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                yield
        else:
            yield
    finally:
        np.random.set_state(numpy_state)


def variable_scope(model):
    """The context in which to create variables that belong with `model`.

    On TensorFlow that is the `tf.distribute` strategy the model was created
    under (`model.distribute_strategy`), so that they are mirrored like the
    model's; elsewhere there is nothing to enter.
    """
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow only.
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def build_in_scope(model, input_shape):
    """Builds `model` where its variables belong.

    On TensorFlow that is inside the `tf.distribute` strategy the model was created
    under (`model.distribute_strategy`), so that a model built just before `fit`
    gets mirrored variables; elsewhere the model is simply built.

    Args:
        model: An unbuilt `keras.Model`.
        input_shape: Its input shape.
    """
    with variable_scope(model):
        model.build(input_shape)


def to_numpy(value):
    """A tensor or `keras.Variable` as a NumPy array.

    `keras.ops.convert_to_numpy` on a variable makes NumPy 2 emit a
    DeprecationWarning (the backends' `__array__` takes no `copy` argument), once
    per call; read the backend value directly instead.
    """
    if isinstance(value, keras.Variable):
        value = value.value
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return value.numpy()
    if backend == "torch":
        return value.detach().cpu().numpy().copy()  # Not a view of the weights.
    return np.asarray(value)


def process_count():
    """The number of processes training together (1 unless JAX runs multi-process).

    Keras 3 trains across processes (hosts) through `keras.distribution` on JAX;
    TensorFlow's multi-worker strategy does not run Keras 3's `fit` (see
    docs/guide/multi-machine.md) and PyTorch has no distribution API in Keras.
    """
    if keras.backend.backend() != "jax":
        return 1
    import jax

    return jax.process_count()


def is_first_process():
    """Whether this is process 0, the one that writes files and decides."""
    if keras.backend.backend() != "jax":
        return True
    import jax

    return jax.process_index() == 0


def gather_from_processes(array):
    """Every process's `array`, stacked along a new first axis (NumPy).

    A collective: every process must call it, in the same order, with arrays of
    the same shape and dtype. In a single process it returns `array[None]`.

    Args:
        array: A NumPy array (or anything `np.asarray` takes).

    Returns:
        A NumPy array of shape `(process_count(), *array.shape)`, ordered by
        process index, of `array`'s dtype.
    """
    array = np.ascontiguousarray(array)
    if process_count() == 1:
        return array[None]
    from jax.experimental import multihost_utils

    # JAX computes in 32 bits unless x64 is enabled: the bytes travel as uint8 so
    # float64 statistics (and any other dtype) arrive exactly.
    raw = np.frombuffer(array.tobytes(), dtype=np.uint8)
    gathered = np.asarray(multihost_utils.process_allgather(raw))
    return gathered.view(array.dtype).reshape(-1, *array.shape)


def broadcast_from_first_process(value):
    """Process 0's `value` (a scalar or small array), in every process.

    A collective, like `gather_from_processes`. Use it where each process could
    decide differently (a clock, local data) but all must act alike: a process
    that stops training alone leaves the others waiting in a collective.
    """
    return gather_from_processes(value)[0]


def moments_over_processes(count, mean, m2):
    """Pools each process's moments into those of all the processes' data.

    A collective, like `gather_from_processes`: every process measured its own
    shard, and all get the statistics of the union. In a single process the
    moments come back unchanged.

    Args:
        count: Number of values measured (a scalar or an array, per channel).
        mean: Their mean, of the shape of `count` (broadcastable).
        m2: Their sum of squared deviations from `mean`.

    Returns:
        `(count, mean, m2)` over every process's values, as float64 NumPy arrays.
    """
    parts = np.stack(np.broadcast_arrays(count, mean, m2)).astype("float64")
    counts, means, m2s = np.moveaxis(gather_from_processes(parts), 1, 0)
    total = counts.sum(0)
    pooled_mean = (counts * means).sum(0) / np.maximum(total, 1.0)
    pooled_m2 = m2s.sum(0) + (counts * (means - pooled_mean) ** 2).sum(0)
    return total, pooled_mean, pooled_m2


def save_weights_from_first_process(model, filepath):
    """`model.save_weights(filepath)`, written once under multi-process training.

    Saving reads every variable, which under multi-process JAX is a collective:
    every process must save. Process 0 writes `filepath`; the others write a
    scratch copy that is deleted at once. In one process it is a plain save.
    """
    if is_first_process():
        model.save_weights(filepath)
        return
    with tempfile.TemporaryDirectory() as scratch:
        model.save_weights(os.path.join(scratch, os.path.basename(str(filepath))))


def predict_here(model, x, batch_size):
    """`model.predict(x)` (inference mode, NumPy out) that runs in any process.

    Under multi-process training Keras's `predict` returns arrays spread over
    every process, which no process can read; there each process calls the model
    on its own `x`, batch by batch. In one process it is Keras's `predict`.

    Args:
        model: A built Keras model (or layer) taking one array.
        x: A NumPy array.
        batch_size: Integer, rows per call.
    """
    if process_count() == 1:
        return model.predict(x, batch_size=batch_size, verbose=0)
    return np.concatenate(
        [
            keras.ops.convert_to_numpy(model(x[start : start + batch_size]))
            for start in range(0, len(x), batch_size)
        ]
    )


def fused_layer_norm(x, gamma, beta, epsilon):
    """`gamma * (x - mean) / sqrt(var + epsilon) + beta` over the last axis, as the
    backend's one fused kernel (forward and backward), or None where there is none.

    PyTorch has one (`torch.nn.functional.layer_norm`): in eager mode, where every
    op is dispatched from Python, it replaces the ~10 ops of the formula and its
    gradient. TensorFlow and JAX compile the formula into a graph; there the
    caller computes it with `keras.ops` (None is returned).

    Args:
        x: Float tensor; normalized over its last axis.
        gamma: Gain tensor of shape `x.shape[-1:]`, or None.
        beta: Shift tensor of shape `x.shape[-1:]`, or None.
        epsilon: Float added to the variance.
    """
    if keras.backend.backend() != "torch":
        return None
    import torch

    return torch.nn.functional.layer_norm(x, x.shape[-1:], gamma, beta, epsilon)


def eager_value(value):
    """The Python value of the scalar `value` when it is known now, else None.

    Known now: in eager execution (PyTorch, eager TensorFlow, JAX outside `jit`).
    Not known: while a function is traced (`tf.function`, `jax.jit`, a symbolic
    build, `torch.compile`), where a branch on it must be an `ops.cond`.

    Args:
        value: A scalar tensor or `keras.Variable`.
    """
    if isinstance(value, keras.Variable):
        value = value.value
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return value.numpy().item() if tf.executing_eagerly() else None
    if backend == "jax":
        import jax

        return None if isinstance(value, jax.core.Tracer) else np.asarray(value).item()
    if backend == "torch":
        import torch

        if value.device.type == "meta" or torch.compiler.is_compiling():
            return None
        return value.item()
    return None


def vector_norm(x, axes, minimum):
    """`max(sqrt(sum(x**2, axes)), minimum)`, as PyTorch ops on PyTorch.

    Eager PyTorch dispatches every `keras.ops` call from Python (a few
    microseconds each, forward and backward); the same formula written with
    torch's tensor methods skips that. (`torch.linalg.vector_norm` measured
    slower here: its backward is heavier.) TensorFlow and JAX compile the
    formula into their graph, where it is written with `keras.ops`.

    Args:
        x: Float tensor.
        axes: List of the axes to reduce.
        minimum: Float, the least value returned.
    """
    if keras.backend.backend() == "torch":
        return (x * x).sum(dim=axes).sqrt().clamp_min(minimum)
    ops = keras.ops
    return ops.maximum(ops.sqrt(ops.sum(ops.square(x), axes)), minimum)


def fused_weight_norm(v, g, minimum):
    """`v * g / max(||v||, minimum)`, the norm taken over every axis of `v` but
    the last, as the backend's one fused kernel (forward and backward), or None
    where there is none.

    PyTorch has one (`compat.torch_weight_norm`, what
    `torch.nn.utils.parametrizations.weight_norm` runs): it reads `v` once for
    the norms and the product, and its backward computes the gradients of `v`
    and `g` in one pass, where the formula costs ~7 passes over the kernel in
    eager mode (at 512x512, 150 µs against 680 µs forward and backward on one
    core). It does not clamp the norm: where a norm is below `minimum` (a zero
    column), or where the norms cannot be read now (while tracing, on the meta
    device), None is returned and the caller computes the formula with
    `keras.ops`. TensorFlow and JAX compile the formula into a graph: None.

    Args:
        v: Float32 tensor, at least 2-D.
        g: Float32 vector, one scale per index of `v`'s last axis.
        minimum: Float, the least norm divided by.
    """
    if keras.backend.backend() != "torch":
        return None
    import torch

    from keras_smithing.utils.compat import torch_weight_norm

    if v.device.type == "meta" or torch.compiler.is_compiling():
        return None
    # The kernel wants both contiguous (as `torch._weight_norm` makes them):
    # an orthogonal initializer's kernel is a transposed view.
    g = g.reshape([1] * (v.ndim - 1) + [-1]).contiguous()
    w, norms = torch_weight_norm(v.contiguous(), g, v.ndim - 1)
    if norms.min().item() < minimum:
        return None
    return w


def rescale_step(variable, old, factor, assign):
    """Sets `variable` to `old + factor * (variable - old)`: its last step, scaled.

    On PyTorch, in place on the variable's tensor: the same float32 operations in
    the same order, without temporaries or Keras's per-op dispatch (a few
    microseconds each in eager mode). Elsewhere, with `keras.ops` and `assign`.

    Args:
        variable: A `keras.Variable`, after an optimizer step.
        old: Tensor, its value before the step.
        factor: Python float.
        assign: Function `(variable, value)`, the optimizer's `assign`.
    """
    if keras.backend.backend() == "torch":
        import torch

        with torch.no_grad():
            factor = torch.as_tensor(factor, dtype=old.dtype)  # As keras.ops casts.
            variable.value.sub_(old).mul_(factor).add_(old)
        return
    step = keras.ops.subtract(variable.value, old)
    assign(variable, old + keras.ops.cast(factor, old.dtype) * step)


def multiply_in_place(x, mask):
    """`x * mask`, for a constraint's result, which Keras assigns to the variable.

    On PyTorch the product is written into `x`'s own tensor (the variable's, or
    a temporary its own constraint made): no new tensor, no Keras dispatch, and
    Keras's assign of a tensor to itself copies nothing. Elsewhere `keras.ops`.

    Args:
        x: A `keras.Variable` or tensor, overwritten on PyTorch.
        mask: A `keras.Variable` or tensor of `x`'s dtype.
    """
    if keras.backend.backend() == "torch":
        import torch

        values = [v.value if isinstance(v, keras.Variable) else v for v in (x, mask)]
        with torch.no_grad():
            return values[0].mul_(values[1])
    return keras.ops.multiply(x, keras.ops.cast(mask, x.dtype))


def take_steps(signal, indices):
    """`signal[b, indices[b, t], ...]` for signals `(batch, steps[, channels])`.

    On PyTorch, one `torch.gather` on int64 indices (expanded over the channels
    without a copy): Keras's `take` first converts and wraps the indices (four
    passes over them) behind several Keras ops dispatched from Python, and
    `torch.take_along_dim` is about 7x slower than `gather` at 8000x40 on CPU.
    Elsewhere, one flat `keras.ops.take` (cheaper than `take_along_axis`'s
    broadcasting on TensorFlow).

    Args:
        signal: Tensor `(batch, steps, ...)`.
        indices: Integer tensor `(batch, steps)`, each in `[0, steps)`.
    """
    if keras.backend.backend() == "torch":
        import torch

        indices = indices.long()
        if signal.ndim > 2:
            indices = indices.reshape(indices.shape + (1,) * (signal.ndim - 2))
            indices = indices.expand(indices.shape[:2] + signal.shape[2:])
        return torch.gather(signal, 1, indices)
    ops = keras.ops
    shape = ops.shape(signal)
    batch, steps = shape[0], signal.shape[1] or shape[1]
    offsets = ops.expand_dims(ops.arange(batch, dtype="int32") * steps, 1)
    flat = ops.reshape(signal, (-1,) + tuple(signal.shape[2:]))
    return ops.take(flat, indices + offsets, axis=0)


def _torch_generator(seed_generator):
    """The `torch.Generator` of the next draw from `seed_generator` on PyTorch, or
    None where the draw is left to `keras.random`.

    Keras's PyTorch backend seeds a new generator for every draw from the
    generator's next seed (`SeedGenerator.next()`, then the two halves of the
    seed added as uint32). Each of those steps is a Keras op dispatched from
    Python: about 30 us of a 40 us draw of 32x40 values. This reads the state
    once, moves it on by one as `next()` does (in place, or through `assign` in
    a stateless scope, which records it) and seeds the same generator. Left to
    `keras.random`: shape tracing on the meta device (no generator there) and
    `torch.compile` (Keras keeps the seeding out of the compiled graph).
    """
    import torch

    from keras_smithing.utils.compat import in_stateless_scope, torch_device

    device = torch_device()
    if device == "meta" or torch.compiler.is_compiling():
        return None
    state = seed_generator.state
    value = state.value
    first, second = value.tolist()
    increment = value.new_tensor([0, 1])
    if in_stateless_scope():
        state.assign(value + increment)
    else:  # Keras's `assign` would cost as much as the rest of the draw.
        value.add_(increment)
    generator = torch.Generator(device=device)
    generator.manual_seed((first + second) & 0xFFFFFFFF)
    return generator


def _torch_dtype(dtype):
    import torch

    return getattr(torch, keras.backend.standardize_dtype(dtype))


def _tensorflow_seed(seed_generator):
    """The next seed of `seed_generator`, as `keras.random`'s draws take it on
    TensorFlow (cast to int32)."""
    import tensorflow as tf

    seed = seed_generator.next()
    return tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")


def random_normal(shape, stddev, dtype, seed_generator):
    """`keras.random.normal(shape, stddev=stddev, dtype=dtype, seed=seed_generator)`.

    On TensorFlow the draw names the Philox algorithm that Keras's default draw
    resolves to: the values are Keras's, eager and under XLA alike, but under XLA
    (`jit_compile=True`) the default compiles on CPU to a generator ~15x slower
    (~450 us for 1280 values, against ~30 us). On PyTorch the draw comes from
    the generator Keras would seed, seeded without Keras's per-op dispatch
    (`_torch_generator`: 16 us for 32x40 values against 42 us). On JAX it is
    `keras.random.normal`.
    """
    backend = keras.backend.backend()
    generator = _torch_generator(seed_generator) if backend == "torch" else None
    if generator is not None:
        import torch

        return torch.normal(
            0.0,
            stddev,
            size=shape,
            generator=generator,
            dtype=_torch_dtype(dtype),
            device=generator.device,
        )
    if backend != "tensorflow":
        return keras.random.normal(
            shape, stddev=stddev, dtype=dtype, seed=seed_generator
        )
    import tensorflow as tf

    seed = _tensorflow_seed(seed_generator)
    return tf.random.stateless_normal(shape, seed, 0.0, stddev, dtype, alg="philox")


def _is_number(value, number):
    """Whether `value` is the Python number `number` (not a tensor)."""
    return isinstance(value, (int, float)) and value == number


def random_uniform(shape, minval, maxval, dtype, seed_generator):
    """`keras.random.uniform(shape, minval, maxval, dtype, seed=seed_generator)`.

    The twin of `random_normal`: on TensorFlow the draw names the Philox
    algorithm that Keras's default draw resolves to, so the values are Keras's,
    eager and under XLA alike, while XLA (`jit_compile=True`) compiles the
    default on CPU to a generator ~15-20x slower. On PyTorch, Keras's generator
    seeded without Keras's per-op dispatch, as in `random_normal`. On JAX it is
    `keras.random.uniform`.
    """
    backend = keras.backend.backend()
    generator = _torch_generator(seed_generator) if backend == "torch" else None
    if generator is not None:
        import torch

        # Keras's arithmetic: a shape-() draw is taken from a shape-(1,) one.
        values = torch.rand(
            size=tuple(shape) or (1,),
            generator=generator,
            dtype=_torch_dtype(dtype),
            device=generator.device,
        )
        # Over [0, 1) the scaling is `1 * values + 0`, the values themselves:
        # two passes over the draw saved (the RBM draws 128k a step).
        if not (_is_number(minval, 0) and _is_number(maxval, 1)):
            values = (maxval - minval) * values + minval
        return values if len(shape) else values[0]
    if backend != "tensorflow":
        return keras.random.uniform(
            shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed_generator
        )
    import tensorflow as tf

    seed = _tensorflow_seed(seed_generator)
    return tf.random.stateless_uniform(
        shape,
        seed,
        minval=tf.cast(minval, dtype),
        maxval=tf.cast(maxval, dtype),
        dtype=dtype,
        alg="philox",
    )


def random_randint(shape, minval, maxval, dtype, seed_generator):
    """`keras.random.randint(shape, minval, maxval, dtype, seed=seed_generator)`.

    The integer twin of `random_uniform`: Philox named on TensorFlow (Keras's
    values, without XLA's slow default generator on CPU), Keras's generator
    seeded directly on PyTorch, Keras's draw on JAX.
    """
    backend = keras.backend.backend()
    generator = _torch_generator(seed_generator) if backend == "torch" else None
    if generator is not None:
        import torch

        return torch.randint(
            low=minval,
            high=maxval,
            size=shape,
            generator=generator,
            dtype=_torch_dtype(dtype),
            device=generator.device,
        )
    if backend != "tensorflow":
        return keras.random.randint(
            shape, minval, maxval, dtype=dtype, seed=seed_generator
        )
    import tensorflow as tf

    seed = _tensorflow_seed(seed_generator)
    # Keras draws int32 and int64 directly, any other integer dtype as int64.
    intermediate = dtype if dtype in ("int32", "int64") else "int64"
    values = tf.random.stateless_uniform(
        shape, seed, minval, maxval, dtype=intermediate, alg="philox"
    )
    return tf.cast(values, dtype)


# Multi-tensor optimizer rules (used by keras_smithing.optimizers).
def multi_tensor_optimizers():
    """Whether optimizer rules run on every variable at once, with multi-tensor ops.

    On PyTorch, Keras's own optimizers do (`torch._foreach_*` ops): eager
    PyTorch dispatches each op from Python, so a rule written variable by
    variable with `keras.ops` pays that cost once per op per variable. On
    TensorFlow and JAX the step is one compiled graph, where the rule is written
    per variable with `keras.ops`.
    """
    return keras.backend.backend() == "torch"


def assign_if(condition, variables, values_fn, assign):
    """Assigns `values_fn()` (a list of values) to `variables` when `condition` holds.

    On TensorFlow and PyTorch a step in which `condition` is false computes and
    writes nothing: in eager execution a Python branch on its value (read as
    Keras's `ops.cond` reads it on PyTorch, without building a Keras
    operation), in a graph one `ops.cond` that assigns in its true branch. JAX
    cannot assign inside a traced branch: there the `cond` returns
    `values_fn()` or the current values, and every variable is assigned.

    Args:
        condition: Boolean scalar tensor.
        variables: List of `keras.Variable`s.
        values_fn: Function returning their new values, aligned with
            `variables`.
        assign: Function `(variable, value)`, the optimizer's `assign`.
    """

    def assign_all():
        for variable, value in zip(variables, values_fn()):
            assign(variable, value)

    if keras.backend.backend() == "jax":
        values = keras.ops.cond(
            condition, values_fn, lambda: [variable.value for variable in variables]
        )
        for variable, value in zip(variables, values):
            assign(variable, value)
        return
    known = eager_value(condition)
    if known is None:
        keras.ops.cond(condition, assign_all, lambda: None)
    elif known:
        assign_all()


def rectified_adam_step_in_place(
    variables, gradients, slots, beta_1, beta_2, epsilon, scalars
):
    """`RectifiedAdam.update_step` on every variable at once, in place (PyTorch).

    The same float operations in the same order as the `keras.ops` rule, each
    one multi-tensor op over the list, so the values are bit-identical.

    Args:
        variables: List of `keras.Variable`s of one dtype.
        gradients: Their gradients, aligned with `variables`.
        slots: `(momentums, velocities, velocity_hats)`, lists of the variables'
            slots; `velocity_hats` is None without amsgrad.
        beta_1: Float, the first moment's decay rate.
        beta_2: Float, the second moment's decay rate.
        epsilon: Float added to `sqrt(v_hat)`.
        scalars: `(lr_t, (1 - beta_1^t, 1 - beta_2^t), rectified, r_t, ratio)`,
            scalar tensors of the variables' dtype (`rectified` boolean, `ratio`
            the weight-decay rescaling or None).
    """
    import torch

    from keras_smithing.utils.compat import torch_foreach

    lr_t, (correction_1, correction_2), rectified, r, ratio = scalars
    values = [v.value for v in variables]
    momentums, velocities, velocity_hats = (
        None if group is None else [s.value for s in group] for group in slots
    )
    with torch.no_grad():
        grads = [g.to(values[0].dtype) for g in gradients]
        # m <- m + (g - m) (1 - beta_1); v <- v + (g^2 - v) (1 - beta_2).
        steps = torch_foreach("sub")(grads, momentums)
        torch_foreach("mul_")(steps, 1 - beta_1)
        torch_foreach("add_")(momentums, steps)
        steps = torch_foreach("mul")(grads, grads)
        torch_foreach("sub_")(steps, velocities)
        torch_foreach("mul_")(steps, 1 - beta_2)
        torch_foreach("add_")(velocities, steps)
        if velocity_hats is not None:
            torch_foreach("maximum_")(velocity_hats, velocities)
            velocities = velocity_hats
        # lr_t * where(rectified, r m_hat / (sqrt(v_hat) + epsilon), m_hat). A
        # flag on the CPU is read for free (no device to wait for): only the
        # chosen branch is computed. Elsewhere both are, then selected.
        m_hat = torch_foreach("div")(momentums, correction_1)
        choice = eager_value(rectified) if rectified.device.type == "cpu" else None
        updates = m_hat
        if choice is not False:
            denominators = torch_foreach("div")(velocities, correction_2)
            torch_foreach("sqrt_")(denominators)
            torch_foreach("add_")(denominators, epsilon)
            updates = torch_foreach("mul")(m_hat, r)
            torch_foreach("div_")(updates, denominators)
        if choice is None:
            updates = [torch.where(rectified, a, m) for a, m in zip(updates, m_hat)]
        torch_foreach("mul_")(updates, lr_t)
        if ratio is not None:
            torch_foreach("mul_")(values, ratio)
        torch_foreach("sub_")(values, updates)


def clip_unitwise_batched(
    gradients, variables, axes, clip_factor, epsilon, min_gradient_norm
):
    """`AdaptiveGradientClipping`'s clipping of every gradient at once (PyTorch).

    The same float operations as `clip_unitwise` with `keras.ops`, as
    multi-tensor ops where torch has them (products, square roots, bounds,
    ratios) and per tensor for the sums and the selection, so the values are
    bit-identical.

    Args:
        gradients: List of gradient tensors.
        variables: Their `keras.Variable`s, aligned with `gradients`.
        axes: For each gradient, the axes its unit norms sum over (a tuple), or
            None for one norm over the whole tensor.
        clip_factor: Float, the largest ratio of a unit's gradient norm to its
            weight norm.
        epsilon: Float, the floor of the weight norms.
        min_gradient_norm: Float, the floor of the gradient norms in the ratio.

    Returns:
        The list of clipped gradients, each of its gradient's dtype.
    """
    import torch

    from keras_smithing.utils.compat import torch_foreach

    def norms(tensors):
        squares = torch_foreach("mul")(tensors, tensors)
        sums = [
            x.sum() if axis is None else x.sum(dim=axis, keepdim=True)
            for x, axis in zip(squares, axes)
        ]
        torch_foreach("sqrt_")(sums)
        return sums

    with torch.no_grad():
        grads = [g.to(torch.float32) for g in gradients]
        max_norms = norms([v.value.to(torch.float32) for v in variables])
        torch_foreach("clamp_min_")(max_norms, epsilon)
        torch_foreach("mul_")(max_norms, clip_factor)
        grad_norms = norms(grads)
        ratios = torch_foreach("div")(
            max_norms, torch_foreach("clamp_min")(grad_norms, min_gradient_norm)
        )
        factors = [
            torch.where(norm > bound, ratio, 1.0)
            for norm, bound, ratio in zip(grad_norms, max_norms, ratios)
        ]
        clipped = torch_foreach("mul")(grads, factors)
        return [c.to(g.dtype) for c, g in zip(clipped, gradients)]
