import itertools

import keras
import numpy as np
import pytest

from keras_smithing.pretraining import HybridRBMClassifier
from keras_smithing.pretraining import rbm as rbm_module
from tests import harness


def _data(n=60, seed=0):
    """Two classes of 6-bit patterns with 10% flipped bits."""
    rng = np.random.default_rng(seed)
    prototypes = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], "float32")
    y = rng.integers(0, 2, n).astype("int32")
    x = prototypes[y]
    x = np.where(rng.random(x.shape) < 0.1, 1 - x, x).astype("float32")
    return x, y


def _model(alpha=0.1, **kwargs):
    model = HybridRBMClassifier(3, num_classes=2, alpha=alpha, seed=0, **kwargs)
    model.build((None, 6))
    rng = np.random.default_rng(1)
    for w in model.trainable_weights:
        w.assign(rng.normal(0, 0.5, w.shape).astype("float32"))
    return model


def _numpy(model):
    return [
        keras.ops.convert_to_numpy(w).astype("float64")
        for w in (
            model.hidden.kernel,
            model.hidden.bias,
            model.visible_bias,
            model.class_kernel,
            model.class_bias,
        )
    ]


def _energy(x, y, h, params):
    w, c, b, u, d = params
    return -(h @ w.T @ x) - b @ x - c @ h - d[y] - h @ u[y]


def _fitted(model, x, y):
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(x, y, epochs=1, batch_size=20, verbose=0)
    return model


def test_harness_saved_model():
    x, y = _data()
    harness.check_saved_model(
        _fitted(HybridRBMClassifier(4, num_classes=2, seed=0), x, y), x
    )


def test_posterior_matches_enumeration():
    x, _ = _data(4)
    model = _model()
    params = _numpy(model)
    hidden = [np.array(h) for h in itertools.product([0.0, 1.0], repeat=3)]
    for row, probabilities in zip(
        x.astype("float64"), keras.ops.convert_to_numpy(model(x))
    ):
        joint = np.array(
            [sum(np.exp(-_energy(row, y, h, params)) for h in hidden) for y in (0, 1)]
        )
        np.testing.assert_allclose(probabilities, joint / joint.sum(), rtol=1e-5)


def _mean_nll(params, x, y):
    w, c, b, u, d = params
    logits = d + np.logaddexp(0, (x @ w + c)[:, None, :] + u[None]).sum(-1)
    logits -= logits.max(1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


def test_discriminative_gradient_matches_finite_differences():
    x, y = _data(8)
    model = _model(alpha=0.0)
    grads, _, _ = model.compute_gradients(keras.ops.convert_to_tensor(x), y)
    params = _numpy(model)
    variables = (
        model.hidden.kernel,
        model.hidden.bias,
        model.visible_bias,
        model.class_kernel,
        model.class_bias,
    )
    for index, variable in enumerate(variables):
        numeric = np.zeros_like(params[index])
        for position in np.ndindex(numeric.shape):
            shifted = [p.copy() for p in params]
            shifted[index][position] += 1e-5
            up = _mean_nll(shifted, x.astype("float64"), y)
            shifted[index][position] -= 2e-5
            down = _mean_nll(shifted, x.astype("float64"), y)
            numeric[position] = (up - down) / 2e-5
        got = keras.ops.convert_to_numpy(grads[variable.path])
        np.testing.assert_allclose(got, numeric, atol=1e-5)


def test_generative_term_is_cd1_on_the_joint(monkeypatch):
    x, y = _data(8)
    rng = np.random.default_rng(3)
    draws = []

    def uniform(shape, *args, **kwargs):
        draws.append(rng.random(tuple(int(s) for s in shape)).astype("float32"))
        return keras.ops.convert_to_tensor(draws[-1])

    def categorical(logits, num_samples, *args, **kwargs):
        draws.append(rng.integers(0, 2, (logits.shape[0], num_samples)).astype("int32"))
        return keras.ops.convert_to_tensor(draws[-1])

    # Bernoulli samples draw through utils.backend.random_uniform, as named in
    # the rbm module.
    monkeypatch.setattr(rbm_module, "random_uniform", uniform)
    monkeypatch.setattr(keras.random, "categorical", categorical)
    reference = _model(alpha=0.0)
    discriminative, _, _ = reference.compute_gradients(x, y)
    draws.clear()
    model = _model(alpha=2.0)
    hybrid, _, _ = model.compute_gradients(x, y)
    discriminative = {
        mine.path: discriminative[theirs.path]
        for mine, theirs in zip(model.trainable_weights, reference.trainable_weights)
    }
    w, c, b, u, d = _numpy(model)
    x64, labels = x.astype("float64"), np.eye(2)[y]
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h_data = sigmoid(x64 @ w + c + labels @ u)
    h = (draws[0] < h_data).astype("float64")
    x_model = (draws[1] < sigmoid(h @ w.T + b)).astype("float64")
    y_model = np.eye(2)[draws[2][:, 0]]
    h_model = sigmoid(x_model @ w + c + y_model @ u)
    expected = {
        model.hidden.kernel.path: (x_model.T @ h_model - x64.T @ h_data) / 8,
        model.hidden.bias.path: (h_model - h_data).mean(0),
        model.visible_bias.path: (x_model - x64).mean(0),
        model.class_kernel.path: (y_model.T @ h_model - labels.T @ h_data) / 8,
        model.class_bias.path: (y_model - labels).mean(0),
    }
    for path, want in expected.items():
        got = keras.ops.convert_to_numpy(hybrid[path]) - keras.ops.convert_to_numpy(
            discriminative[path]
        )
        np.testing.assert_allclose(got, 2.0 * want, atol=1e-5)


def test_fit_learns_and_reports():
    x, y = _data(120)
    model = HybridRBMClassifier(8, num_classes=2, alpha=0.01, seed=0)
    model.compile(optimizer=keras.optimizers.SGD(1.0, momentum=0.5))
    history = model.fit(x, y, epochs=10, batch_size=20, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "reconstruction_error"}
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["accuracy"] > 0.85
    predictions = model.predict(x, verbose=0)
    np.testing.assert_allclose(predictions.sum(1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"units": 0, "num_classes": 2}, "`units`"),
        ({"units": 4, "num_classes": 1}, "`num_classes`"),
        ({"units": 4, "num_classes": 2, "alpha": -0.1}, "`alpha`"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        HybridRBMClassifier(**kwargs)


def test_bad_inputs():
    model = HybridRBMClassifier(4, num_classes=2)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="`x`.*values in \\[0, 1\\]"):
        model.fit(np.full((4, 6), 3.0, "float32"), np.zeros(4, "int32"), verbose=0)
