"""Cost of the GradientHealth callback: a training epoch with it vs without it.

Target from issue 6: at `every_n_batches=50` the callback adds at most 15 % to the
epoch time of an ordinary `model.fit`.
"""

from benchmarks.callback_cost import callback_cost_row
from keras_smithing.callbacks import GradientHealth


def run(quick: bool) -> list[dict]:
    return [
        callback_cost_row(
            "GradientHealth(every_n_batches=50)",
            lambda x, y: [GradientHealth((x[:256], y[:256]), every_n_batches=50)],
            quick,
            target="<= 1.15",
        )
    ]
