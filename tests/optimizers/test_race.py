import math

import keras
import matplotlib.figure
import numpy as np
import pytest

from keras_smithing.optimizers import RACE_FUNCTIONS, SGD, Adam, animate_race, race


@pytest.mark.parametrize("name", sorted(RACE_FUNCTIONS))
def test_gradients_and_minima(name):
    function = RACE_FUNCTIONS[name]
    rng = np.random.default_rng(0)
    (x_low, x_high), (y_low, y_high) = function.bounds
    h = 1e-6
    for x, y in zip(rng.uniform(x_low, x_high, 5), rng.uniform(y_low, y_high, 5)):
        numeric = [
            (function.value(x + h, y) - function.value(x - h, y)) / (2 * h),
            (function.value(x, y + h) - function.value(x, y - h)) / (2 * h),
        ]
        np.testing.assert_allclose(
            function.gradient(x, y), numeric, rtol=1e-5, atol=1e-4
        )
    np.testing.assert_allclose(function.gradient(*function.minimum), 0.0, atol=1e-12)
    grid = np.meshgrid(np.linspace(x_low, x_high, 101), np.linspace(y_low, y_high, 101))
    assert function.value(*function.minimum) <= function.value(*grid).min() + 1e-12


def test_sgd_trajectory_matches_gradient_descent():
    optimizer = SGD(0.05)
    result = race({"sgd": optimizer, "adam": "adam"}, "valley", steps=20)
    point, reference = np.array(RACE_FUNCTIONS["valley"].start), []
    for _ in range(21):
        reference.append(point)
        point = point - 0.05 * RACE_FUNCTIONS["valley"].gradient(*point)
    np.testing.assert_allclose(result.trajectories["sgd"], reference, rtol=1e-5)
    np.testing.assert_allclose(
        result.losses["sgd"],
        RACE_FUNCTIONS["valley"].value(*np.array(reference).T),
        rtol=1e-5,
    )
    assert result.trajectories["adam"].shape == (21, 2)
    assert not optimizer.built and int(optimizer.iterations) == 0  # Raced a copy.


def test_divergence_stops_an_optimizer(tmp_path):
    # Curvature 10 along y: SGD with lr 1 multiplies y by -9 each step.
    result = race(
        [SGD(1.0, name="fast"), Adam(0.1, name="adam")],
        "valley",
        steps=30,
        path=tmp_path / "race.png",
    )
    assert len(result.trajectories["fast"]) < 31
    finals = result.final_losses()
    assert finals["fast"] == math.inf and math.isfinite(finals["adam"])
    assert (tmp_path / "race.png").stat().st_size > 0


def test_momentum_escapes_the_saddle_faster_than_sgd():
    result = race(
        {"sgd": SGD(0.05), "momentum": SGD(0.05, momentum=0.9)}, "saddle", steps=60
    )
    finals = result.final_losses()
    assert finals["momentum"] < -0.4 < finals["sgd"]  # Minimum -0.5 at y = +-1.


def test_animation(tmp_path):
    result = race([SGD(0.01)], "beale", steps=3, gif_path=tmp_path / "race.gif")
    assert (tmp_path / "race.gif").read_bytes()[:3] == b"GIF"
    figure = animate_race(result, tmp_path / "a.gif", frames=2, fps=2)
    assert isinstance(figure, matplotlib.figure.Figure)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`function`.*Received: function='bowl'"):
        race(["sgd"], "bowl")
    with pytest.raises(ValueError, match="`steps`"):
        race(["sgd"], steps=0)
    for start in ("ab", (float("nan"), 0.0), (1.0, 2.0, 3.0)):
        with pytest.raises(ValueError, match="`start`"):
            race(["sgd"], start=start)
    for optimizers in ([], {}, ["not_an_optimizer"], "sgd", [keras.layers.Dense(1)]):
        with pytest.raises(ValueError, match="`optimizers`"):
            race(optimizers)
