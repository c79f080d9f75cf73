"""Cost of the WeightPruning callback: a training epoch with it vs without it.

Target from issue 19: gradual magnitude pruning (masks applied in every train step
as kernel constraints, re-ranked every 100 steps) adds at most 10 % to the epoch
time of an ordinary `model.fit`. Each timed epoch prunes from 50 % to 90 % sparsity, so the masks are
active from the first batch on.
"""

from benchmarks.callback_cost import callback_cost_row
from keras_smithing.callbacks import WeightPruning


def run(quick: bool) -> list[dict]:
    return [
        callback_cost_row(
            "WeightPruning(0.5 -> 0.9, frequency=100)",
            lambda x, y: [WeightPruning(0.9, initial_sparsity=0.5, frequency=100)],
            quick,
            target="<= 1.1",
        )
    ]
