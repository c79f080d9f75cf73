import itertools

import keras
import numpy as np
import pytest

from keras_smithing.pretraining import RBM, HybridRBMClassifier
from keras_smithing.pretraining import rbm as rbm_module
from keras_smithing.pretraining.rbm import sample_bernoulli
from tests import harness
from tests.support_matrix import record


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _binary_data(n=120, seed=0):
    """Two 6-bit prototypes with 5% flipped bits."""
    rng = np.random.default_rng(seed)
    prototypes = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1]], "float32")
    x = prototypes[rng.integers(0, 2, n)]
    flips = rng.random(x.shape) < 0.05
    return np.where(flips, 1 - x, x).astype("float32")


def _weights(rbm):
    return (
        keras.ops.convert_to_numpy(rbm.hidden.kernel).astype("float64"),
        keras.ops.convert_to_numpy(rbm.hidden.bias).astype("float64"),
        keras.ops.convert_to_numpy(rbm.visible_bias).astype("float64"),
    )


def _trained(x, rbm=None):
    rbm = rbm or RBM(4, seed=1)
    rbm.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    rbm.fit(x, epochs=2, batch_size=20, verbose=0)
    return rbm


def test_harness_saved_model():
    x = _binary_data(40)
    harness.check_saved_model(
        _trained(x, RBM(4, persistent=True, num_chains=10, k=2, seed=1)), x
    )


@pytest.fixture
def fixed_draws(monkeypatch):
    """Replaces the RBM's uniform / normal draws by recorded NumPy draws."""
    rng = np.random.default_rng(7)
    draws = []

    def draw(kind):
        def fake(shape, *args, **kwargs):
            shape = tuple(int(s) for s in shape)
            value = rng.random(shape) if kind == "uniform" else rng.normal(size=shape)
            draws.append(value.astype("float32"))
            return keras.ops.convert_to_tensor(draws[-1])

        return fake

    # The RBM draws through utils.backend's random_uniform / random_normal, as
    # named in its module.
    monkeypatch.setattr(rbm_module, "random_uniform", draw("uniform"))
    monkeypatch.setattr(rbm_module, "random_normal", draw("normal"))
    return draws


def _reference_gradients(rbm, v, draws, chains=None):
    """NumPy CD-k / PCD gradients replaying the same random draws."""
    w, c, b = _weights(rbm)
    v = v.astype("float64")
    draws = iter(draws)

    def visible_sample(h):
        mean = h @ w.T + b
        if rbm.visible == "bernoulli":
            return (next(draws) < _sigmoid(mean)).astype("float64")
        return mean + next(draws)

    h_data = _sigmoid(v @ w + c)
    h = chains if rbm.persistent else (next(draws) < h_data).astype("float64")
    for step in range(rbm.k):
        v_model = visible_sample(h)
        h_model = _sigmoid(v_model @ w + c)
        if step < rbm.k - 1:
            h = (next(draws) < h_model).astype("float64")
    grad_w = -(v.T @ h_data / len(v) - v_model.T @ h_model / len(v_model))
    grad_w += rbm.weight_decay * w
    grad_c = h_model.mean(0) - h_data.mean(0)
    grad_b = v_model.mean(0) - v.mean(0)
    return grad_w, grad_c, grad_b


