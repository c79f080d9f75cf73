import keras
import numpy as np
import pytest

from keras_smithing.optimizers import RectifiedAdam, rectified_adam
from keras_smithing.utils import backend
from tests import harness

# A 2-D ill-conditioned quadratic L(w) = 0.5 w^T A w - b^T w, gradient A w - b.
A = np.array([[3.0, 0.5], [0.5, 0.2]])
B = np.array([1.0, -1.0])
W0 = np.array([1.0, 2.0])


def radam_reference(
    steps,
    lr,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-7,
    sma_threshold=5.0,
    amsgrad=False,
    wd=0.0,
    total_steps=0,
    warmup_proportion=0.1,
    min_lr=0.0,
):
    """tfa's `RectifiedAdam._resource_apply_dense` in float64 (Liu et al. 2020,
    Algorithm 2, plus tfa's warm-up and weight decay); returns weights, phases and
    the learning rate of each step. `lr` is a float or a function of the
    iteration (0-based), as tfa's `_decayed_lr` evaluated a schedule; the other
    defaults are tfa's."""
    w, m, v, v_max = W0.copy(), np.zeros(2), np.zeros(2), np.zeros(2)
    rho_inf = 2.0 / (1.0 - beta_2) - 1.0
    path, rectified, rates = [], [], []
    for t in range(1, steps + 1):
        g = A @ w - B
        lr_t = lr(t - 1) if callable(lr) else lr
        if total_steps > 0:
            warmup_steps = total_steps * warmup_proportion
            decay_steps = max(total_steps - warmup_steps, 1)
            decay_rate = (min_lr - lr_t) / decay_steps
            if t <= warmup_steps:
                lr_t = lr_t * (t / warmup_steps)
            else:
                lr_t = lr_t + decay_rate * min(t - warmup_steps, decay_steps)
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
            step = r * m_hat / (np.sqrt(v_hat) + epsilon)
        else:
            step = m_hat  # SGD with (bias-corrected) momentum.
        w = w - lr_t * (step + wd * w)  # tfa's weight decay, scaled by lr_t.
        path.append(w)
        rectified.append(rho >= sma_threshold)
        rates.append(lr_t)
    return np.array(path), rectified, np.array(rates)


def run_on_quadratic(optimizer, steps):
    """Weights after each step and the warmed-up learning rate before it."""
    w = keras.Variable(W0.astype("float32"), name="w")
    path, rates = [], []
    for _ in range(steps):
        g = A @ harness.to_numpy(w, "float64") - B
        rates.append(float(harness.to_numpy(optimizer.warmed_up_learning_rate())))
        optimizer.apply([keras.ops.convert_to_tensor(g, "float32")], [w])
        path.append(harness.to_numpy(w))
    return np.array(path), np.array(rates)


def test_harness():
    harness.check_optimizer(lambda: RectifiedAdam(0.01, weight_decay=1e-3))


def test_harness_with_warm_up():
    harness.check_optimizer(
        lambda: RectifiedAdam(
            0.01, weight_decay=1e-3, total_steps=4, warmup_proportion=0.5, min_lr=1e-3
        )
    )


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
    expected, rectified, _ = radam_reference(steps, amsgrad=amsgrad, wd=wd, **config)
    assert any(rectified) and not all(rectified)
    optimizer = RectifiedAdam(0.05, **{k: v for k, v in kwargs.items() if k != "lr"})
    w = keras.Variable(W0.astype("float32"), name="w")
    for t in range(steps):
        g = A @ harness.to_numpy(w, "float64") - B
        optimizer.apply([keras.ops.convert_to_tensor(g, "float32")], [w])
        np.testing.assert_allclose(
            harness.to_numpy(w), expected[t], rtol=1e-4, atol=1e-5
        )


WARM_UP_CASES = {
    # 5 warm-up steps, 15 decay steps, then 6 at min_lr; both RAdam phases.
    "warm_up": ({"total_steps": 20, "warmup_proportion": 0.25, "min_lr": 0.01}, {}),
    "weight_decay_amsgrad": (
        {"total_steps": 20, "warmup_proportion": 0.25, "min_lr": 0.01},
        {"weight_decay": 0.05, "amsgrad": True},
    ),
    # tfa's default proportion: 1.7 warm-up steps, a fractional boundary.
    "default_proportion": ({"total_steps": 17, "min_lr": 0.02}, {}),
    "no_warm_up": ({"total_steps": 12, "warmup_proportion": 0.0}, {}),
    "all_warm_up": ({"total_steps": 12, "warmup_proportion": 1.0, "min_lr": 0.01}, {}),
    "min_lr_above_lr": ({"total_steps": 10, "min_lr": 0.08}, {}),
}


