"""Seconds a Keras search spends beyond training its trials.

A digits MLP (one hidden layer of 64 units; only the learning rate is searched)
trained for 4 epochs a trial by `CoarseToFine` (the candidate, no pruner) and by
KerasTuner's `RandomSearch` (the baseline), 16 trials each (quick: 8), each
search in a fresh process, on the active Keras backend. Two rows:

- Between two trials a tuner ends the first (its oracle scores and saves it;
  `CoarseToFine` also writes its run records and the trial's checkpoint),
  draws the next (the oracle's decision), builds its model (KerasTuner runs
  `keras.backend.clear_session()` and `gc.collect()` before every build) and
  starts its `fit`: the median over trials of the seconds from the end of a
  trial's last epoch to the start of the next trial's `fit`. Goal: at most half
  KerasTuner's gap (what `TrialRecorder.search` saves by freezing the objects
  older than the search, which KerasTuner's full garbage collections would
  otherwise walk twice a trial).
- Everything outside the epochs, per trial: the search's wall time less the
  seconds inside its epochs (from each epoch's start to its end, as the first
  of the `fit` callbacks sees them), over the trials. Beyond the gaps above,
  it holds the tuner's work between epochs, where KerasTuner's `SaveBestEpoch`
  writes the model's weights at every epoch that improves the objective and
  `CoarseToFine` copies them to memory (written once a trial).

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

EPOCHS = 4
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
    """Seconds from each trial's last epoch end to the next trial's `fit` start,
    and the seconds inside the epochs."""

    def __init__(self):
        super().__init__()
        self.gaps, self.last_epoch_end = [], None
        self.in_epochs, self.epoch_start = 0.0, None

    def __deepcopy__(self, memo):
        return self  # KerasTuner copies the callbacks per trial; one record serves all.

    def on_train_begin(self, logs=None):
        if self.last_epoch_end is not None:
            self.gaps.append(time.perf_counter() - self.last_epoch_end)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.last_epoch_end = time.perf_counter()
        self.in_epochs += self.last_epoch_end - self.epoch_start


def search(name, trials):
    """One search in this process: `[median s between trials, s outside the
    epochs per trial]`."""
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
    start = time.perf_counter()
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=EPOCHS,
        batch_size=32,
        callbacks=[gaps],
        verbose=0,
    )
    outside = (time.perf_counter() - start - gaps.in_epochs) / trials
    return [statistics.median(gaps.gaps), outside]


def run(quick: bool) -> list[dict]:
    trials = 8 if quick else 16
    seconds = {
        name: json.loads(
            fresh_process_output("bench_trial_overhead", name, str(trials))
        )
        for name in TUNERS
    }
    print(f"[median s between trials, s outside epochs a trial]: {seconds}")
    rows = []
    for i, (measure, target) in enumerate(
        [
            (
                "median s between two trials (end of the last epoch to the next fit)",
                "<= 0.5",
            ),
            ("s outside the epochs per trial (search wall time less its epochs)", None),
        ]
    ):
        ours, theirs = seconds["CoarseToFine"][i], seconds["KerasTuner RandomSearch"][i]
        rows.append(
            {
                "benchmark": f"digits MLP, {trials} trials x {EPOCHS} epochs: "
                f"{measure}, CoarseToFine",
                "candidate_s": ours,
                "baseline": "KerasTuner RandomSearch",
                "baseline_s": theirs,
                "ratio": ours / theirs,
                "target": target,
            }
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(search(sys.argv[1], int(sys.argv[2]))))
    else:
        print("\n".join(json.dumps(row) for row in run("--quick" in sys.argv)))
