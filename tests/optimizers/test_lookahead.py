import keras
import numpy as np
import pytest

from keras_smithing.optimizers import Lookahead
from tests import harness

# A 2-D ill-conditioned quadratic L(w) = 0.5 w^T A w - b^T w, gradient A w - b.
A = np.array([[3.0, 0.5], [0.5, 0.2]], "float32")
B = np.array([1.0, -1.0], "float32")


def grad(w):
    return A @ w - B


def run_keras(optimizer, steps, w0=(1.0, 2.0)):
    """Runs `optimizer` on the quadratic; returns the weight after each step."""
    w = keras.Variable(np.array(w0, "float32"), name="w")
    path = []
    for _ in range(steps):
        g = grad(keras.ops.convert_to_numpy(w))
        optimizer.apply([keras.ops.convert_to_tensor(g)], [w])
        path.append(keras.ops.convert_to_numpy(w).copy())
    return np.array(path), optimizer


def slot(optimizer, name):
    (variable,) = [v for v in optimizer.variables if v.path.endswith(name)]
    return keras.ops.convert_to_numpy(variable)


def test_harness():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    harness.check_optimizer(
        lambda: Lookahead(keras.optimizers.Adam(schedule), sync_period=2)
    )


@pytest.mark.distributed
def test_distributed_fit_ends_synchronized():
    x, y = harness.random_data((32, 5)), harness.random_data((32, 2), seed=1)

    def model_fn():
        inputs = keras.Input((5,))
        hidden = keras.layers.Dense(4, activation="tanh")(inputs)
        return keras.Model(inputs, keras.layers.Dense(2)(hidden))

    model = harness.check_distributed_fit(
        model_fn,
        x,
        y,
        optimizer_fn=lambda: Lookahead(keras.optimizers.Adam(0.01), sync_period=2),
        epochs=2,
    )
    # 2 epochs x 2 batches of 16 = 4 steps: the last step synchronized.
    assert keras.ops.convert_to_numpy(model.optimizer.iterations) == 4
    for weight, slow in zip(model.trainable_weights, model.optimizer.slow_weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(weight), keras.ops.convert_to_numpy(slow)
        )


def test_slow_step_size_one_is_the_inner_optimizer():
    inner = run_keras(keras.optimizers.SGD(0.1, momentum=0.9), 12)[0]
    wrapped = run_keras(
        Lookahead(keras.optimizers.SGD(0.1, momentum=0.9), 3, slow_step_size=1.0), 12
    )[0]
    np.testing.assert_array_equal(wrapped, inner)


@pytest.mark.parametrize("k, alpha", [(1, 0.5), (3, 0.5), (4, 0.8)])
def test_matches_numpy_reference(k, alpha):
    lr, mu, steps = 0.1, 0.9, 13
    got, optimizer = run_keras(
        Lookahead(keras.optimizers.SGD(lr, momentum=mu), k, alpha), steps
    )
    fast = np.array([1.0, 2.0])
    slow, momentum = fast.copy(), np.zeros(2)
    for t in range(1, steps + 1):
        momentum = mu * momentum - lr * grad(fast)  # Keras SGD's momentum form.
        fast = fast + momentum
        if t % k == 0:  # Zhang et al., Algorithm 1 (inner state kept).
            slow = slow + alpha * (fast - slow)
            fast = slow.copy()
        np.testing.assert_allclose(got[t - 1], fast, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(slot(optimizer, "w_slow"), slow, rtol=1e-5)


def test_keras_nesterov_is_the_notes_lookahead_form():
    """Keras's Nesterov SGD is the notes' "look ahead" momentum, reparameterized.

    Notes: rho <- mu rho - lr grad L(theta + mu rho); theta <- theta + rho.
    Keras (nesterov=True): m <- mu m - lr grad L(w); w <- w + mu m - lr grad L(w).
    With phi = theta + mu rho (the look-ahead point) the notes' update becomes
    phi <- phi + mu rho_new - lr grad L(phi), i.e. Keras's with w = phi, m = rho.
    So Keras stores the look-ahead point phi, and theta = w - mu m.
    """
    lr, mu = 0.1, 0.9
    optimizer = keras.optimizers.SGD(lr, momentum=mu, nesterov=True)
    w = keras.Variable(np.array([1.0, 2.0], "float32"), name="w")
    theta, rho = np.array([1.0, 2.0]), np.zeros(2)
    for _ in range(25):
        g = grad(keras.ops.convert_to_numpy(w))
        optimizer.apply([keras.ops.convert_to_tensor(g)], [w])
        rho = mu * rho - lr * grad(theta + mu * rho)
        theta = theta + rho
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(w), theta + mu * rho, rtol=1e-4, atol=1e-5
        )
        np.testing.assert_allclose(slot(optimizer, "w_momentum"), rho, atol=1e-5)


def test_learning_rate_and_iterations_are_the_inner_optimizers():
    inner = keras.optimizers.SGD(0.1)
    optimizer = Lookahead(inner)
    optimizer.learning_rate = 0.05
    assert float(inner.learning_rate) == pytest.approx(0.05)
    run_keras(optimizer, 3)
    assert int(optimizer.iterations) == int(inner.iterations) == 3


def test_bad_arguments():
    for value in (0, -1, 1.5, "5"):
        with pytest.raises(ValueError, match="`sync_period`.*Received: sync_period="):
            Lookahead("sgd", sync_period=value)
    for value in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="`slow_step_size`.*Received"):
            Lookahead("sgd", slow_step_size=value)
    for value in ("not_an_optimizer", 3, keras.layers.Dense(2)):
        with pytest.raises(ValueError, match="`optimizer`.*Received"):
            Lookahead(value)
    with pytest.raises(ValueError, match="`optimizer`.*gradient_accumulation"):
        Lookahead(keras.optimizers.SGD(gradient_accumulation_steps=2))
