import os
import tempfile
import warnings

import keras
import numpy as np
import pytest

from keras_smithing.callbacks import WeightPruning
from keras_smithing.layers import LayerNormLSTM
from keras_smithing.optimizers import Lookahead
from keras_smithing.utils import compat
from tests import harness

X = harness.random_data((64, 16))
Y = harness.random_data((64, 1), seed=1)


def build_mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(8, activation="relu", name="hidden"),
            keras.layers.Dense(1, name="head"),
        ]
    )


def mlp(optimizer=None, jit_compile="auto"):
    model = build_mlp()
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(0.01),
        loss="mse",
        jit_compile=jit_compile,
    )
    return model


def kernels(model):
    return {
        layer.name: harness.to_numpy(layer.kernel)
        for layer in model.layers
        if hasattr(layer, "kernel")
    }


def expected_zeros(sparsity, size):
    return int(np.floor(sparsity * size + 0.5))


class ZeroRecorder(keras.callbacks.Callback):
    """The zero pattern of every kernel as each training step begins (what its
    forward pass sees), and once more at the end of training."""

    def on_train_begin(self, logs=None):
        self.zeros = []

    def on_train_batch_begin(self, batch, logs=None):
        self.zeros.append({k: v == 0 for k, v in kernels(self.model).items()})

    def on_train_end(self, logs=None):
        self.on_train_batch_begin(None)


def test_harness():
    harness.check_callback(callback := WeightPruning(0.5, frequency=1), epochs=2)
    assert callback.history["sparsity"][-1] == 0.5
    (mask,) = callback.masks.values()
    assert mask.sum() == 2  # 2 of the 4 kernel weights are kept.


@pytest.mark.parametrize("jit_compile", harness.jit_modes())
def test_schedule_follows_the_cubic_formula_and_pruned_weights_stay_zero(jit_compile):
    # 8 steps per epoch; pruning from step 8 (epoch 1) to step 24 (epoch 3), then
    # one epoch of Adam (momentum in its moments) at the final sparsity.
    model, recorder = mlp(jit_compile=jit_compile), ZeroRecorder()
    s_i, s_f, t0, t_end, frequency = 0.1, 0.8, 8, 24, 3
    pruning = WeightPruning(
        s_f, start_epoch=1, end_epoch=3, frequency=frequency, initial_sparsity=s_i
    )
    history = model.fit(
        X, Y, batch_size=8, epochs=4, verbose=0, callbacks=[pruning, recorder]
    )
    steps = [8, 11, 14, 17, 20, 23, 24]  # Every 3 steps from t0, plus t_end.
    reference = [s_f + (s_i - s_f) * (1 - (t - t0) / (t_end - t0)) ** 3 for t in steps]
    assert pruning.history["step"] == steps
    np.testing.assert_allclose(pruning.history["sparsity"], reference, rtol=1e-12)
    sizes = {name: kernel.size for name, kernel in kernels(model).items()}
    for completed, zeros in enumerate(recorder.zeros):
        done = [s for s in steps if s <= completed]
        scheduled = reference[len(done) - 1] if done else 0.0
        for name, pattern in zeros.items():
            assert pattern.sum() == expected_zeros(scheduled, sizes[name]), (
                completed,
                name,
            )
    # Once pruned, always zero: the final pattern holds every earlier one, and the
    # last epoch (8 more Adam steps) regrew nothing.
    final = recorder.zeros[-1]
    for zeros in recorder.zeros:
        for name, pattern in zeros.items():
            assert np.all(final[name][pattern])
    for zeros in recorder.zeros[t_end:]:
        for name, pattern in zeros.items():
            np.testing.assert_array_equal(pattern, final[name])
    for name, mask in zip(("hidden", "head"), pruning.masks.values()):
        np.testing.assert_array_equal(final[name], ~mask)
    assert history.history["pruning_sparsity"][-1] == pytest.approx(
        (102 + 6) / 136  # round(0.8 * 128) and round(0.8 * 8) of 136 weights.
    )
    assert pruning.sparsity() == history.history["pruning_sparsity"][-1]


