"""The race of the optimizers: real Keras optimizers on 2-D test functions."""

import dataclasses
import math

import keras
import numpy as np

from keras_smithing.utils.backend import to_numpy
from keras_smithing.utils.validation import (
    check_int,
    check_keras_optimizer,
    check_one_of,
    invalid_argument,
)


@dataclasses.dataclass(frozen=True)
class RaceFunction:
    """A 2-D test function with its analytic gradient.

    Attributes:
        name: Its name.
        value: `f(x, y)` on NumPy arrays (broadcasting).
        gradient: `(df/dx, df/dy)` at one point, as a float64 array.
        start: The default starting point.
        minimum: A global minimum `(x, y)`.
        bounds: `((x_low, x_high), (y_low, y_high))`, the plotted window.
    """

    name: str
    value: object
    gradient: object
    start: tuple
    minimum: tuple
    bounds: tuple


def _rosenbrock_gradient(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def _beale_terms(x, y):
    return [(c - x + x * y**k, k) for c, k in ((1.5, 1), (2.25, 2), (2.625, 3))]


def _beale(x, y):
    return sum(t**2 for t, _ in _beale_terms(x, y))


def _beale_gradient(x, y):
    terms = _beale_terms(x, y)
    dx = sum(2 * t * (y**k - 1) for t, k in terms)
    dy = sum(2 * t * k * x * y ** (k - 1) for t, k in terms)
    return np.array([dx, dy])


RACE_FUNCTIONS = {
    f.name: f
    for f in (
        RaceFunction(
            "rosenbrock",
            lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
            _rosenbrock_gradient,
            start=(-1.2, 1.0),
            minimum=(1.0, 1.0),
            bounds=((-2.0, 2.0), (-1.0, 3.0)),
        ),
        RaceFunction(
            "beale",
            _beale,
            _beale_gradient,
            start=(1.0, 1.4),
            minimum=(3.0, 0.5),
            bounds=((-1.0, 4.5), (-1.5, 2.0)),
        ),
        # A saddle at the origin between two minima at (0, +-1): f = x^2 - y^2 +
        # y^4 / 2. Started almost on the ridge, optimizers must escape along y.
        RaceFunction(
            "saddle",
            lambda x, y: x**2 - y**2 + 0.5 * y**4,
            lambda x, y: np.array([2 * x, -2 * y + 2 * y**3]),
            start=(1.5, 1e-3),
            minimum=(0.0, 1.0),
            bounds=((-2.0, 2.0), (-1.5, 1.5)),
        ),
        # A narrow valley: curvatures 0.1 and 10 (condition number 100).
        RaceFunction(
            "valley",
            lambda x, y: 0.05 * x**2 + 5 * y**2,
            lambda x, y: np.array([0.1 * x, 10 * y]),
            start=(-9.0, 1.0),
            minimum=(0.0, 0.0),
            bounds=((-10.0, 2.0), (-1.5, 1.5)),
        ),
    )
}


@dataclasses.dataclass
class RaceResult:
    """Trajectories of an optimizer race.

    Attributes:
        function: The `RaceFunction` raced on.
        steps: The number of steps each optimizer was given.
        trajectories: `{name: array (n + 1, 2)}`, the start and each step's
            point; shorter than `steps + 1` when an optimizer diverged.
        losses: `{name: array (n + 1,)}`, the function value along it.

    Example:

    >>> import keras
    >>> from keras_smithing.optimizers import RaceResult, race
    >>> result = race(
    ...     [keras.optimizers.SGD(0.1, name="sgd"), keras.optimizers.Adam(0.1)],
    ...     "valley",
    ...     steps=50,
    ... )
    >>> isinstance(result, RaceResult)
    True
    >>> result.function.name, result.steps, sorted(result.trajectories)
    ('valley', 50, ['adam', 'sgd'])
    >>> result.losses["sgd"].shape
    (51,)
    """

    function: RaceFunction
    steps: int
    trajectories: dict
    losses: dict

    def final_losses(self):
        """`{name: last function value}` (inf for a diverged optimizer)."""
        return {
            name: float(loss[-1]) if len(loss) == self.steps + 1 else math.inf
            for name, loss in self.losses.items()
        }


def _named_copies(optimizers):
    if isinstance(optimizers, dict):
        items = list(optimizers.items())
    elif isinstance(optimizers, (list, tuple)):
        items = [(getattr(o, "name", str(o)), o) for o in optimizers]
    else:
        items = []
    if not items:
        raise invalid_argument(
            "optimizers", optimizers, "a non-empty dict {name: optimizer} or list"
        )
    copies = {}
    for name, optimizer in items:
        optimizer = check_keras_optimizer("optimizers", optimizer)
        # A fresh copy: the caller's optimizer is neither built nor stepped.
        config = keras.optimizers.serialize(optimizer)
        copies[str(name)] = keras.optimizers.deserialize(config)
    return copies


def race(
    optimizers, function="rosenbrock", steps=300, start=None, path=None, gif_path=None
):
    """Runs Keras optimizers side by side on a 2-D test function.

    A race of the optimizers: each optimizer (a fresh copy, built
    from its config) minimizes the same function from the same start, with the
    function's analytic gradient, so the trajectories show how momentum,
    Nesterov, AdaGrad, RMSprop and Adam cope with a curved valley (Rosenbrock,
    Beale), a saddle point and a narrow, ill-conditioned valley. An optimizer whose
    point becomes non-finite or leaves 10^6 is stopped (diverged).

    Args:
        optimizers: Dict `{label: optimizer}`, or a list of optimizers (labelled
            by their `name`); optimizer instances or names such as `"adam"`.
        function: One of `"rosenbrock"`, `"beale"`, `"saddle"`, `"valley"`.
        steps: Integer >= 1, the number of steps per optimizer.
        start: Optional `(x, y)` start; the function's default otherwise.
        path: Optional file path for the contour plot (`plot_race`).
        gif_path: Optional file path for an animated GIF (`animate_race`).

    Returns:
        A `RaceResult`.

    Example:

    >>> import keras
    >>> from keras_smithing.optimizers import race
    >>> result = race(
    ...     {"SGD": keras.optimizers.SGD(1e-3), "Adam": keras.optimizers.Adam(0.05)},
    ...     "rosenbrock",
    ...     steps=100,
    ...     path="race.png",  # The contour plot, as plot_race draws it.
    ... )
    >>> result.trajectories["Adam"].shape  # The start and 100 steps.
    (101, 2)
    >>> losses = result.final_losses()
    >>> bool(losses["Adam"] < losses["SGD"])
    True
    """
    check_one_of("function", function, RACE_FUNCTIONS)
    test_function = RACE_FUNCTIONS[function]
    steps = check_int("steps", steps, minimum=1)
    start = test_function.start if start is None else start
    try:
        point = np.asarray(start, "float64").reshape(2)
    except (TypeError, ValueError):
        point = np.array([math.nan, math.nan])
    if not np.all(np.isfinite(point)):
        raise invalid_argument("start", start, "a pair (x, y) of finite floats")
    trajectories, losses = {}, {}
    for name, optimizer in _named_copies(optimizers).items():
        variable = keras.Variable(point.astype("float32"), name="point")
        path_points = [point.astype("float32").astype("float64")]
        for _ in range(steps):
            gradient = test_function.gradient(*path_points[-1])
            optimizer.apply(
                [keras.ops.convert_to_tensor(gradient, "float32")], [variable]
            )
            current = to_numpy(variable).astype("float64")
            if not np.all(np.isfinite(current)) or np.abs(current).max() > 1e6:
                break
            path_points.append(current)
        trajectories[name] = np.array(path_points)
        losses[name] = test_function.value(*trajectories[name].T)
    result = RaceResult(test_function, steps, trajectories, losses)
    if path is not None:
        plot_race(result, path)
    if gif_path is not None:
        animate_race(result, gif_path)
    return result


def _race_axes(result, figure):
    function = result.function
    (x_low, x_high), (y_low, y_high) = function.bounds
    grid_x, grid_y = np.meshgrid(
        np.linspace(x_low, x_high, 120), np.linspace(y_low, y_high, 120)
    )
    values = function.value(grid_x, grid_y)
    axes = figure.subplots()
    axes.contour(
        grid_x,
        grid_y,
        np.log1p(values - values.min()),
        levels=20,
        cmap="Greys",
        linewidths=0.6,
    )
    axes.plot(*function.minimum, "k*", markersize=12, label="minimum")
    axes.plot(*result.trajectories[next(iter(result.trajectories))][0], "ko")
    axes.set_xlim(x_low, x_high)
    axes.set_ylim(y_low, y_high)
    axes.set_xlabel("x")
    axes.set_ylabel("y")
    return axes


def _check_result(result):
    if not isinstance(result, RaceResult):
        raise invalid_argument("result", result, "a RaceResult, as race returns")


def plot_race(result, path=None):
    """Contour plot of the function with every optimizer's trajectory.

    Args:
        result: A `RaceResult`.
        path: Optional file path; the figure is saved there when given.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import keras
    >>> from keras_smithing.optimizers import plot_race, race
    >>> result = race(
    ...     {"momentum": keras.optimizers.SGD(1e-3, momentum=0.9), "adam": "adam"},
    ...     "beale",
    ...     steps=50,
    ... )
    >>> figure = plot_race(result, "beale.png")
    >>> len(figure.axes)
    1
    """
    _check_result(result)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 5.5))
    axes = _race_axes(result, figure)
    finals = result.final_losses()
    for name, points in result.trajectories.items():
        label = f"{name} (f={finals[name]:.3g})"
        axes.plot(points[:, 0], points[:, 1], "-", linewidth=1.5, label=label)
    axes.set_title(f"Race of the optimizers: {result.function.name}")
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def animate_race(result, path, frames=40, fps=10):
    """Writes the race as an animated GIF (matplotlib's `PillowWriter`).

    Args:
        result: A `RaceResult`.
        path: The `.gif` file to write.
        frames: Integer >= 1, the number of frames (steps are subsampled).
        fps: Integer >= 1, frames per second.

    Returns:
        The matplotlib `Figure` of the last frame.

    Example:

    >>> import os
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import keras
    >>> from keras_smithing.optimizers import animate_race, race
    >>> result = race(
    ...     {"rmsprop": keras.optimizers.RMSprop(0.05), "adam": "adam"},
    ...     "saddle",
    ...     steps=40,
    ... )
    >>> figure = animate_race(result, "saddle.gif", frames=10)
    >>> os.path.exists("saddle.gif")
    True
    """
    _check_result(result)
    from matplotlib.animation import PillowWriter
    from matplotlib.figure import Figure

    frames, fps = check_int("frames", frames), check_int("fps", fps)
    figure = Figure(figsize=(6, 4.5))
    axes = _race_axes(result, figure)
    lines = {
        name: axes.plot([], [], "-o", markevery=[-1], markersize=4, label=name)[0]
        for name in result.trajectories
    }
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    longest = max(len(points) for points in result.trajectories.values())
    writer = PillowWriter(fps=fps)
    with writer.saving(figure, path, dpi=80):
        for end in np.unique(np.linspace(1, longest, frames).astype(int)):
            for name, points in result.trajectories.items():
                lines[name].set_data(points[:end, 0], points[:end, 1])
            axes.set_title(f"{result.function.name}: step {end - 1}")
            writer.grab_frame()
    return figure
