"""Seconds a Keras search spends between two trials, beyond training them.

A digits MLP (one hidden layer of 64 units; only the learning rate is searched)
trained for 2 epochs a trial by `CoarseToFine` (the candidate, no pruner) and by
KerasTuner's `RandomSearch` (the baseline), 16 trials each (quick: 8), each
search in a fresh process. Between two trials a tuner ends the first (its
oracle scores and saves it; `CoarseToFine` also writes its run records), draws
the next (the oracle's decision), builds its model (KerasTuner runs
`keras.backend.clear_session()` and `gc.collect()` before every build) and
starts its `fit`. A row is the median over trials of the seconds from the end of
a trial's last epoch to the start of the next trial's `fit`, on the active
Keras backend. Goal: at most half KerasTuner's gap (what `TrialRecorder.search`
saves by freezing the objects older than the search, which KerasTuner's full
garbage collections would otherwise walk twice a trial).

Run: `python -m benchmarks --only trial_overhead [--quick]`.
"""

import json
import statistics
import sys
import tempfile
import time

import keras
import keras_tuner

from benchmarks.timing import fresh_process_output, jit_compile
from keras_smithing.datasets import load_digits
from keras_smithing.tuners import CoarseToFine

TUNERS = {
    "CoarseToFine": CoarseToFine,
    "KerasTuner RandomSearch": keras_tuner.RandomSearch,
}


def _build(hp):
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    learning_rate = hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")
    model.compile(
        keras.optimizers.Adam(learning_rate),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile(),
    )
    return model


class _Gaps(keras.callbacks.Callback):
    """Seconds from each trial's last epoch end to the next trial's `fit` start."""

    def __init__(self):
        super().__init__()
        self.gaps, self.last_epoch_end = [], None

    def __deepcopy__(self, memo):
        return self  # KerasTuner copies the callbacks per trial; one record serves all.

    def on_train_begin(self, logs=None):
        if self.last_epoch_end is not None:
            self.gaps.append(time.perf_counter() - self.last_epoch_end)

    def on_epoch_end(self, epoch, logs=None):
        self.last_epoch_end = time.perf_counter()


def search(name, trials):
    """One search in this process: the median gap between its trials, in seconds."""
    data = load_digits(seed=0)
    tuner = TUNERS[name](
        _build,
        objective="val_accuracy",
        max_trials=trials,
        seed=1,
        directory=tempfile.mkdtemp(prefix="bench_trial_overhead_"),
        project_name="digits",
    )
    gaps = _Gaps()
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=2,
        batch_size=32,
        callbacks=[gaps],
        verbose=0,
    )
    return statistics.median(gaps.gaps)


def run(quick: bool) -> list[dict]:
    trials = 8 if quick else 16
    gaps = {
        name: float(fresh_process_output("bench_trial_overhead", name, str(trials)))
        for name in TUNERS
    }
    print(f"median s between trials: {gaps}", flush=True)
    return [
        {
            "benchmark": f"digits MLP, {trials} trials x 2 epochs: median s "
            "between two trials (end of the last epoch to the next fit), CoarseToFine",
            "candidate_s": gaps["CoarseToFine"],
            "baseline": "KerasTuner RandomSearch",
            "baseline_s": gaps["KerasTuner RandomSearch"],
            "ratio": gaps["CoarseToFine"] / gaps["KerasTuner RandomSearch"],
            "target": "<= 0.5",
        }
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(search(sys.argv[1], int(sys.argv[2]))))
    else:
        print("\n".join(json.dumps(row) for row in run("--quick" in sys.argv)))
