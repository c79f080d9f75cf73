import keras
import numpy as np
import pytest

from keras_smithing.optimizers import RectifiedAdam
from tests import harness

# A 2-D ill-conditioned quadratic L(w) = 0.5 w^T A w - b^T w, gradient A w - b.
A = np.array([[3.0, 0.5], [0.5, 0.2]])
B = np.array([1.0, -1.0])
W0 = np.array([1.0, 2.0])


def radam_reference(steps, lr, beta_1, beta_2, epsilon, sma_threshold, amsgrad, wd):
    """Liu et al. (2020), Algorithm 2, in float64; returns weights and phases."""
    w, m, v, v_max = W0.copy(), np.zeros(2), np.zeros(2), np.zeros(2)
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    path, rectified = [], []
    for t in range(1, steps + 1):
        g = A @ w - B
        w = w - lr * wd * w  # Decoupled weight decay, as Keras and tfa apply it.
        m = beta_1 * m + (1.0 - beta_1) * g
        v = beta_2 * v + (1.0 - beta_2) * g**2
        v_max = np.maximum(v_max, v)
        m_hat = m / (1.0 - beta_1**t)
        v_hat = (v_max if amsgrad else v) / (1.0 - beta_2**t)
        rho = rho_inf - 2.0 * t * beta_2**t / (1.0 - beta_2**t)
        if rho >= sma_threshold:
            r = np.sqrt(
                (rho - 4.0)
                * (rho - 2.0)
                * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)
            )
            w = w - lr * r * m_hat / (np.sqrt(v_hat) + epsilon)
        else:
            w = w - lr * m_hat  # SGD with (bias-corrected) momentum.
        path.append(w)
        rectified.append(rho >= sma_threshold)
    return np.array(path), rectified


def test_harness():
    harness.check_optimizer(lambda: RectifiedAdam(0.01, weight_decay=1e-3))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"beta_2": 0.99, "amsgrad": True, "weight_decay": 0.05},
        {"beta_1": 0.5, "epsilon": 1e-3, "sma_threshold": 8.0},
    ],
    ids=["defaults", "amsgrad_decay", "threshold_8"],
)
def test_matches_numpy_reference_in_both_phases(kwargs):
    config = dict(lr=0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-7, sma_threshold=5.0)
    config.update({k: v for k, v in kwargs.items() if k in config})
    amsgrad, wd = kwargs.get("amsgrad", False), kwargs.get("weight_decay", 0.0)
    steps = 14
    expected, rectified = radam_reference(steps, amsgrad=amsgrad, wd=wd, **config)
    assert any(rectified) and not all(rectified)
    optimizer = RectifiedAdam(0.05, **{k: v for k, v in kwargs.items() if k != "lr"})
    w = keras.Variable(W0.astype("float32"), name="w")
    for t in range(steps):
        g = A @ harness.to_numpy(w, "float64") - B
        optimizer.apply([keras.ops.convert_to_tensor(g, "float32")], [w])
        np.testing.assert_allclose(
            harness.to_numpy(w), expected[t], rtol=1e-4, atol=1e-5
        )


def test_reloaded_optimizer_continues_the_same_path(tmp_path):
    x, y = harness.random_data((32, 4)), harness.random_data((32, 2), seed=1)

    def model_fn():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer=RectifiedAdam(0.01, amsgrad=True), loss="mse")
        return model

    model = model_fn()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 4 steps, momentum phase
    path = str(tmp_path / "radam.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, RectifiedAdam)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for reference in (model, loaded):  # 4 more steps: crosses into rectified steps
        reference.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.distributed
def test_distributed_fit():
    x, y = harness.random_data((32, 5)), harness.random_data((32, 2), seed=1)
    model = harness.check_distributed_fit(
        lambda: keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)]),
        x,
        y,
        optimizer_fn=lambda: RectifiedAdam(0.01),
        epochs=3,
    )
    # 3 epochs x 2 batches of 16: both phases ran, the slots saw every step.
    assert int(harness.to_numpy(model.optimizer.iterations)) == 6
    slots = [v for v in model.optimizer.variables if "_velocity" in v.path]
    assert len(slots) == 2
    for slot in slots:
        assert np.all(harness.to_numpy(slot) > 0), slot.path


def test_bad_arguments():
    cases = {
        "beta_1": (1.0, -0.1, float("nan"), "0.9"),
        "beta_2": (0.0, 1.0, 1.5),
        "epsilon": (-1e-7, float("inf")),
        "sma_threshold": (3.9, -5.0, None),
        "amsgrad": (1, "yes"),
    }
    for name, values in cases.items():
        for value in values:
            with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
                RectifiedAdam(**{name: value})
