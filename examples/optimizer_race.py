"""The race of the optimizers: SGD, momentum, Nesterov, AdaGrad, RMSprop and Adam.

The seed notes' picture: on Rosenbrock's curved, narrow valley plain SGD crawls
along the valley floor while momentum (and Nesterov's look-ahead variant) builds up
speed along it; the adaptive methods (AdaGrad, RMSprop, Adam) rescale each
coordinate. Near a saddle point (f = x^2 - y^2 + y^4/2, started almost on the
ridge) plain SGD takes long to leave the flat direction, while momentum and the
adaptive methods, which rescale the tiny gradient, escape much sooner; the example
prints each optimizer's final f and the first step at which f fell below a
target. Every run uses real Keras optimizers stepping on the analytic gradient.

Run: python examples/optimizer_race.py [--quick]
"""

import numpy as np
from _common import output_path, print_summary, run_main

from keras_smithing.optimizers import (
    SGD,
    Adagrad,
    Adam,
    RMSprop,
    race,
)


def racers(lr, adaptive_lr):
    """The six contestants: `lr` for the SGD family, `adaptive_lr` for the rest."""
    return {
        "SGD": SGD(lr),
        "Momentum": SGD(lr, momentum=0.9),
        "Nesterov": SGD(lr, momentum=0.9, nesterov=True),
        "AdaGrad": Adagrad(10 * adaptive_lr),
        "RMSprop": RMSprop(adaptive_lr),
        "Adam": Adam(5 * adaptive_lr),
    }


def main(quick: bool = False) -> dict:
    steps = 150 if quick else 600
    # (SGD-family lr, adaptive lr, "arrived" level of f for the step count).
    settings = {"rosenbrock": (1e-3, 1e-2, 0.01), "saddle": (2e-2, 1e-2, -0.4)}
    summary = {"steps": steps}
    for function, (lr, adaptive_lr, target) in settings.items():
        result = race(
            racers(lr, adaptive_lr),
            function,
            steps=steps,
            path=output_path(f"optimizer_race_{function}.png"),
            gif_path=None if quick else output_path(f"optimizer_race_{function}.gif"),
        )
        finals = result.final_losses()
        print(f"{function}: final f after {steps} steps; first step with f < {target}")
        summary[function] = {}
        for name, value in finals.items():
            below = np.flatnonzero(result.losses[name] < target)
            arrived = int(below[0]) if below.size else None
            print(f"  {name:9s} {value:10.4g}  {arrived}")
            summary[function][name] = {
                "final_f": round(value, 6),
                "steps_to_target": arrived,
            }
    print_summary(summary)
    return summary


if __name__ == "__main__":
    run_main(main, __doc__, quick_help="fewer steps, no GIF")
