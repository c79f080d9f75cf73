"""The one shared test harness: every public object goes through a `check_*` here.

- `check_layer`: Keras's own `run_layer_test` (config round trip, build, symbolic and
  eager calls, a fit step, mixed precision), a mixed-precision *training* call, a
  `.keras` round trip reloaded in a fresh process that imports only keras_smithing
  (identical predictions), a `jit_compile=True` fit step, and same seed -> same output.
  On PyTorch `jit_compile=True` means `torch.compile`, whose tracing of a Keras train
  step takes about a minute per model on CPU: those steps run only with
  `SMITHING_TORCH_COMPILE=1` (`make support` and `make bench-gpu` set it).
- `check_initializer`, `check_constraint`, `check_optimizer`, `check_callback`: the
  equivalents for the other kinds of object.
- `check_saved_model`: the fresh-process `.keras` round trip for any model.
- `check_rejects`: bad arguments and data raise the pack's `ValueError` naming the
  argument (the table of every public callable's bad inputs is
  tests/test_bad_inputs.py).
- `check_distributed_fit`: a data-parallel fit on two devices (`MirroredStrategy` on
  TensorFlow, `keras.distribution.DataParallel` on JAX).
- `check_oracle`: a KerasTuner oracle's state round trip, and a search interrupted
  and resumed from disk (`overwrite=False`) that ends as the uninterrupted one.

`tests/test_registry.py` fails when an object registered under "keras_smithing" is
not named in a call to one of the `check_*` functions.
"""

import atexit
import contextlib
import inspect
import json
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
from keras.src import testing

from tests.support_matrix import record

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_WORKER = None
_STRATEGY = None


def _case():
    case = testing.TestCase()
    case.setUp()
    return case


def random_data(shape, seed=0, dtype="float32"):
    """Standard-normal test data of `shape` (a tuple, or a list of tuples)."""
    rng = np.random.default_rng(seed)
    if isinstance(shape, list):
        return [rng.standard_normal(s).astype(dtype) for s in shape]
    return rng.standard_normal(shape).astype(dtype)


def to_numpy(x, dtype=None):
    """A tensor, variable or array as a NumPy array (detached on PyTorch)."""
    array = keras.ops.convert_to_numpy(x)
    return array if dtype is None else array.astype(dtype)


def batched_datasets(x, y=None, batch_size=32):
    """`(x, y)` (or `x`) as a `tf.data.Dataset` and a torch `DataLoader`.

    Returns:
        A dict `{format: dataset}` holding the formats whose library is installed
        (both work on every Keras backend).
    """
    arrays = x if y is None else (x, y)
    datasets = {}
    try:
        import tensorflow as tf
    except ImportError:
        pass
    else:
        datasets["tf.data"] = tf.data.Dataset.from_tensor_slices(arrays).batch(
            batch_size
        )
    try:
        import torch
    except ImportError:
        pass
    else:
        tensors = [torch.as_tensor(a) for a in (_as_list(arrays))]
        dataset = torch.utils.data.TensorDataset(*tensors)
        datasets["torch DataLoader"] = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size
        )
    assert datasets, "neither TensorFlow nor PyTorch is installed"
    return datasets


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _save_arrays(path, arrays):
    np.savez(path, **{f"a{i}": np.asarray(a) for i, a in enumerate(arrays)})
    return path


