"""Each private Keras internal used by keras_smithing/utils/compat.py still works,
and no other module of the package uses one."""

import ast
import pathlib

import keras
import numpy as np
import pytest

from keras_smithing.utils import compat


def test_learning_rate_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    optimizer = keras.optimizers.SGD(schedule)
    assert hasattr(optimizer, "_learning_rate"), (
        "Keras optimizers no longer keep their learning rate in `_learning_rate`: "
        "update keras_smithing.utils.compat.learning_rate_schedule"
    )
    assert compat.learning_rate_schedule(optimizer) is schedule, (
        "`optimizer._learning_rate` no longer holds the schedule object: update "
        "keras_smithing.utils.compat.learning_rate_schedule"
    )
    assert compat.learning_rate_schedule(keras.optimizers.SGD(0.1)) is None
    optimizer.learning_rate = keras.optimizers.schedules.CosineDecay(0.1, 10)
    assert isinstance(
        compat.learning_rate_schedule(optimizer),
        keras.optimizers.schedules.CosineDecay,
    )


def test_flatten_layers_reaches_nested_models_and_layers():
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="inner")])
    pipeline = keras.layers.Pipeline([keras.layers.GaussianNoise(0.1, name="noise")])
    inputs = keras.Input((3,))
    model = keras.Model(inputs, inner(pipeline(inputs)))
    names = [layer.name for layer in compat.flatten_layers(model)]
    assert {"inner", "noise", pipeline.name, inner.name} <= set(names)
    assert model.name not in names
    assert compat.flatten_layers(model, include_self=True)[0] is model
    assert len(names) == len(set(names))


def test_in_symbolic_build():
    from keras.src.backend.common.symbolic_scope import SymbolicScope

    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x):
            seen.append(compat.in_symbolic_build())
            return x

    assert not compat.in_symbolic_build()
    with SymbolicScope():
        assert compat.in_symbolic_build(), "Keras's symbolic scope moved"
    probe = Probe()
    keras.Sequential([keras.Input((2,)), probe]).predict(np.ones((1, 2)), verbose=0)
    assert seen[-1] is False


def test_in_stateless_scope():
    assert not compat.in_stateless_scope()
    with keras.StatelessScope():
        assert compat.in_stateless_scope(), "Keras's stateless scope moved"
    assert not compat.in_stateless_scope()


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch only")
def test_torch_device():
    assert compat.torch_device() == keras.ops.zeros(()).device.type, (
        "Keras's PyTorch backend no longer reports its device through "
        "`keras.src.backend.torch.core.get_device`: update compat.torch_device"
    )
    with keras.device("meta"):
        assert compat.torch_device() == "meta"


def test_reduce_lr_on_plateau_base_hook():
    calls = []

    class Spy(compat.ReduceLROnPlateauBase):
        def reduce_learning_rate(self, optimizer, epoch, name=""):
            calls.append(epoch)
            return super().reduce_learning_rate(optimizer, epoch, name)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")  # The loss never improves.
    spy = Spy(monitor="loss", factor=0.5, patience=1, min_delta=1.0)
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, callbacks=[spy], verbose=0)
    assert calls == [1, 2], (
        "Keras's ReduceLROnPlateau no longer reduces through "
        "`_reduce_optimizer_lr`: update keras_smithing.utils.compat.ReduceLROnPlateauBase"
    )
    # No learning rate to halve from 0: Keras's own step ran and found nothing to do.
    model.compile(keras.optimizers.SGD(0.2), "mse")
    spy = Spy(monitor="loss", factor=0.5, patience=1, min_delta=1e9)
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, callbacks=[spy], verbose=0)
    assert np.isclose(float(model.optimizer.learning_rate), 0.1)


def test_oracle_has_tried(tmp_path):
    keras_tuner = pytest.importorskip("keras_tuner")
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective="loss", max_trials=2, hyperparameters=hp, seed=1
    )
    oracle._set_project_dir(str(tmp_path), "search")  # What a Tuner does.
    trial = oracle.create_trial("tuner0")
    tried = dict(trial.hyperparameters.values)
    assert hasattr(oracle, "_duplicate"), (
        "KerasTuner's Oracle lost `_duplicate`: update "
        "keras_smithing.utils.compat.oracle_has_tried"
    )
    assert compat.oracle_has_tried(oracle, tried)
    assert not compat.oracle_has_tried(oracle, {"x": tried["x"] + 0.5})


def test_load_trial_checkpoint(tmp_path):
    keras_tuner = pytest.importorskip("keras_tuner")

    def build(hp):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        return model

    tuner = keras_tuner.RandomSearch(
        build, "loss", max_trials=1, directory=str(tmp_path), project_name="p"
    )
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    tuner.search(x, x[:, :1], epochs=2, verbose=0)
    assert hasattr(tuner, "_get_checkpoint_fname") and hasattr(
        tuner, "_get_build_config_fname"
    ), (
        "KerasTuner's Tuner lost `_get_checkpoint_fname` or "
        "`_get_build_config_fname`: update "
        "keras_smithing.utils.compat.load_trial_checkpoint"
    )
    trial_id = next(iter(tuner.oracle.trials))
    model = build(None)
    compat.load_trial_checkpoint(tuner, model, trial_id)
    saved = tuner.load_model(tuner.oracle.trials[trial_id])
    for ours, theirs in zip(model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="saved no checkpoint"):
        compat.load_trial_checkpoint(tuner, model, "missing")