@pytest.mark.parametrize("probe_batch_size", [1, 4])
def test_saliency_ranks_by_obd_with_the_empirical_fisher(probe_batch_size):
    # A linear layer under MSE has closed-form per-example gradients
    # dL_n/dW = (2 / units) x_n^T (x_n W + b - y_n); learning rate 0 keeps W fixed,
    # so one update at the end of the single step prunes the initial weights.
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 4)).astype("float32")
    x[:, 0] *= 10.0  # Input 0's weights get a large curvature.
    y = rng.standard_normal((8, 3)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    kernel, bias = (harness.to_numpy(w).astype("float64") for w in model.weights)
    pruning = WeightPruning(
        0.5,
        criterion="saliency",
        end_epoch=1,
        frequency=1,
        probe_data=(x, y),
        probe_batch_size=probe_batch_size,
    )
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[pruning])
    gradients = []
    for start in range(0, 8, probe_batch_size):
        xb, yb = (
            x[start : start + probe_batch_size],
            y[start : start + probe_batch_size],
        )
        residual = xb @ kernel + bias - yb
        gradients.append(2.0 / 3.0 * xb.T @ residual / len(xb))
    curvature = np.mean(np.square(gradients), axis=0)
    saliency = 0.5 * curvature * kernel**2
    expected = np.ones(12, dtype=bool)
    expected[np.argsort(saliency.ravel())[:6]] = False
    (mask,) = pruning.masks.values()
    np.testing.assert_array_equal(mask.ravel(), expected)
    np.testing.assert_array_equal(harness.to_numpy(model.weights[0]) == 0, ~mask)
    by_magnitude = np.abs(kernel) > np.median(np.abs(kernel))
    assert not np.array_equal(mask, by_magnitude)  # The criteria disagree here.


def conv_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 2))
    h = keras.layers.Conv1D(4, 3, name="conv")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(6, activation="relu", name="dense_a")(h)
    model = keras.Model(inputs, keras.layers.Dense(1, name="dense_b")(h))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    return model


def test_default_kernels_and_layers_argument():
    x, y = harness.random_data((32, 8, 2)), harness.random_data((32, 1), seed=1)
    model = conv_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[WeightPruning(0.75, frequency=1)])
    for name in ("conv", "dense_a", "dense_b"):
        layer = model.get_layer(name)
        kernel = harness.to_numpy(layer.kernel)
        assert (kernel == 0).sum() == expected_zeros(0.75, kernel.size), name
        assert np.all(harness.to_numpy(layer.bias) != 0), name
    for weight in model.get_layer("bn").weights:
        assert np.all(harness.to_numpy(weight) != 0), weight.path
    model = conv_model()
    layer = model.get_layer("dense_b")
    pruning = WeightPruning(0.5, frequency=1, layers=["dense_a", layer])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[pruning])
    assert list(pruning.masks) == ["dense_a/kernel", "dense_b/kernel"]
    assert np.all(harness.to_numpy(model.get_layer("conv").kernel) != 0)
    assert pruning.get_config()["layers"] == ["dense_a", "dense_b"]


def test_saved_model_is_plain_keras_with_zeros():
    model = mlp()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[WeightPruning(0.9, frequency=2)])
    harness.check_saved_model(model, X, fit_targets=Y)  # Fresh process, no callback.
    model = mlp()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[WeightPruning(0.9, frequency=2)])
    path = os.path.join(tempfile.mkdtemp(), "pruned.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, custom_objects={})
    assert [type(layer) for layer in loaded.layers] == [keras.layers.Dense] * 2
    for name, kernel in kernels(loaded).items():
        assert (kernel == 0).sum() == expected_zeros(0.9, kernel.size), name


def zero_counts(model):
    return {name: int((kernel == 0).sum()) for name, kernel in kernels(model).items()}


def test_fit_leaves_optimizer_and_constraints_as_they_were():
    model = build_mlp()
    max_norm = keras.constraints.MaxNorm(0.5)
    model.get_layer("hidden").kernel.constraint = max_norm
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    names = [v.path for v in model.optimizer.variables]
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[WeightPruning(0.5, frequency=1)])
    assert [v.path for v in model.optimizer.variables] == names
    assert model.get_layer("hidden").kernel.constraint is max_norm
    assert model.get_layer("head").kernel.constraint is None
    # The constraint held during the fit: the kept columns stay within the norm.
    norms = np.linalg.norm(kernels(model)["hidden"], axis=0)
    assert np.all(norms <= 0.5 + 1e-6)
    # A later fit without the callback is traced without the masks: zeros regrow.
    pruned = zero_counts(model)
    model.fit(X, Y, epochs=1, verbose=0)
    assert all(zero_counts(model)[name] < pruned[name] for name in pruned)
    # And a new pruning fit masks again.
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[WeightPruning(0.75, frequency=1)])
    for name, kernel in kernels(model).items():
        assert (kernel == 0).sum() == expected_zeros(0.75, kernel.size), name