@pytest.mark.parametrize(
    "kwargs",
    [
        {"k": 1},
        {"k": 3, "weight_decay": 0.01},
        {"k": 1, "visible": "gaussian"},
        {"k": 2, "persistent": True, "num_chains": 5},
    ],
)
def test_cd_gradient_matches_numpy_reference(kwargs, fixed_draws):
    rng = np.random.default_rng(0)
    rbm = RBM(
        4, seed=0, kernel_initializer=keras.initializers.RandomNormal(0, 0.5), **kwargs
    )
    v = _binary_data(8) if rbm.visible == "bernoulli" else rng.normal(size=(8, 6))
    v = v.astype("float32")
    rbm.build(v.shape)
    rbm.visible_bias.assign(rng.normal(size=6).astype("float32") * 0.3)
    chains = None
    if rbm.persistent:
        chains = (rng.random((5, 4)) < 0.5).astype("float32")
        rbm.chains.assign(chains)
    grads, logs = rbm.compute_gradients(keras.ops.convert_to_tensor(v))
    expected = _reference_gradients(rbm, v, fixed_draws, chains)
    for variable, want in zip(
        (rbm.hidden.kernel, rbm.hidden.bias, rbm.visible_bias), expected
    ):
        got = keras.ops.convert_to_numpy(grads[variable.path])
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert set(logs) >= {"reconstruction_error", "free_energy_gap"}


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_free_energy_matches_sum_over_hidden_states(visible):
    rng = np.random.default_rng(1)
    rbm = RBM(
        3, visible=visible, kernel_initializer=keras.initializers.RandomNormal(0, 0.7)
    )
    v = (
        _binary_data(5)
        if visible == "bernoulli"
        else rng.normal(size=(5, 6)).astype("float32")
    )
    rbm.build(v.shape)
    rbm.hidden.bias.assign(rng.normal(size=3).astype("float32"))
    rbm.visible_bias.assign(rng.normal(size=6).astype("float32") * 0.3)
    w, c, b = _weights(rbm)
    v64 = v.astype("float64")
    visible_energy = (
        -v64 @ b if visible == "bernoulli" else 0.5 * ((v64 - b) ** 2).sum(1)
    )
    energies = [
        visible_energy - np.array(h) @ c - v64 @ w @ np.array(h)
        for h in itertools.product([0.0, 1.0], repeat=3)
    ]
    expected = -np.log(np.exp(-np.stack(energies)).sum(0))
    np.testing.assert_allclose(rbm.free_energy(v), expected, rtol=1e-5, atol=1e-5)


def _exact_log_likelihood(rbm, x):
    states = np.array(list(itertools.product([0.0, 1.0], repeat=6)), "float32")
    log_z = np.logaddexp.reduce(-rbm.free_energy(states).astype("float64"))
    return float(np.mean(-rbm.free_energy(x)) - log_z)


@pytest.mark.parametrize("persistent", [False, True])
def test_exact_log_likelihood_increases(persistent):
    keras.utils.set_random_seed(0)  # The fit's shuffle order.
    x = _binary_data(200)
    rbm = RBM(4, persistent=persistent, num_chains=20, seed=3)
    rbm.build(x.shape)
    before = _exact_log_likelihood(rbm, x)
    rbm.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.5))
    history = rbm.fit(x, epochs=30, batch_size=20, verbose=0)
    after = _exact_log_likelihood(rbm, x)
    # From about -6 ln 2 (uniform); the gain depends on the initial draw, which
    # differs per backend: 0.77 (PyTorch) to 1.34 (JAX) nats per example.
    assert after > before + 0.5, (before, after)
    assert set(history.history) == {
        "reconstruction_error",
        "free_energy_gap",
        "pseudo_log_likelihood",
    }
    assert (
        history.history["reconstruction_error"][-1]
        < history.history["reconstruction_error"][0]
    )


def test_evaluate_and_methods():
    x = _binary_data(40)
    rbm = _trained(x)
    logs = rbm.evaluate(x, verbose=0, return_dict=True)
    assert set(logs) == {"reconstruction_error", "free_energy", "pseudo_log_likelihood"}
    np.testing.assert_allclose(
        logs["free_energy"], rbm.free_energy(x).mean(), rtol=1e-4
    )
    features = rbm.transform(x)
    w, c, _ = _weights(rbm)
    np.testing.assert_allclose(features, _sigmoid(x @ w + c), atol=1e-5)
    samples = rbm.gibbs(x[:5], steps=3)
    assert samples.shape == (5, 6) and set(np.unique(samples)) <= {0.0, 1.0}
    means = rbm.gibbs(x[:5], steps=2, mean=True)
    assert np.all((means > 0) & (means < 1))