def _scripted_search(tmp_path, mixin, monkeypatch, scripts, objective="val_loss"):
    """A one-trial search whose executions report `scripts[execution]` as their
    `val_loss`; returns the writes of the checkpoint, the weights of every
    epoch (by execution) and the checkpoint's weights."""
    keras_tuner = pytest.importorskip("keras_tuner")
    from keras_tuner.src.engine import tuner_utils

    writes = []
    save_model = tuner_utils.SaveBestEpoch._save_model

    def counted(saver):
        writes.append(saver.model.get_weights())
        save_model(saver)

    monkeypatch.setattr(tuner_utils.SaveBestEpoch, "_save_model", counted)
    epochs = []  # Per execution, the weights at the end of each epoch.

    class Scripted(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            epochs.append([])

        def on_epoch_end(self, epoch, logs=None):
            # The same `logs` reach the tuner's callbacks after this one.
            logs["val_loss"] = scripts[len(epochs) - 1][epoch]
            epochs[-1].append(self.model.get_weights())

    class HyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(keras.optimizers.SGD(0.1), "mse")
            return model

        def fit(self, hp, model, x, y, **kwargs):
            n = len(scripts[len(epochs)])
            history = model.fit(x, y, epochs=n, **kwargs)
            last = epochs[-1][-1]
            for ours, theirs in zip(model.get_weights(), last):
                np.testing.assert_array_equal(ours, theirs)  # Left as trained.
            return history if objective == "val_loss" else {objective: 1.0}

    class Tuner(*mixin, keras_tuner.RandomSearch):
        pass

    tuner = Tuner(
        HyperModel(),
        keras_tuner.Objective(objective, "min"),
        max_trials=1,
        executions_per_trial=len(scripts),
        directory=str(tmp_path),
        project_name="p",
    )
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    tuner.search(x, x[:, :1], callbacks=[Scripted()], verbose=0)
    trial = next(iter(tuner.oracle.trials.values()))
    saved = tuner.load_model(trial).get_weights()
    return writes, epochs, saved


def test_best_epoch_written_once(tmp_path, monkeypatch):
    # Improving epochs: 0, 1 and 3 of the first execution, 2 of the second (the
    # best of the trial); the last epoch of each does not improve.
    scripts = [[3.0, 2.0, 2.5, 1.0, 1.5], [4.0, 3.0, 0.5, 0.8]]
    theirs = _scripted_search(tmp_path / "kt", (), monkeypatch, scripts)
    assert len(theirs[0]) == 4, (
        "KerasTuner's `SaveBestEpoch` no longer writes at each improving epoch "
        "through `_save_model`: update keras_smithing.utils.compat."
        "BestEpochWrittenOnce"
    )
    writes, epochs, saved = _scripted_search(
        tmp_path / "ours", (compat.BestEpochWrittenOnce,), monkeypatch, scripts
    )
    assert len(writes) == 2  # One write per execution that improved.
    for expected, written in zip([epochs[0][3], epochs[1][2]], writes):
        for a, b in zip(expected, written):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(epochs[1][2], saved):  # The checkpoint: the trial's best.
        np.testing.assert_array_equal(a, b)
    for a, b in zip(theirs[2], theirs[1][1][2]):  # KerasTuner's, the same epoch.
        np.testing.assert_array_equal(a, b)


def test_best_epoch_written_once_keeps_every_epoch_without_the_objective(
    tmp_path, monkeypatch
):
    # `fit` returns the objective after training: the epochs' logs lack it,
    # and KerasTuner's rule writes at every epoch.
    writes, epochs, _ = _scripted_search(
        tmp_path,
        (compat.BestEpochWrittenOnce,),
        monkeypatch,
        [[3.0, 2.0, 2.5]],
        objective="score",
    )
    assert len(writes) == 3


def test_batched_update_step_hook():
    calls = []

    class Spy(compat.BatchedUpdateOptimizer):
        def update_step(self, gradient, variable, learning_rate):
            self.assign_sub(variable, learning_rate * gradient)

        def batched_update_step(self, grads, trainable_variables, learning_rate):
            calls.append(len(grads))
            super().batched_update_step(grads, trainable_variables, learning_rate)

    variables = [keras.Variable(np.ones(2, "float32")), keras.Variable(1.0)]
    Spy(learning_rate=0.5).apply([np.ones(2, "float32"), 2.0], variables)
    assert calls == [2], (
        "Keras's optimizers no longer update through `_backend_update_step`: "
        "update keras_smithing.utils.compat.BatchedUpdateOptimizer"
    )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(variables[0]), [0.5, 0.5])
    assert float(keras.ops.convert_to_numpy(variables[1])) == 0.0


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch only")
def test_torch_foreach():
    import torch

    tensors = [torch.ones(2), torch.full((1, 3), 2.0)]
    compat.torch_foreach("mul_")(tensors, 3.0)
    products = compat.torch_foreach("mul")(tensors, tensors)
    assert [p.tolist() for p in products] == [[9.0, 9.0], [[36.0, 36.0, 36.0]]]


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch only")
def test_torch_weight_norm():
    import torch

    v = torch.tensor([[3.0, 0.0], [4.0, 2.0]])
    w, norms = compat.torch_weight_norm(v, torch.tensor([[2.0, 1.0]]), 1)
    assert norms.flatten().tolist() == [5.0, 2.0], (
        "torch's `_weight_norm_interface` changed: update compat.torch_weight_norm"
    )
    np.testing.assert_allclose(w.numpy(), [[1.2, 0.0], [1.6, 1.0]], rtol=1e-6)


