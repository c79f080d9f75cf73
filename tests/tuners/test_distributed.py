"""A chief and two workers on loopback share one CoarseToFine oracle (and its pruner)."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import keras
import pytest

from keras_smithing.tuners import read_records

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
    tuner = Branin(objective="loss", max_trials=MAX_TRIALS, trials_per_round=4,
                   hyperparameters=hp, seed=0,
                   pruner=MedianPruner(n_startup_trials=4, n_warmup_steps=1),
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


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_chief_and_two_workers_finish_the_budget(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(SCRIPT)
    port = str(_free_port())
    processes = {}
    for tuner_id in ("chief", "worker0", "worker1"):
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