def test_same_seed_same_training_and_jit():
    x = _binary_data(60)
    runs = []
    for jit_compile in (False, False, True):
        rbm = RBM(4, persistent=True, num_chains=10, seed=5)
        rbm.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=jit_compile)
        rbm.fit(x, epochs=2, batch_size=20, verbose=0, shuffle=False)
        runs.append(rbm.get_weights())
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)
    assert all(np.all(np.isfinite(w)) for w in runs[2])
    record(rbm, "jit")


def test_array_batches_train_as_keras_array_path():
    # fit hands an array over as its batches (a dataset on TensorFlow); with
    # steps_per_epoch passed, Keras's own array path runs: the same updates,
    # partial last batch included, and validation batched alike.
    x = _binary_data(50)
    runs = []
    for extra in ({}, {"steps_per_epoch": None}):
        rbm = RBM(4, persistent=True, num_chains=10, seed=5)
        rbm.compile(optimizer=keras.optimizers.SGD(0.1))
        history = rbm.fit(
            x,
            epochs=2,
            batch_size=20,
            verbose=0,
            shuffle=False,
            validation_data=x[:30],
            **extra,
        )
        runs.append((rbm.get_weights(), history.history))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]
    assert "val_free_energy" in runs[0][1]


def test_divergence_stops_and_restores_last_good_weights():
    x = np.random.default_rng(0).normal(0, 50, (64, 6)).astype("float32")
    rbm = RBM(4, visible="gaussian", seed=0)
    rbm.compile(optimizer=keras.optimizers.SGD(10.0))
    with pytest.warns(RuntimeWarning, match="diverged"):
        history = rbm.fit(x, epochs=5, batch_size=16, verbose=0)
    assert len(history.history["reconstruction_error"]) < 5
    assert all(np.all(np.isfinite(w)) for w in rbm.get_weights())