def _worker():
    global _WORKER
    if _WORKER is None or _WORKER.poll() is not None:
        env = dict(os.environ, PYTHONPATH=_ROOT, TF_CPP_MIN_LOG_LEVEL="3")
        _WORKER = subprocess.Popen(
            [sys.executable, os.path.join(_ROOT, "tests", "reload_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),
        )
        atexit.register(_WORKER.kill)
    return _WORKER


def reload_in_fresh_process(path, inputs, fit_targets=None, fit_epochs=1):
    """Loads `path` in a process that imported only keras_smithing.

    Optionally fits it on `(inputs, fit_targets)` first (full batch, no shuffle).

    Returns:
        `(outputs, weights_and_optimizer_variables)` as lists of NumPy arrays.
    """
    directory = tempfile.mkdtemp()
    request = {
        "model": os.path.abspath(path),
        "inputs": _save_arrays(os.path.join(directory, "in.npz"), _as_list(inputs)),
        "outputs": os.path.join(directory, "out.npz"),
        "fit": fit_targets is not None
        and _save_arrays(os.path.join(directory, "y.npz"), _as_list(fit_targets)),
        "fit_epochs": fit_epochs,
    }
    worker = _worker()
    worker.stdin.write(json.dumps(request) + "\n")
    worker.stdin.flush()
    answer = json.loads(worker.stdout.readline() or '{"ok": false, "error": "died"}')
    if not answer["ok"]:
        raise AssertionError(f"Fresh-process load of {path} failed:\n{answer['error']}")
    with np.load(request["outputs"]) as data:
        count = int(data["num_outputs"])
        arrays = [data[f"a{i}"] for i in range(len(data.files) - 1)]
    return arrays[:count], arrays[count:]


def _state(model):
    state = [keras.ops.convert_to_numpy(w) for w in model.weights]
    if getattr(model, "optimizer", None) is not None:  # Uncompiled subclasses lack it.
        state += [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    return state


def check_saved_model(model, inputs, fit_targets=None, atol=1e-6, compare_outputs=True):
    """Saves `model` as `.keras`, reloads it in a fresh process, compares.

    Compares predictions (unless `compare_outputs=False`, for models that sample at
    inference) and every weight and optimizer variable. With `fit_targets`, both
    copies are first trained one more full-batch epoch, which checks that the
    optimizer state was restored, not just the weights.
    """
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    outputs, state = reload_in_fresh_process(path, inputs, fit_targets)
    if fit_targets is not None:
        model.fit(
            inputs,
            fit_targets,
            batch_size=len(_as_list(fit_targets)[0]),
            shuffle=False,
            verbose=0,
        )
    expected_state = _state(model)
    assert len(state) == len(expected_state), (
        f"reloaded model has {len(state)} weights+optimizer variables, "
        f"original has {len(expected_state)}"
    )
    for got, want in zip(state, expected_state):
        np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5)
    if compare_outputs:
        expected = keras.tree.flatten(model.predict(inputs, verbose=0))
        for got, want in zip(outputs, expected):
            np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5)
    record(model, "save/load")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and int(keras.ops.convert_to_numpy(optimizer.iterations)):
        record(model, "fit")  # The test trained it before saving.


def jit_modes():
    """The `jit_compile` values to fit with: `(False, True)`, or `(False,)` on
    PyTorch unless `SMITHING_TORCH_COMPILE=1` (see the module docstring)."""
    if keras.backend.backend() == "torch" and not os.environ.get(
        "SMITHING_TORCH_COMPILE"
    ):
        return (False,)
    return (False, True)


def _functional_model(layer, input_shape, call_kwargs=None):
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    inputs = [keras.Input(shape=tuple(s[1:])) for s in shapes]
    outputs = layer(
        inputs if isinstance(input_shape, list) else inputs[0], **(call_kwargs or {})
    )
    return keras.Model(inputs, outputs)


def _accepts_training(layer):
    return "training" in inspect.signature(layer.call).parameters


def check_layer(
    layer_cls,
    init_kwargs,
    input_shape,
    *,
    input_data=None,
    call_kwargs=None,
    model_fn=None,
    stochastic_inference=False,
    stochastic_training=False,
    check_jit=True,
    atol=1e-6,
    **layer_test_kwargs,
):
    """Runs every generic check on a layer class.

    Args:
        layer_cls: The layer class.
        init_kwargs: Constructor arguments, or a function `fn(dtype=None)`
            returning them, called for each new layer (for wrappers, whose
            wrapped layer must be new each time and take the dtype).
        input_shape: Input shape with batch size (a list of shapes for several
            inputs).
        input_data: Optional input arrays; random normal data otherwise.
        call_kwargs: Extra call arguments (for the symbolic and eager calls).
        model_fn: Optional `fn(layer) -> keras.Model` for the save/load and jit
            checks; a functional model around the layer otherwise.
        stochastic_inference: The layer samples at inference (MC dropout): compare
            weights, not predictions, after reload.
        stochastic_training: The layer samples in training only (Bayesian layers,
            DropConnect): compare predictions and weights after reload, but skip
            the extra fit step (the reloaded seed-generator state differs).
        check_jit: Run the `jit_compile=True` fit step.
        atol: Tolerance of the reload comparison.
        **layer_test_kwargs: Passed to `run_layer_test` (expected_output_shape,
            expected_num_trainable_weights, supports_masking, ...).
    """
    x = input_data if input_data is not None else random_data(input_shape)
    make_kwargs = init_kwargs if callable(init_kwargs) else lambda: dict(init_kwargs)
    init_kwargs = make_kwargs()
    case = _case()
    case.run_layer_test(
        layer_cls,
        init_kwargs,
        input_data=x,
        call_kwargs=call_kwargs,
        **layer_test_kwargs,
    )

    def build_model():
        layer = layer_cls(**make_kwargs())
        if model_fn is not None:
            return model_fn(layer)
        return _functional_model(layer, input_shape, call_kwargs)

    # Mixed precision in *training* mode (run_layer_test only calls inference).
    mixed_kwargs = (
        make_kwargs(dtype="mixed_float16")
        if "dtype" in inspect.signature(make_kwargs).parameters
        else {**make_kwargs(), "dtype": "mixed_float16"}
    )
    layer = layer_cls(**mixed_kwargs)
    if _accepts_training(layer):
        out = layer(x, training=True, **(call_kwargs or {}))
        for tensor in keras.tree.flatten(out):
            if keras.backend.is_float_dtype(tensor.dtype):
                assert keras.backend.standardize_dtype(tensor.dtype) == "float16", (
                    f"{layer_cls.__name__} returned {tensor.dtype} in a "
                    "mixed_float16 training call"
                )
    record(layer, "mixed precision")

    # .keras round trip in a fresh process, then one more fit step on both sides.
    model = build_model()
    model.compile(optimizer="adam", loss="mse")
    y = [
        np.zeros(o.shape, "float32")
        for o in keras.tree.flatten(model.predict(x, verbose=0))
    ]
    y = y[0] if len(y) == 1 else y
    trainable = bool(model.trainable_weights) and not (
        stochastic_inference or stochastic_training
    )
    model.fit(x, y, batch_size=len(_as_list(x)[0]), verbose=0, shuffle=False)
    record(model, "fit")
    check_saved_model(
        model,
        x,
        fit_targets=y if trainable else None,
        atol=atol,
        compare_outputs=not stochastic_inference,
    )

    if check_jit and True in jit_modes():
        model = build_model()
        model.compile(optimizer="sgd", loss="mse", jit_compile=True)
        history = model.fit(x, y, batch_size=len(_as_list(x)[0]), verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        model.predict(x, verbose=0)
        record(model, "jit")

    if init_kwargs.get("seed") is not None and _accepts_training(layer):
        outputs, reference = [], None
        for _ in range(2):
            layer = layer_cls(**make_kwargs())
            layer(x, training=False, **(call_kwargs or {}))  # Builds it.
            if reference is None:
                reference = layer.get_weights()
            layer.set_weights(reference)
            outputs.append(
                keras.tree.flatten(layer(x, training=True, **(call_kwargs or {})))
            )
        for a, b in zip(*outputs):
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(a),
                keras.ops.convert_to_numpy(b),
                err_msg=f"{layer_cls.__name__}: same seed gave different outputs",
            )


def _dense_model(input_dim, units, **dense_kwargs):
    inputs = keras.Input(shape=(input_dim,))
    outputs = keras.layers.Dense(units, **dense_kwargs)(inputs)
    return keras.Model(inputs, outputs)


def check_initializer(initializer_cls, init_kwargs, shapes=((4, 4),)):
    """Config round trip, shapes and dtypes, seeding, and use in a saved model.

    Args:
        initializer_cls: The initializer class.
        init_kwargs: Constructor arguments.
        shapes: Shapes to draw; the first must be a 2-D `(input_dim, units)` shape
            for the Dense model that is saved and reloaded.
    """
    case = _case()
    initializer = initializer_cls(**init_kwargs)
    case.run_class_serialization_test(initializer)
    rebuilt = keras.initializers.deserialize(keras.initializers.serialize(initializer))
    assert rebuilt.get_config() == initializer.get_config()
    for shape in shapes:
        for dtype in ("float32", "float16"):
            value = initializer(shape, dtype=dtype)
            assert tuple(value.shape) == tuple(shape)
            assert keras.backend.standardize_dtype(value.dtype) == dtype
            assert np.all(np.isfinite(keras.ops.convert_to_numpy(value)))
        record(initializer, "mixed precision")
    if "seed" in init_kwargs and init_kwargs["seed"] is not None:
        a = initializer_cls(**init_kwargs)(shapes[0])
        b = initializer_cls(**init_kwargs)(shapes[0])
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        )
    input_dim, units = shapes[0]
    model = _dense_model(input_dim, units, kernel_initializer=initializer)
    model.compile(optimizer="sgd", loss="mse")
    check_saved_model(model, random_data((8, input_dim)))
    layer = model.layers[-1]
    config = keras.layers.deserialize(keras.layers.serialize(layer)).get_config()
    assert config["kernel_initializer"] == layer.get_config()["kernel_initializer"]