def test_a_second_fit_reuses_the_masked_train_function():
    class Functions(keras.callbacks.Callback):
        seen = []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append(self.model.train_function)

    model = mlp()
    model.fit(X, Y, epochs=1, verbose=0)
    plain = model.train_function
    pruning = WeightPruning(0.5, frequency=1)
    for _ in range(2):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[pruning, Functions()])
        assert model.train_function is plain
        for (name, kernel), mask in zip(kernels(model).items(), pruning.masks.values()):
            assert (kernel == 0).sum() == expected_zeros(0.5, kernel.size), name
            np.testing.assert_array_equal(kernel != 0, mask)
    first, second = Functions.seen[0], Functions.seen[-1]
    assert first is second and first is not plain


def test_an_interrupted_fit_is_undone_by_the_next():
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    model = build_mlp()
    max_norm = keras.constraints.MaxNorm(0.5)
    model.get_layer("hidden").kernel.constraint = max_norm
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    count = len(model.optimizer.variables)
    pruning = WeightPruning(0.5, frequency=1)
    with pytest.raises(KeyboardInterrupt):  # Keras skips on_train_end.
        model.fit(X, Y, epochs=2, verbose=0, callbacks=[pruning, Interrupt()])
    assert len(model.optimizer.variables) == count + 2  # The two masks.
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[pruning])
    assert len(model.optimizer.variables) == count
    assert model.get_layer("hidden").kernel.constraint is max_norm
    for (name, kernel), mask in zip(kernels(model).items(), pruning.masks.values()):
        assert (kernel == 0).sum() == expected_zeros(0.5, kernel.size), name
        np.testing.assert_array_equal(kernel != 0, mask)


def test_a_refused_fit_leaves_the_model_alone():
    model = mlp()
    model.fit(X, Y, epochs=1, verbose=0)
    count = len(model.optimizer.variables)
    pruning = WeightPruning(0.5, criterion="saliency", probe_data=(X[:4, :3], Y[:4]))
    with pytest.raises(ValueError, match="probe_data"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[pruning])
    assert len(model.optimizer.variables) == count
    assert model.get_layer("hidden").kernel.constraint is None


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: Lookahead(keras.optimizers.Adam(0.01), sync_period=2),
        lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01)),
    ],
    ids=["lookahead", "loss_scale"],
)
def test_wrapped_optimizers_keep_the_zeros(make_optimizer):
    # The masks live in the innermost optimizer; Lookahead's interpolation with
    # its slow weights (copied before any pruning) must not regrow them.
    model = mlp(optimizer=make_optimizer())
    pruning = WeightPruning(0.75, end_epoch=1, frequency=1)
    recorder = ZeroRecorder()
    model.fit(X, Y, batch_size=8, epochs=3, verbose=0, callbacks=[pruning, recorder])
    for zeros in recorder.zeros[8:]:  # After the first epoch.
        for name, pattern in zeros.items():
            assert pattern.sum() == expected_zeros(0.75, pattern.size), name


@pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="Keras allows only steps_per_execution=1 on PyTorch",
)
def test_steps_per_execution():
    # Keras calls callbacks only every 4 steps here; the schedule and masks hold.
    model = build_mlp()
    model.compile(keras.optimizers.Adam(0.01), "mse", steps_per_execution=4)
    pruning = WeightPruning(0.5, end_epoch=1, frequency=4)
    model.fit(X, Y, batch_size=8, epochs=3, verbose=0, callbacks=[pruning])
    for (name, kernel), mask in zip(kernels(model).items(), pruning.masks.values()):
        assert (kernel == 0).sum() == expected_zeros(0.5, kernel.size), name
        np.testing.assert_array_equal(kernel != 0, mask)