def test_divergence_in_the_first_epoch_of_an_unbuilt_model():
    x = np.random.default_rng(0).normal(0, 50, (64, 6)).astype("float32")
    rbm = RBM(4, visible="gaussian", seed=0)
    rbm.compile(optimizer=keras.optimizers.SGD(1e6))
    with pytest.warns(RuntimeWarning, match="diverged in epoch 1.*restored"):
        rbm.fit(x, epochs=3, batch_size=16, verbose=0)
    # Built from x before training: back to the initial weights.
    initial = RBM(4, visible="gaussian", seed=0)
    initial.build(x.shape)
    for got, want in zip(rbm.get_weights(), initial.get_weights()):
        np.testing.assert_array_equal(got, want)

    # No shape to build from: TensorFlow builds in the first step, so nothing can
    # be restored there (JAX and PyTorch build from a first batch before training).
    def batches():
        for _ in range(4):
            yield (x[:16],)

    rbm = RBM(4, visible="gaussian", seed=0)
    rbm.compile(optimizer=keras.optimizers.SGD(1e6))
    with pytest.warns(RuntimeWarning, match="diverged in epoch 1"):
        rbm.fit(batches(), epochs=1, verbose=0)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"units": 0}, "`units`"),
        ({"units": 4, "k": 0}, "`k`"),
        ({"units": 4, "visible": "binary"}, "`visible`"),
        ({"units": 4, "num_chains": 0}, "`num_chains`"),
        ({"units": 4, "weight_decay": -1.0}, "`weight_decay`"),
        ({"units": 4, "persistent": "yes"}, "`persistent`"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        RBM(**kwargs)


def test_bad_inputs():
    rbm = RBM(3)
    rbm.compile(optimizer="sgd")
    with pytest.raises(ValueError, match='`x`.*visible="gaussian"'):
        rbm.fit(np.full((4, 6), 2.0, "float32"), verbose=0)
    rbm.fit(_binary_data(8), verbose=0)
    with pytest.raises(ValueError, match="`x` has 5 features .* built with 6"):
        rbm.fit(_binary_data(8)[:, :5], verbose=0)
    with pytest.raises(ValueError, match="`validation_data`"):
        rbm.fit(_binary_data(8), validation_data=-_binary_data(8) - 1, verbose=0)
    with pytest.raises(ValueError, match="`steps`"):
        rbm.gibbs(_binary_data(2), steps=0)


@pytest.mark.distributed
def test_distributed_fit():
    x = _binary_data(32)

    def model_fn():
        return RBM(4, persistent=True, num_chains=8, seed=0)

    model = harness.check_distributed_fit(
        model_fn, x, np.zeros((32, 4), "float32"), monitor="reconstruction_error"
    )
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


@pytest.mark.parametrize("persistent", [False, True])
def test_mixed_precision_trains_exactly_as_float32(persistent):
    # The closed-form statistics run in float32 and bypass the LossScaleOptimizer
    # that compile adds under mixed_float16: the same updates, bit for bit.
    x = _binary_data(40)
    weights = []
    for policy in ("float32", "mixed_float16"):
        keras.config.set_dtype_policy(policy)
        rbm = RBM(4, persistent=persistent, num_chains=10, seed=1)
        rbm.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
        rbm.fit(x, epochs=2, batch_size=10, shuffle=False, verbose=0)
        weights.append(rbm.get_weights())
        assert rbm.transform(x).dtype == ("float16" if "mixed" in policy else "float32")
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    record(rbm, "mixed precision")


def test_fits_scipy_sparse_data_as_sklearn_bernoulli_rbm_does():
    import scipy.sparse

    x = _binary_data(16)
    models = []
    for data in (x, scipy.sparse.csr_matrix(x)):
        rbm = RBM(3, seed=0)
        rbm.compile(optimizer="sgd")
        rbm.fit(data, epochs=1, batch_size=8, shuffle=False, verbose=0)
        models.append(rbm)
    np.testing.assert_allclose(
        harness.to_numpy(models[0].hidden.kernel),
        harness.to_numpy(models[1].hidden.kernel),
    )
    np.testing.assert_allclose(
        models[0].transform(x), models[1].transform(scipy.sparse.csr_matrix(x))
    )


def _methods_on(rbm, x):
    """Every data-taking method of a trained `rbm` on `x`, in one fixed order."""
    return {
        "evaluate": rbm.evaluate(x, batch_size=8, verbose=0, return_dict=True),
        "predict": rbm.predict(x, batch_size=8, verbose=0),
        "transform": rbm.transform(x),
        "free_energy": rbm.free_energy(x),
        "score_samples": rbm.score_samples(x),
        "gibbs": rbm.gibbs(x, steps=2),
    }


@pytest.mark.parametrize("sparse_format", ["csr", "csc", "coo"])
def test_every_method_takes_scipy_sparse_with_the_dense_results(sparse_format):
    import scipy.sparse

    x = _binary_data(16)
    results = []
    for data in (x, getattr(scipy.sparse, f"{sparse_format}_matrix")(x)):
        rbm = RBM(3, seed=0)  # Same seed: the same weights and the same draws.
        rbm.compile(optimizer="sgd")
        rbm.fit(data, epochs=1, batch_size=8, shuffle=False, verbose=0)
        results.append(_methods_on(rbm, data))
    dense, sparse = results
    for name in dense:
        np.testing.assert_allclose(
            keras.tree.flatten(sparse[name]), keras.tree.flatten(dense[name]), 1e-6
        )


@pytest.mark.parametrize("sparse_format", ["csr", "csc"])
def test_hybrid_rbm_takes_scipy_sparse_with_the_dense_results(sparse_format):
    import scipy.sparse

    x, y = _binary_data(16), np.arange(16) % 2
    model = HybridRBMClassifier(3, 2, seed=0)
    model.compile(optimizer="sgd")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    sparse = getattr(scipy.sparse, f"{sparse_format}_matrix")(x)
    np.testing.assert_allclose(
        model.predict(sparse, batch_size=8, verbose=0),
        model.predict(x, batch_size=8, verbose=0),
        1e-6,
    )
    dense_logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    sparse_logs = model.evaluate(sparse, y, batch_size=8, verbose=0, return_dict=True)
    assert sparse_logs.keys() == dense_logs.keys()
    for name in dense_logs:
        np.testing.assert_allclose(sparse_logs[name], dense_logs[name], 1e-6)


def _sklearn_rbm(rbm):
    """scikit-learn's BernoulliRBM holding the weights of `rbm`."""
    from sklearn.neural_network import BernoulliRBM

    kernel, hidden_bias, visible_bias = _weights(rbm)
    peer = BernoulliRBM(n_components=rbm.units)
    peer.components_ = kernel.T
    peer.intercept_hidden_, peer.intercept_visible_ = hidden_bias, visible_bias
    return peer


def test_sparse_transform_and_score_samples_match_sklearn_bernoulli_rbm():
    import scipy.sparse

    x = _binary_data(24)
    rbm = _trained(x)
    peer, sparse = _sklearn_rbm(rbm), scipy.sparse.csr_matrix(x)
    np.testing.assert_allclose(rbm.transform(sparse), peer.transform(sparse), 1e-5)
    # sklearn's score: features * log sigmoid(F(x with one bit flipped) - F(x)),
    # the bit drawn at random: each score is the one of some bit.
    kernel, hidden_bias, visible_bias = _weights(rbm)

    def free_energy(v):
        return -v @ visible_bias - np.logaddexp(0, v @ kernel + hidden_bias).sum(-1)

    flipped = np.abs(x[:, None, :] - np.eye(x.shape[1]))  # (n, bit, features)
    gap = free_energy(flipped) - free_energy(x)[:, None]
    candidates = -x.shape[1] * np.logaddexp(0, -gap)
    scores = rbm.score_samples(sparse)
    distance = np.abs(candidates - scores[:, None]).min(axis=1)
    np.testing.assert_array_less(distance, 1e-4)
    assert len(np.unique(np.round(scores, 4))) > 2  # Not one bit for all.


def test_score_samples_needs_bernoulli_visible_units():
    with pytest.raises(ValueError, match="free_energy"):
        RBM(3, visible="gaussian").score_samples(np.ones((2, 4), "float32"))


def test_nan_in_the_data_is_named_not_hidden_in_a_range():
    x = _binary_data(4)
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match="`x` has 1 non-finite value "):
        RBM(3).fit(x, verbose=0)