@pytest.mark.parametrize("case", list(WARM_UP_CASES))
def test_warm_up_matches_tfa(case):
    warm_up, extra = WARM_UP_CASES[case]
    steps = warm_up["total_steps"] + 6
    expected, rectified, rates = radam_reference(
        steps,
        lr=0.05,
        amsgrad=extra.get("amsgrad", False),
        wd=extra.get("weight_decay", 0.0),
        **warm_up,
    )
    assert any(rectified) and not all(rectified)
    assert rates[-1] == pytest.approx(warm_up.get("min_lr", 0.0))
    path, seen = run_on_quadratic(RectifiedAdam(0.05, **warm_up, **extra), steps)
    np.testing.assert_allclose(seen, rates, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(path, expected, rtol=1e-4, atol=1e-5)


def test_warm_up_applies_on_top_of_a_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, 4, 0.5)
    warm_up = {"total_steps": 12, "warmup_proportion": 0.25, "min_lr": 0.005}
    expected, _, rates = radam_reference(
        18,
        lr=lambda iteration: 0.05 * 0.5 ** (iteration / 4),
        wd=0.01,
        **warm_up,
    )
    optimizer = RectifiedAdam(schedule, weight_decay=0.01, **warm_up)
    path, seen = run_on_quadratic(optimizer, 18)
    np.testing.assert_allclose(seen, rates, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(path, expected, rtol=1e-4, atol=1e-5)


def test_warm_up_trains_in_fit_and_survives_reload(tmp_path):
    """`fit` (compiled) takes the same warmed-up steps as `apply`, and a reloaded
    optimizer resumes mid-decay."""
    x, y = harness.random_data((32, 4)), harness.random_data((32, 2), seed=1)
    config = {"total_steps": 8, "warmup_proportion": 0.25, "min_lr": 1e-3}

    def model_fn():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer=RectifiedAdam(0.01, **config), loss="mse")
        return model

    model = model_fn()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)  # 4 steps
    path = str(tmp_path / "radam_warm_up.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.get_config()["total_steps"] == 8
    # Step 5 of 8: two warm-up steps done, the decay at 3/6 of the way.
    expected_rate = 0.01 + (1e-3 - 0.01) * 3 / 6
    for reference in (model, loaded):
        rate = harness.to_numpy(reference.optimizer.warmed_up_learning_rate())
        np.testing.assert_allclose(rate, expected_rate, rtol=1e-6)
        reference.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_weight_decay_follows_the_warm_up_in_fit():
    """With zero gradients only the weight decay moves the weights: tfa decays by
    `lr_t * wd` at each step, `lr_t` the warmed-up rate (Keras would use `lr`)."""
    x, y = harness.random_data((32, 4)), harness.random_data((32, 2), seed=1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    warm_up = {"total_steps": 6, "warmup_proportion": 0.5, "min_lr": 0.02}
    model.compile(
        optimizer=RectifiedAdam(0.1, weight_decay=0.5, **warm_up),
        loss=lambda y_true, y_pred: 0.0 * keras.ops.mean(y_pred),
    )
    initial = model.get_weights()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)  # 8 steps.
    _, _, rates = radam_reference(
        8,
        lr=0.1,
        wd=0.5,
        **warm_up,
    )
    factor = np.prod(1.0 - 0.5 * rates)
    for before, after in zip(initial, model.get_weights()):
        np.testing.assert_allclose(after, factor * before, rtol=1e-5, atol=1e-7)


def test_weight_decay_exclusion_is_refused_with_the_warm_up():
    optimizer = RectifiedAdam(weight_decay=0.01, total_steps=10)
    with pytest.raises(ValueError, match="cannot exclude variables from weight"):
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.exclude_from_weight_decay()  # Nothing excluded: fine.
    RectifiedAdam(weight_decay=0.01).exclude_from_weight_decay(var_names=["bias"])


def test_tfa_lr_and_decay_are_pointed_errors():
    with pytest.raises(ValueError, match="`lr` was renamed `learning_rate`.*0.003"):
        RectifiedAdam(lr=0.003)
    with pytest.raises(ValueError, match=r"InverseTimeDecay\(0.003, decay_steps=1"):
        RectifiedAdam(0.003, decay=1e-4)
    # tfa wrote `decay: 0.0` into every config: it loads.
    optimizer = RectifiedAdam.from_config({"learning_rate": 0.003, "decay": 0.0})
    assert optimizer.get_config()["learning_rate"] == pytest.approx(0.003)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"amsgrad": True, "weight_decay": 0.05},
        {"total_steps": 12, "warmup_proportion": 0.25, "weight_decay": 0.05},
    ],
    ids=["defaults", "amsgrad_decay", "warm_up_decay"],
)
def test_every_variable_at_once_matches_update_step(monkeypatch, kwargs):
    """On PyTorch the step runs as multi-tensor ops: bit-identical to the
    variable-by-variable `update_step` (elsewhere both are `update_step`), with
    the rectification flag read on the CPU or, as on an accelerator, selected
    on the device."""
    shapes = [(5, 4), (4,), (3, 2, 2), ()]
    finals = []
    for mode in ("read", "selected", "update_step"):
        if mode == "selected":
            monkeypatch.setattr(backend, "eager_value", lambda value: None)
        if mode == "update_step":
            monkeypatch.setattr(
                rectified_adam, "multi_tensor_optimizers", lambda: False
            )
        rng = np.random.default_rng(0)
        variables = [
            keras.Variable(rng.normal(size=s).astype("float32")) for s in shapes
        ]
        optimizer = RectifiedAdam(0.05, **kwargs)
        for _ in range(10):  # Both phases: momentum steps, then rectified ones.
            grads = [rng.normal(size=s).astype("float32") for s in shapes]
            optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
        finals.append([harness.to_numpy(v) for v in variables + optimizer.variables])
    for read, selected, generic in zip(*finals):
        np.testing.assert_array_equal(read, generic)
        np.testing.assert_array_equal(selected, generic)


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
        "total_steps": (-1, 10.0, True, "100", None),
        "warmup_proportion": (-0.1, 1.5, float("nan"), None),
        "min_lr": (-1e-5, float("inf"), "0"),
    }
    for name, values in cases.items():
        for value in values:
            with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
                RectifiedAdam(**{name: value})