def test_verbose_prints_the_sparsity_then_the_model_wide_figure(capsys):
    pruning = WeightPruning(0.5, frequency=1, verbose=1)
    model = mlp()
    model.fit(X, Y, batch_size=32, epochs=2, verbose=0, callbacks=[pruning])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2] == (
        "WeightPruning: epoch 2: sparsity 50.00% over 2 weight tensors (scheduled "
        "50.00%, target 50.00%)"
    )
    weights = [harness.to_numpy(w) for w in model.weights]
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert sum(w.size for w in weights) == 145 and zeros >= 68
    assert lines[-1] == (
        f"WeightPruning: {zeros / 145:.2%} of the model's 145 weights are zero "
        "(50.00% of the 136 pruned weights)"
    )


@pytest.mark.distributed
@pytest.mark.parametrize("criterion", ["magnitude", "saliency"])
def test_distributed_fit(criterion):
    pruning = WeightPruning(
        0.75,
        criterion=criterion,
        frequency=1,
        probe_data=(X[:8], Y[:8]) if criterion == "saliency" else None,
    )
    model = harness.check_distributed_fit(
        build_mlp, X, Y, epochs=2, callbacks=[pruning]
    )
    for name, kernel in kernels(model).items():
        assert (kernel == 0).sum() == expected_zeros(0.75, kernel.size), name


def test_bad_arguments():
    bad = [
        ({"target_sparsity": 1.0}, "target_sparsity"),
        ({"target_sparsity": -0.1}, "target_sparsity"),
        ({"target_sparsity": 0.5, "criterion": "random"}, "criterion"),
        ({"target_sparsity": 0.5, "start_epoch": 3, "end_epoch": 2}, "end_epoch"),
        ({"target_sparsity": 0.5, "start_epoch": -1}, "start_epoch"),
        ({"target_sparsity": 0.5, "frequency": 0}, "frequency"),
        ({"target_sparsity": 0.5, "initial_sparsity": 0.6}, "initial_sparsity"),
        ({"target_sparsity": 0.5, "criterion": "saliency"}, "probe_data"),
        ({"target_sparsity": 0.5, "layers": [3]}, "layers"),
        ({"target_sparsity": 0.5, "layers": []}, "layers"),
    ]
    for kwargs, name in bad:
        with pytest.raises(ValueError, match=f"argument `{name}`.*Received: {name}="):
            WeightPruning(**kwargs)
    with pytest.warns(UserWarning, match="probe_data"):
        WeightPruning(0.5, probe_data=(X, Y))
    no_kernel = keras.Sequential([keras.Input((16,)), keras.layers.Normalization()])
    no_kernel.compile(optimizer="sgd", loss="mse")
    fit_errors = [
        (no_kernel, {}, "nothing to prune.*Pass `layers`"),
        (mlp(), {"layers": ["missing"]}, "`layers`.*Received: layers='missing'"),
        (mlp(), {"end_epoch": 3}, "`end_epoch`.*within the 2 epochs"),
        (mlp(), {"start_epoch": 2}, "`start_epoch`.*within the 2 epochs"),
    ]
    for model, kwargs, message in fit_errors:
        with pytest.raises(ValueError, match=message):
            model.fit(
                X, X if model is no_kernel else Y, epochs=2, verbose=0,
                callbacks=[WeightPruning(0.5, **kwargs)],
            )  # fmt: skip


def test_unknown_steps_per_epoch_is_a_plain_sentence():
    def batches():
        for start in range(0, 64, 16):
            yield X[start : start + 16], Y[start : start + 16]

    with pytest.raises(ValueError, match="steps per epoch") as error:
        mlp().fit(
            batches(),
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[WeightPruning(0.5)],
        )
    assert "Pass `steps_per_epoch` to `fit`" in str(error.value)
    assert "Invalid value received" not in str(error.value)


def check_pruned(model, pruning, sparsity):
    """Each pruned tensor has its share of zeros, exactly where its mask says."""
    by_path = {w.path: w for w in model.weights}
    for path, mask in pruning.masks.items():
        weight = harness.to_numpy(by_path[path])
        assert (weight == 0).sum() == expected_zeros(sparsity, weight.size), path
        np.testing.assert_array_equal(weight != 0, mask, err_msg=path)


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(1)

    def call(self, x):
        return self.head(self.hidden(x))