def test_bernoulli_samples_are_keras_randoms():
    # The draw goes through utils.backend.random_uniform (Philox named on
    # TensorFlow, for XLA): the samples stay those of keras.random.uniform.
    p = keras.ops.convert_to_tensor(np.linspace(0.0, 1.0, 60).reshape(3, 20), "float32")
    ours = sample_bernoulli(p, keras.random.SeedGenerator(7))
    noise = keras.random.uniform((3, 20), seed=keras.random.SeedGenerator(7))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(noise < p)
    )


@pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="Autograd is PyTorch's, on by default"
)
def test_train_step_records_no_autograd_graph(monkeypatch):
    # The gradients are in closed form: Keras's PyTorch loop leaves autograd on,
    # and the step turns it off rather than recording a graph behind the kernel.
    x = _binary_data(20)
    rbm = RBM(4, persistent=True, num_chains=20, seed=0)
    rbm.compile(optimizer=keras.optimizers.SGD(0.1))
    rbm.build(x.shape)
    applied = []
    apply_gradients = rbm.apply_gradients

    def spy(grads, variables):
        applied.extend(grads)
        apply_gradients(grads, variables)

    monkeypatch.setattr(rbm, "apply_gradients", spy)
    rbm.train_step((keras.ops.convert_to_tensor(x),))
    assert len(applied) == 3
    assert not any(grad.requires_grad for grad in applied)