def test_variable_index_and_built_variables():
    variables = [keras.Variable(np.zeros(2)), keras.Variable(np.zeros(3))]
    optimizer = keras.optimizers.Adam()
    optimizer.build(variables)
    assert [compat.variable_index(optimizer, v) for v in variables[::-1]] == [1, 0], (
        "`Optimizer._get_variable_index` changed: update "
        "keras_smithing.utils.compat.variable_index"
    )
    assert [id(v) for v in compat.built_variables(optimizer)] == [
        id(v) for v in variables
    ], "`Optimizer._trainable_variables` changed: update compat.built_variables"


def test_add_and_remove_optimizer_variables():
    optimizer = keras.optimizers.Adam()
    optimizer.build([keras.Variable(np.zeros(2))])
    before = list(optimizer.variables)
    extra = optimizer.add_variable((2,), name="extra")
    assert compat.optimizer_tracks(optimizer, extra), (
        "`Optimizer._tracker` changed: update compat.optimizer_tracks"
    )
    compat.remove_optimizer_variables(optimizer, [extra])
    assert [id(v) for v in optimizer.variables] == [id(v) for v in before], (
        "`Optimizer._untrack_variable` changed: update "
        "compat.remove_optimizer_variables"
    )
    assert not compat.optimizer_tracks(optimizer, extra), (
        "`Optimizer._untrack_variable` left the variable in the tracker: update "
        "compat.remove_optimizer_variables"
    )
    assert all(compat.optimizer_tracks(optimizer, v) for v in before)
    compat.add_optimizer_variables(optimizer, [extra])
    assert optimizer.variables[-1] is extra, (
        "`Optimizer._track_variable` changed: update compat.add_optimizer_variables"
    )
    assert compat.optimizer_tracks(optimizer, extra)
    assert len(optimizer.variables) == len(before) + 1


# Keras and KerasTuner base classes whose private methods the pack must not override
# outside the seam.
def _bases():
    bases = [
        keras.layers.Layer,
        keras.layers.RNN,
        keras.layers.Wrapper,
        keras.Model,
        keras.optimizers.Optimizer,
        keras.optimizers.schedules.LearningRateSchedule,
        keras.callbacks.Callback,
        keras.callbacks.ReduceLROnPlateau,
        keras.initializers.Initializer,
        keras.constraints.Constraint,
    ]
    try:
        import keras_tuner
    except ImportError:
        return bases
    return bases + [keras_tuner.Oracle, keras_tuner.Tuner, keras_tuner.HyperModel]


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def test_only_the_seam_touches_private_internals():
    """Outside compat.py the package reads no private name it does not define,
    overrides no private hook of a Keras or KerasTuner base class, and imports
    nothing from `keras.src` or `keras_tuner.src`."""
    root = pathlib.Path(compat.__file__).parent.parent
    seam = pathlib.Path(compat.__file__)
    bases = _bases()
    own, uses, found = set(), [], []
    for path in sorted(root.rglob("*.py")):
        if path == seam:
            continue
        where = path.relative_to(root.parent)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and _private(node.name):
                own.add(node.name)
            elif isinstance(node, ast.ClassDef):
                own.add(node.name)
                # On PyTorch the bases include torch.nn.Module, whose private
                # methods (`_apply`, ...) a method of the same name would override.
                found += [
                    f"{where}:{method.lineno} overrides {method.name}"
                    for method in node.body
                    if isinstance(method, ast.FunctionDef)
                    and _private(method.name)
                    and any(hasattr(base, method.name) for base in bases)
                ]
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                if isinstance(node.ctx, ast.Store):
                    own.add(node.attr)
                uses.append((where, node.lineno, node.attr))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.ImportFrom) and ".src" in (node.module or ""):
                found.append(f"{where}:{node.lineno} imports {node.module}")
            elif isinstance(node, ast.Import):
                found += [
                    f"{where}:{node.lineno} imports {alias.name}"
                    for alias in node.names
                    if ".src" in alias.name
                ]
    found += [f"{w}:{line} reads {name}" for w, line, name in uses if name not in own]
    assert not found, (
        "private Keras/KerasTuner internals outside keras_smithing/utils/compat.py "
        "(wrap each in a compat function with a test here):\n" + "\n".join(found)
    )