@pytest.mark.parametrize(
    "build",
    [
        lambda: keras.Sequential(
            [keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
        ),
        Subclassed,
    ],
    ids=["sequential_without_input", "subclassed"],
)
@pytest.mark.parametrize("criterion", ["magnitude", "saliency"])
def test_models_that_fit_builds(build, criterion):
    # TensorFlow builds these in the first train step, after on_train_begin; a
    # subclassed model declares no inputs to check the probe data against.
    keras.utils.set_random_seed(0)
    model = build()
    model.compile(keras.optimizers.Adam(0.01), "mse")
    probe_data = (X[:8], Y[:8]) if criterion == "saliency" else None
    pruning = WeightPruning(
        0.75, criterion=criterion, end_epoch=1, frequency=1, probe_data=probe_data
    )
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[pruning])
    assert len(pruning.masks) == 2  # The two kernels.
    check_pruned(model, pruning, 0.75)
    assert history.history["pruning_sparsity"][-1] == pytest.approx((96 + 6) / 136)
    # The iteration count, learning rate and Adam's two slots per variable.
    assert len(model.optimizer.variables) == 2 + 4 * 2  # No mask left.


def embedding_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((10,), dtype="int32"),
            keras.layers.Embedding(50, 8, name="embedding"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, name="head"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


TOKENS = np.random.default_rng(3).integers(0, 50, size=(64, 10)).astype("int32")


def test_embedding_tables_are_pruned_and_the_log_counts_everything_pruned():
    # tfmot prunes the embedding table with the Dense kernel; the log is the
    # fraction of zeros over both (table 400 weights, kernel 8).
    model = embedding_model()
    pruning = WeightPruning(0.75, frequency=1)
    history = model.fit(
        TOKENS, Y, batch_size=16, epochs=2, verbose=0, callbacks=[pruning]
    )
    table, kernel = model.get_layer("embedding").embeddings, model.layers[-1].kernel
    assert list(pruning.masks) == [table.path, kernel.path]
    check_pruned(model, pruning, 0.75)
    pruned = [harness.to_numpy(table), harness.to_numpy(kernel)]
    measured = sum(int((w == 0).sum()) for w in pruned) / 408
    assert measured == pytest.approx((300 + 6) / 408)
    assert history.history["pruning_sparsity"][-1] == pytest.approx(measured)
    assert np.all(harness.to_numpy(model.get_layer("head").bias) != 0)


def test_layers_accepts_an_embedding():
    model = embedding_model()
    pruning = WeightPruning(0.5, frequency=1, layers=["embedding"])
    model.fit(TOKENS, Y, batch_size=16, epochs=1, verbose=0, callbacks=[pruning])
    assert list(pruning.masks) == [model.get_layer("embedding").embeddings.path]
    check_pruned(model, pruning, 0.5)
    assert np.all(harness.to_numpy(model.get_layer("head").kernel) != 0)


def test_recurrent_kernels_are_pruned():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            keras.layers.LSTM(4, return_sequences=True, name="lstm"),
            keras.layers.GRU(4, return_sequences=True, name="gru"),
            LayerNormLSTM(4, name="ln_lstm"),
            keras.layers.Dense(1, name="head"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse")
    x = harness.random_data((32, 5, 3))
    pruning = WeightPruning(0.5, frequency=1)
    model.fit(x, Y[:32], batch_size=16, epochs=1, verbose=0, callbacks=[pruning])
    cells = [model.get_layer(name).cell for name in ("lstm", "gru", "ln_lstm")]
    expected = [w.path for c in cells for w in (c.kernel, c.recurrent_kernel)]
    head = model.get_layer("head").kernel
    assert sorted(pruning.masks) == sorted([*expected, head.path])
    check_pruned(model, pruning, 0.5)
    # An RNN layer named in `layers` prunes its cell's two kernels.
    pruning = WeightPruning(0.75, frequency=1, layers=["gru"])
    model.fit(x, Y[:32], batch_size=16, epochs=1, verbose=0, callbacks=[pruning])
    assert sorted(pruning.masks) == sorted(expected[2:4])
    check_pruned(model, pruning, 0.75)


def test_optimizer_saves_and_reloads_with_nothing_removed_still_tracked(tmp_path):
    class Variables(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.during = list(self.model.optimizer.variables)

    model = mlp()
    spy = Variables()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[WeightPruning(0.5), spy])
    after = {id(v) for v in model.optimizer.variables}
    removed = [v for v in spy.during if id(v) not in after]
    assert len(removed) == 2  # The two masks.
    for variable in removed:
        assert not compat.optimizer_tracks(model.optimizer, variable), variable.path
    path = str(tmp_path / "pruned.keras")
    model.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = keras.saving.load_model(path)
    # Keras warns when the saved optimizer state does not fit and skips it.
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    saved = [harness.to_numpy(v) for v in model.optimizer.variables]
    reloaded = [harness.to_numpy(v) for v in loaded.optimizer.variables]
    assert len(reloaded) == len(saved)
    for a, b in zip(saved, reloaded):
        np.testing.assert_array_equal(a, b)


def reference_prune_lowest(scores, mask, sparsity):
    """The selection by ranking every weight, the dropped ones at -inf."""
    count = int(np.floor(sparsity * scores.size + 0.5))
    keep = np.ones(scores.size, dtype=bool)
    if count:
        ranked = np.where(mask, scores.astype("float64"), -np.inf).ravel()
        keep[np.argsort(ranked, kind="stable")[:count]] = False
    return keep.reshape(scores.shape)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_prune_lowest_matches_a_full_ranking(dtype):
    from keras_smithing.callbacks.weight_pruning import prune_lowest

    rng = np.random.default_rng(0)
    for shape, old, new in [
        ((40, 30), 0.0, 0.5),
        ((40, 30), 0.5, 0.9),
        ((7,), 0.3, 0.3),
        ((16, 8), 0.0, 0.0),
        ((16, 8), 0.6, 0.2),  # Fewer to drop than dropped: the mask regrows.
    ]:
        # Distinct scores, so that the selection is unique.
        scores = rng.permutation(np.prod(shape)).reshape(shape).astype(dtype)
        mask = reference_prune_lowest(rng.random(shape), np.ones(shape, bool), old)
        got = prune_lowest(scores, mask, new)
        assert got.dtype == bool and got.shape == shape
        assert np.sum(~got) == int(np.floor(new * got.size + 0.5))
        if new >= old:
            assert not np.any(got & ~mask)  # Dropped weights stay dropped.
            np.testing.assert_array_equal(
                got, reference_prune_lowest(scores, mask, new)
            )
        else:  # Which dropped weights come back is unspecified.
            assert not np.any(~got & mask)


@pytest.mark.parametrize("own", [None, keras.constraints.NonNeg()])
def test_keep_mask_constraint_is_the_masked_own_constraint(own):
    from keras_smithing.callbacks.weight_pruning import _KeepMask

    rng = np.random.default_rng(0)
    start = rng.normal(size=(6, 5)).astype("float32")
    keep = rng.random((6, 5)) > 0.5
    weight = keras.Variable(start, name="kernel")
    mask = keras.Variable(keep.astype("float32"), name="mask")
    constraint = _KeepMask(mask, own)
    weight.assign(constraint(weight))  # As the optimizer applies it.
    want = np.where(keep, start if own is None else np.maximum(start, 0), 0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(weight), want)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(mask), keep)


@pytest.mark.parametrize("zeros", [0.0, 0.3, 0.9])
@pytest.mark.parametrize("sparsity", [0.2, 0.5, 0.95])
def test_prune_lowest_with_tied_zeros_drops_the_lowest(zeros, sparsity):
    # A pruned model ranked again: most scores are exactly zero.
    from keras_smithing.callbacks.weight_pruning import prune_lowest

    rng = np.random.default_rng(1)
    scores = np.abs(rng.normal(size=(64, 32))).astype("float32")
    scores[rng.random(scores.shape) < zeros] = 0.0
    mask = np.ones(scores.shape, bool)
    mask[rng.random(scores.shape) < 0.1] = False  # Already dropped.
    got = prune_lowest(scores, mask, sparsity)
    count = int(np.floor(sparsity * scores.size + 0.5))
    assert np.sum(~got) == count
    assert not np.any(got & ~mask)
    newly = ~got & mask
    if newly.any() and got.any():
        assert scores[newly].max() <= scores[got].min()
    np.testing.assert_array_equal(
        np.sort(scores[newly]),
        np.sort(scores[mask])[: int(newly.sum())],
    )
