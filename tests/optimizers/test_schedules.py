import math

import keras
import numpy as np
import pytest

from keras_smithing.optimizers import schedules
from keras_smithing.optimizers.schedules import CyclicalLearningRate, OneCycle
from tests import harness


def one_cycle_reference(step, peak, total, warmup_fraction, div, final_div):
    """Half-cosine rise to `peak` at warmup_fraction * total, fall until `total`."""
    initial, warmup = peak / div, warmup_fraction * total
    final = initial / final_div
    step = min(step, total)
    if step < warmup:
        start, end, t = initial, peak, step / warmup
    else:
        start, end, t = peak, final, (step - warmup) / (total - warmup)
    return end + (start - end) * (1 + math.cos(math.pi * t)) / 2


def cyclical_reference(step, low, high, step_size, mode, gamma, scale_mode=None):
    """tfa's `CyclicalLearningRate.__call__` (Smith 2017, Section 3.1) with the
    `scale_fn` and default `scale_mode` of its three subclasses."""
    if scale_mode is None:
        scale_mode = "iterations" if mode == "exp_range" else "cycle"
    scale_fn = {
        "triangular": lambda x: 1.0,
        "triangular2": lambda x: 1 / (2.0 ** (x - 1)),
        "exp_range": lambda x: gamma**x,
    }[mode]
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    mode_step = cycle if scale_mode == "cycle" else step
    return low + (high - low) * max(0.0, 1 - x) * scale_fn(mode_step)


def values(schedule, steps):
    return np.array([float(schedule(step)) for step in steps])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"warmup_fraction": 0.25, "div_factor": 10.0, "final_div_factor": 100.0},
        {"div_factor": 1.0},
    ],
)
def test_one_cycle_matches_reference(kwargs):
    schedule = OneCycle(0.4, 40, **kwargs)
    arguments = {"warmup_fraction": 0.3, "div_factor": 25.0, "final_div_factor": 1e4}
    arguments.update(kwargs)
    steps = range(60)
    expected = [
        one_cycle_reference(
            s,
            0.4,
            40,
            arguments["warmup_fraction"],
            arguments["div_factor"],
            arguments["final_div_factor"],
        )
        for s in steps
    ]
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=1e-5)


def test_one_cycle_landmarks():
    schedule = OneCycle(1.0, 100)
    assert float(schedule(0)) == pytest.approx(1.0 / 25)
    assert float(schedule(30)) == pytest.approx(1.0)
    assert float(schedule(100)) == pytest.approx(1.0 / 25 / 1e4)
    assert float(schedule(10**6)) == pytest.approx(1.0 / 25 / 1e4)
    learning_rates = values(schedule, range(101))
    assert np.all(np.diff(learning_rates[:31]) > 0)
    assert np.all(np.diff(learning_rates[30:]) < 0)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclical_matches_reference(mode):
    schedule = CyclicalLearningRate(0.01, 0.1, step_size=5, mode=mode, gamma=0.97)
    steps = range(40)
    expected = [cyclical_reference(s, 0.01, 0.1, 5, mode, 0.97) for s in steps]
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=1e-5)


@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclical_scale_mode_matches_tfa(mode, scale_mode):
    schedule = CyclicalLearningRate(
        0.01, 0.1, step_size=3, mode=mode, gamma=0.9, scale_mode=scale_mode
    )
    assert schedule.get_config()["scale_mode"] == scale_mode
    steps = range(30)
    expected = [
        cyclical_reference(s, 0.01, 0.1, 3, mode, 0.9, scale_mode) for s in steps
    ]
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=1e-5)


def test_cyclical_scale_mode_defaults_are_tfas():
    assert CyclicalLearningRate(0.01, 0.1, 2).scale_mode == "cycle"
    assert CyclicalLearningRate(0.01, 0.1, 2, "triangular2").scale_mode == "cycle"
    exp_range = CyclicalLearningRate(0.01, 0.1, 2, "exp_range", gamma=0.9)
    assert exp_range.scale_mode == "iterations"
    # A config saved before `scale_mode` existed loads with the same formula.
    config = exp_range.get_config()
    del config["scale_mode"]
    assert CyclicalLearningRate.from_config(config).scale_mode == "iterations"
    with pytest.raises(ValueError, match="`scale_mode`.*Received: scale_mode='step'"):
        CyclicalLearningRate(0.01, 0.1, 2, scale_mode="step")


@pytest.mark.parametrize("mode", ["triangular2", "exp_range"])
def test_cyclical_matches_torch_cyclic_lr(mode):
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.01)
    scheduler = torch.optim.lr_scheduler.CyclicLR(
        optimizer,
        0.01,
        0.1,
        step_size_up=5,
        mode=mode,
        gamma=0.97,
        cycle_momentum=False,
    )
    expected = []
    for _ in range(30):
        expected.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    schedule = CyclicalLearningRate(0.01, 0.1, step_size=5, mode=mode, gamma=0.97)
    np.testing.assert_allclose(values(schedule, range(30)), expected, rtol=1e-5)


def test_cyclical_triangle():
    learning_rates = values(CyclicalLearningRate(0.1, 0.5, step_size=2), range(9))
    np.testing.assert_allclose(
        learning_rates, [0.1, 0.3, 0.5, 0.3, 0.1, 0.3, 0.5, 0.3, 0.1], rtol=1e-6
    )
    halving = values(
        CyclicalLearningRate(0.0 + 1e-9, 1.0, step_size=1, mode="triangular2"),
        [1, 3, 5],
    )
    np.testing.assert_allclose(halving, [1.0, 0.5, 0.25], rtol=1e-6)


def check_config_round_trip(schedule):
    rebuilt = schedules.deserialize(schedules.serialize(schedule))
    assert type(rebuilt) is type(schedule)
    assert rebuilt.get_config() == schedule.get_config()


# check_optimizer: fit, jit_compile=True (XLA), .keras round trip, mixed precision.
def test_harness_one_cycle():
    harness.check_optimizer(
        lambda: keras.optimizers.SGD(
            OneCycle(0.1, total_steps=3, warmup_fraction=0.5), momentum=0.9
        )
    )
    check_config_round_trip(OneCycle(0.1, total_steps=3, warmup_fraction=0.5))


def test_harness_cyclical():
    harness.check_optimizer(
        lambda: keras.optimizers.Adam(
            CyclicalLearningRate(0.01, 0.1, step_size=1, mode="exp_range", gamma=0.9)
        )
    )
    check_config_round_trip(CyclicalLearningRate(0.01, 0.1, 2, mode="triangular2"))


def test_keras_schedules_are_re_exported():
    assert schedules.ExponentialDecay is keras.optimizers.schedules.ExponentialDecay
    assert schedules.LearningRateSchedule is (
        keras.optimizers.schedules.LearningRateSchedule
    )
