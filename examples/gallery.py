"""The seed notes' claims, each tied to the example that measures it.

`examples/evidence.py` fills each sentence from the example's printed JSON.
"""

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class Claim:
    """A seed claim, its example script, its figure, and its measured sentence."""

    title: str
    script: str
    figure: str
    sentence: Callable[[dict], str]


def _pct(value):
    return f"{100 * value:.1f} %"


CLAIMS = [
    Claim(
        "The default recipe",
        "quickstart.py",
        "examples/output/quickstart.png",
        lambda n: (
            "ReLU + He init + batch norm + L2 + dropout + Adam 3e-4 + early stopping "
            f"reach {_pct(n['test_accuracy'])} test accuracy on digits after "
            f"{n['epochs_trained']} epochs."
        ),
    ),
]