def check_constraint(constraint_cls, init_kwargs, shape=(6, 4), idempotent=True):
    """Config round trip, shape/dtype, idempotence, and a fit + save with it."""
    case = _case()
    constraint = constraint_cls(**init_kwargs)
    case.run_class_serialization_test(constraint)
    w = keras.ops.convert_to_tensor(random_data(shape))
    projected = constraint(w)
    assert tuple(projected.shape) == tuple(shape)
    assert keras.backend.standardize_dtype(projected.dtype) == "float32"
    if idempotent:
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(constraint(projected)),
            keras.ops.convert_to_numpy(projected),
            atol=1e-4,
        )
    input_dim, units = shape
    x, y = random_data((16, input_dim)), random_data((16, units), seed=1)
    for jit_compile in jit_modes():
        model = _dense_model(input_dim, units, kernel_constraint=constraint)
        model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
        model.fit(x, y, epochs=2, verbose=0)
        record(model, "jit" if jit_compile else "fit")
    check_saved_model(model, x, fit_targets=y, atol=1e-5)


def check_optimizer(optimizer_fn, steps=3, atol=1e-5):
    """Fit steps (eager-free default, jit, mixed precision), config and state I/O.

    Args:
        optimizer_fn: Zero-argument callable returning a fresh optimizer (the class
            must appear in the call for the registry check, e.g.
            `lambda: Lookahead(keras.optimizers.SGD(0.1))`).
        steps: Full-batch steps to take before saving.
        atol: Tolerance of the reload comparison.
    """
    case = _case()
    optimizer = optimizer_fn()
    case.run_class_serialization_test(optimizer)
    rebuilt = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert rebuilt.get_config() == optimizer.get_config()
    x, y = random_data((32, 5)), random_data((32, 2), seed=1)

    def make_model():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((5,))
        hidden = keras.layers.Dense(8, activation="tanh", name="hidden")(inputs)
        return keras.Model(inputs, keras.layers.Dense(2, name="head")(hidden))

    for jit_compile in reversed(jit_modes()):
        model = make_model()
        initial = model.get_weights()
        model.compile(optimizer=optimizer_fn(), loss="mse", jit_compile=jit_compile)
        history = model.fit(x, y, batch_size=32, epochs=steps, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        changed = [not np.allclose(a, b) for a, b in zip(initial, model.get_weights())]
        assert any(changed), "the optimizer changed no weight"
        record(model, "jit" if jit_compile else "fit")
    check_saved_model(model, x, fit_targets=y, atol=atol)

    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        model = make_model()
        model.compile(
            optimizer=keras.optimizers.LossScaleOptimizer(optimizer_fn()), loss="mse"
        )
        history = model.fit(x, y, batch_size=32, epochs=steps, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        record(model, "mixed precision")
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def check_callback(callback, model=None, x=None, y=None, epochs=2, **fit_kwargs):
    """A short `fit` with the callback, and a config round trip where it has one.

    Returns:
        The `History` of the fit, for further assertions.
    """
    if model is None:
        model = _dense_model(4, 1)
        model.compile(optimizer="sgd", loss="mse")
    if x is None:
        x, y = random_data((32, 4)), random_data((32, 1), seed=1)
    history = model.fit(
        x, y, epochs=epochs, verbose=0, callbacks=[callback], **fit_kwargs
    )
    record(callback, "fit")
    if hasattr(callback, "get_config"):
        config = callback.get_config()
        assert type(callback).from_config(config).get_config() == config
    return history


def check_rejects(target, cases):
    """Each bad call raises the pack's `ValueError` naming its argument.

    Args:
        target: The public class or function the calls exercise.
        cases: `(argument, call)` pairs: `call()` makes one bad call, which must
            raise a `ValueError` whose message names `argument` in backquotes and
            shows what was received (the pack's `invalid_argument` shape).
    """
    for argument, call in cases:
        try:
            call()
        except ValueError as error:
            message = str(error)
        except Exception as error:  # noqa: BLE001  (reported as the failure)
            raise AssertionError(
                f"{target.__name__}: `{argument}` raised {type(error).__name__}, "
                f"not ValueError: {error}"
            ) from error
        else:
            raise AssertionError(f"{target.__name__}: no ValueError for `{argument}`")
        assert f"`{argument}`" in message and "Received" in message, (
            f"{target.__name__}: the error does not name `{argument}` in the pack's "
            f"shape: {message}"
        )


def _distribution_scopes():
    """`(build_scope, fit_scope)` of a two-device data-parallel run."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        global _STRATEGY
        if _STRATEGY is None:
            # One strategy per session: each new MirroredStrategy restarts its
            # collective keys, and a reused key with a different gradient size
            # aborts the collective ops of every later test ("Shape mismatch in
            # the collective instance").
            devices = tf.config.list_logical_devices("CPU")
            assert len(devices) >= 2, "conftest.py must create two logical CPUs"
            _STRATEGY = tf.distribute.MirroredStrategy([d.name for d in devices[:2]])
        return _STRATEGY.scope(), contextlib.nullcontext()
    if backend == "jax":
        devices = keras.distribution.list_devices("cpu")
        assert len(devices) >= 2, "conftest.py must set two XLA host devices"
        distribution = keras.distribution.DataParallel(devices=devices[:2])
        return distribution.scope(), distribution.scope()
    raise AssertionError(
        f"Keras has no distribution API on {backend}: mark the test `distributed`"
    )


def check_distributed_fit(
    model_fn,
    x,
    y,
    loss="mse",
    optimizer_fn=None,
    epochs=1,
    callbacks=None,
    monitor="loss",
):
    """Builds and fits `model_fn()` data-parallel on two devices.

    TensorFlow: `tf.distribute.MirroredStrategy` on two logical CPUs. JAX:
    `keras.distribution.DataParallel` on two XLA host devices. `callbacks`
    (optional) are passed to `fit`, for callbacks that keep state. `monitor` is the
    history entry that must stay finite (models with a custom `train_step` may
    report no "loss").

    Returns:
        The trained model.
    """
    build_scope, fit_scope = _distribution_scopes()
    with build_scope:
        model = model_fn()
        optimizer = optimizer_fn() if optimizer_fn else keras.optimizers.SGD(0.01)
        model.compile(optimizer=optimizer, loss=loss)
    with fit_scope:
        history = model.fit(
            x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=callbacks
        )
    assert np.all(np.isfinite(history.history[monitor]))
    if keras.backend.backend() == "jax":  # Replicated over both devices.
        for variable in model.variables:
            assert len(variable.value.sharding.device_set) == 2, variable.path
    record([model, *(callbacks or [])], "distribution")
    return model


def _run_oracle(oracle, run_trial, count):
    for _ in range(count):
        trial = oracle.create_trial("tuner0")
        assert trial.status == "RUNNING", f"the oracle stopped early: {trial.status}"
        trial.status = run_trial(oracle, trial)
        oracle.end_trial(trial)


def _comparable_state(state):
    """An oracle state through JSON, without its progress display (timestamps)."""
    state = {k: v for k, v in state.items() if k != "display"}
    # A set in the oracle: its list order follows string hashing.
    state["tried_so_far"] = sorted(state.get("tried_so_far", []))
    return json.loads(json.dumps(state))


def _assert_same_state(state, expected):
    different = sorted(
        k for k in expected.keys() | state.keys() if state.get(k) != expected.get(k)
    )
    assert not different, {k: (state.get(k), expected.get(k)) for k in different}


def _trial_summaries(oracle):
    return {
        trial_id: (trial.hyperparameters.values, trial.status, trial.score)
        for trial_id, trial in oracle.trials.items()
    }


def check_oracle(make_oracle, run_trial, num_trials, directory, interrupt_after=None):
    """A KerasTuner oracle's state round trip and resumed search.

    Runs `num_trials` trials in `make_oracle()`; runs them again in a second
    oracle that is killed, after `interrupt_after` trials (default: half) and as
    the next trial starts, and replaced by a fresh `make_oracle()` reloaded from
    disk, as a search restarted with `overwrite=False` is (it re-runs that trial). Both searches must end with the same trials (values,
    status, score) and the same state; the state must survive JSON and
    `set_state` into a fresh oracle.

    Args:
        make_oracle: Function returning a new oracle (the same arguments each call).
        run_trial: Function `(oracle, trial) -> status` that reports the trial's
            metrics with `oracle.update_trial`, deterministically from its
            hyperparameter values and id, and returns the status to end it with.
        num_trials: Integer, trials to run.
        directory: A fresh directory for the oracles' projects.

    Returns:
        The uninterrupted oracle, for further assertions.
    """
    directory = str(directory)
    reference = make_oracle()
    reference._set_project_dir(directory, "reference")
    _run_oracle(reference, run_trial, num_trials)

    interrupt_after = num_trials // 2 if interrupt_after is None else interrupt_after
    interrupted = make_oracle()
    interrupted._set_project_dir(directory, "resumed")
    _run_oracle(interrupted, run_trial, interrupt_after)
    interrupted.create_trial("tuner0")  # Killed before the trial reports.
    resumed = make_oracle()
    resumed._set_project_dir(directory, "resumed")
    resumed.reload()
    _run_oracle(resumed, run_trial, num_trials - interrupt_after)
    assert _trial_summaries(resumed) == _trial_summaries(reference)
    state = _comparable_state(reference.get_state())
    _assert_same_state(_comparable_state(resumed.get_state()), state)

    restored = make_oracle()
    restored._set_project_dir(directory, "restored")
    restored.trials = dict(reference.trials)
    restored.set_state(json.loads(json.dumps(reference.get_state())))
    _assert_same_state(_comparable_state(restored.get_state()), state)
    return reference
