"""A chief and two workers on loopback share one CoarseToFine oracle (and its pruner)."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

from keras_smithing.tuners import read_records
from tests.tuners.test_pruners import PROMOTION_CURVES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_TRIALS = 16

SCRIPT = textwrap.dedent(
    """
    import math, os, sys, time, types

    import keras
    import keras_tuner

    from keras_smithing.tuners import CoarseToFine, MedianPruner

    directory, tuner_id = sys.argv[1], os.environ["KERASTUNER_TUNER_ID"]


    class Branin(CoarseToFine):
        # Plays Branin + 10 / (epoch + 1) through the epoch hooks, 3 epochs.
        # Odd-numbered trials add 1000 (Branin stays under 310 here): whichever
        # worker runs them and whenever they finish, they lie above the median
        # of the finished trials, so the pruner has trials it must stop.

        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            x1, x2 = hp.get("x1"), hp.get("x2")
            time.sleep(0.05)
            b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
            t = 1 / (8 * math.pi)
            value = (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10
            value += 1000 * (int(trial.trial_id) % 2)
            model = types.SimpleNamespace(stop_training=False)
            history = keras.callbacks.History()
            history.history = {"loss": []}
            for epoch in range(3):
                logs = {"loss": value + 10 / (epoch + 1)}
                self.on_epoch_begin(trial, model, epoch, logs=logs)
                self.on_epoch_end(trial, model, epoch, logs=logs)
                history.history["loss"].append(logs["loss"])
                if model.stop_training:
                    break
            return history


    hp = keras_tuner.HyperParameters()
    hp.Float("x1", -5.0, 10.0)
    hp.Float("x2", 0.0, 15.0)
    # This run_trial plays its epochs and saves no checkpoint, so no pruned
    # trial can be continued (promote_after=None): an even trial pruned in the
    # best third of its epoch would be, and find no weights to start from.
    tuner = Branin(objective="loss", max_trials=MAX_TRIALS, trials_per_round=4,
                   hyperparameters=hp, seed=0,
                   pruner=MedianPruner(n_startup_trials=4, n_warmup_steps=1),
                   promote_after=None,
                   directory=directory, project_name="dist")
    if tuner_id != "chief":
        # Start together, so that both workers share the trials.
        open(os.path.join(directory, f"ready_{tuner_id}"), "w").close()
        deadline = time.time() + 60
        while len([f for f in os.listdir(directory) if f.startswith("ready_")]) < 2:
            assert time.time() < deadline, "the other worker never started"
            time.sleep(0.05)
    tuner.search(verbose=0)
    print("done", tuner_id)
    """
).replace("MAX_TRIALS", str(MAX_TRIALS))


# A worker trains real Keras models (so KerasTuner saves their checkpoints in
# the shared directory) whose epoch losses a callback replaces by the scripted
# curves of the single-process promotion test: the chief's oracle must continue
# trial 3 in trial 6, and the worker must start trial 6 from trial 3's weights.
CONTINUE_SCRIPT = textwrap.dedent(
    """
    import json, sys

    import keras
    import numpy as np

    from keras_smithing.tuners import CoarseToFine, MedianPruner

    CURVES = json.loads(CURVES_JSON)


    class ScriptedLoss(keras.callbacks.Callback):
        # Runs before the tuner's callbacks (pruning, best-epoch checkpoint),
        # which read the loss it writes.

        def __init__(self, curve):
            super().__init__()
            self.curve = curve

        def on_epoch_end(self, epoch, logs=None):
            logs["loss"] = self.curve[epoch]


    class Scripted(CoarseToFine):
        def run_trial(self, trial, *args, **kwargs):
            values = trial.hyperparameters.values
            curve = CURVES[values.get("tuner/trial_id", trial.trial_id)]
            kwargs["callbacks"] = [ScriptedLoss(curve)]
            return super().run_trial(trial, *args, **kwargs)


    def build(hp):
        hp.Float("x", 0.0, 1.0)
        # A learning rate of 0 keeps the initial weights: trial 6 saves trial
        # 3's weights only if it loaded them.
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.0), "mse")
        return model


    tuner = Scripted(build, "loss", max_trials=8, trials_per_round=4, seed=0,
                     pruner=MedianPruner(n_startup_trials=1, n_warmup_steps=1),
                     promote_after=0.75, directory=sys.argv[1],
                     project_name="continue")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 1))
    tuner.search(x, y, epochs=4, batch_size=16, verbose=0)
    """
).replace("CURVES_JSON", repr(json.dumps(PROMOTION_CURVES)))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_chief_and_workers(tmp_path, script_text, workers):
    """Runs `script_text` as the chief and each of `workers`; fails on a crash."""
    script = tmp_path / "tune.py"
    script.write_text(script_text)
    port = str(_free_port())
    processes = {}
    for tuner_id in ("chief", *workers):
        env = dict(
            os.environ,
            PYTHONPATH=ROOT,
            # The backend of this run: an environment may hold only JAX and
            # PyTorch, without TensorFlow.
            KERAS_BACKEND=keras.backend.backend(),
            TF_CPP_MIN_LOG_LEVEL="3",
            KERASTUNER_TUNER_ID=tuner_id,
            KERASTUNER_ORACLE_IP="127.0.0.1",
            KERASTUNER_ORACLE_PORT=port,
        )
        processes[tuner_id] = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.time() + 150
    outputs = {}
    try:
        for tuner_id, process in processes.items():
            outputs[tuner_id] = process.communicate(
                timeout=max(1, deadline - time.time())
            )[0]
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for tuner_id, process in processes.items():
        assert process.returncode == 0, f"{tuner_id}:\\n{outputs.get(tuner_id)}"


@pytest.mark.slow
def test_chief_and_two_workers_finish_the_budget(tmp_path):
    _run_chief_and_workers(tmp_path, SCRIPT, ("worker0", "worker1"))

    project = tmp_path / "dist"
    records, _ = read_records(str(project))
    assert len(records) == MAX_TRIALS
    # The chief's pruner stopped workers' trials over gRPC.
    statuses = [r["status"] for r in records]
    assert set(statuses) == {"COMPLETED", "PRUNED"}, statuses
    epochs = {r["status"]: [] for r in records}
    for r in records:
        epochs[r["status"]].append(len(r["epoch_metrics"]["loss"]))
    assert set(epochs["COMPLETED"]) == {3}, records
    # A trial may be pruned at its last epoch (when the fourth trial finished
    # just then); once four have finished, odd trials stop after two epochs.
    assert min(epochs["PRUNED"]) == 2 and max(epochs["PRUNED"]) <= 3, records
    # Both workers ran trials; the chief only served the oracle.
    assert {r["tuner_id"] for r in records} == {"worker0", "worker1"}
    values = [tuple(sorted(r["hyperparameters"].items())) for r in records]
    assert len(set(values)) == MAX_TRIALS
    with open(project / "oracle.json") as file:
        state = json.load(file)["coarse_to_fine"]
    assert state["round"] == MAX_TRIALS // 4 - 1


@pytest.mark.slow
def test_a_worker_continues_a_pruned_trial_from_its_checkpoint(tmp_path):
    _run_chief_and_workers(tmp_path, CONTINUE_SCRIPT, ("worker0",))
    records, _ = read_records(str(tmp_path / "continue"))
    by_id = {r["trial_id"]: r for r in records}
    assert len(by_id) == 8
    continued = by_id["6"]
    assert continued["hyperparameters"]["tuner/trial_id"] == "3"
    assert continued["hyperparameters"]["tuner/initial_epoch"] == 2
    assert continued["status"] == "COMPLETED"
    assert continued["tuner_id"] == "worker0"
    # It trained epochs 2 and 3 only.
    np.testing.assert_allclose(continued["epoch_metrics"]["loss"], [0.28, 0.15])
    assert "tuner/trial_id" not in by_id["7"]["hyperparameters"]

    def saved_weights(trial_id):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        (path,) = (tmp_path / "continue" / f"trial_{trial_id}").glob("checkpoint*.h5")
        model.load_weights(str(path))
        return model.get_weights()

    for ours, theirs in zip(saved_weights("6"), saved_weights("3"), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # A fresh model (trial 2's) starts elsewhere.
    assert not np.array_equal(saved_weights("2")[0], saved_weights("3")[0])
