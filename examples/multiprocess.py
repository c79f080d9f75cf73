"""Beyond one machine: two processes train one model of the pack's tricks together.

Keras 3 trains across processes (and hosts) with JAX and `keras.distribution`. This
script starts two local worker processes that join one JAX job
(`keras.distribution.initialize` with a coordinator address, the process count and
each process's index), each feeding its own half of scikit-learn's digits into a
data-parallel `fit`. The model uses weight normalization, ghost batch norm,
Lookahead over RectifiedAdam, gradual pruning and precise batch-norm statistics. It
then trains the same model in one process on all the data and compares.

Going from one machine to several changes two things only: the coordinator address
(here `localhost:PORT`; on a cluster, process 0's host) and the number of
processes. Every process runs the same script with its own index.

Run: KERAS_BACKEND=jax python examples/multiprocess.py [--quick]
(the workers need JAX; set SMITHING_JAX_PYTHON to a Python that has it when
this one does not).
"""

import json
import os
import socket
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
from _common import finish_figure, output_path, print_summary, run_main

PROCESSES = 2
BATCH = 32  # Per process: the global batch is PROCESSES * BATCH.


def build_and_fit(process_id, num_processes, epochs):
    """One process's part of the job: build, fit its shard, return the results."""
    import keras

    import keras_smithing as ks
    from keras_smithing.datasets import load_digits

    keras.utils.set_random_seed(0)  # The same seed in every process.
    data = load_digits()
    # Every global batch is the processes' batches side by side: process p feeds
    # rows p*BATCH .. (p+1)*BATCH-1 of each block of num_processes*BATCH rows.
    global_batch = PROCESSES * BATCH
    rows = len(data.x_train) // global_batch * global_batch
    blocks = np.arange(rows).reshape(-1, PROCESSES, BATCH)
    if num_processes == 1:
        index, batch_size = blocks.reshape(-1), global_batch
    else:
        index, batch_size = blocks[:, process_id].reshape(-1), BATCH
    x, y = data.x_train[index], data.y_train[index]

    inputs = keras.Input((x.shape[1],))
    h = ks.layers.WeightNormalization(keras.layers.Dense(128))(inputs)
    h = ks.layers.GhostBatchNormalization(virtual_batch_size=16)(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dense(64, activation="relu", name="hidden")(h)
    h = keras.layers.BatchNormalization()(h)
    outputs = keras.layers.Dense(data.num_classes, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=ks.optimizers.Lookahead(ks.optimizers.RectifiedAdam(3e-3)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=False,  # The shards must stay aligned batch by batch.
        validation_data=(data.x_val, data.y_val),
        callbacks=[
            ks.callbacks.WeightPruning(0.5, layers=["hidden"], frequency=10),
            ks.callbacks.PreciseBatchNorm(x, batch_size=batch_size),
        ],
        verbose=0,
    )
    return history.history, model.get_weights()


def worker(process_id, port, epochs, output):
    """A worker: joins the JAX job, trains its shard, saves what it ended with."""
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU only.
    import keras

    keras.distribution.initialize(f"localhost:{port}", PROCESSES, process_id)
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    )
    history, weights = build_and_fit(process_id, PROCESSES, epochs)
    np.savez(output, *weights)
    with open(output + ".json", "w") as file:
        json.dump(history, file)


def _launch(arguments):
    python = os.environ.get("SMITHING_JAX_PYTHON", sys.executable)
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([python, __file__, *map(str, arguments)], env=env)


def main(quick=False):
    epochs = 4 if quick else 30
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outputs = [str(output_path(f"multiprocess_{p}")) for p in range(PROCESSES)]
    workers = [
        _launch(["--worker", p, port, epochs, outputs[p]]) for p in range(PROCESSES)
    ]
    alone = str(output_path("multiprocess_alone"))
    reference = _launch(["--alone", epochs, alone])
    for process in [*workers, reference]:
        if process.wait() != 0:
            raise SystemExit(f"a process failed (exit {process.returncode})")

    def load(path):
        with np.load(path + ".npz") as arrays, open(path + ".json") as file:
            return [arrays[k] for k in sorted(arrays, key=lambda k: int(k[4:]))], (
                json.load(file)
            )

    (first, history), (second, _) = load(outputs[0]), load(outputs[1])
    single, single_history = load(alone)
    between = max(float(np.max(np.abs(a - b))) for a, b in zip(first, second))
    vs_single = max(float(np.max(np.abs(a - b))) for a, b in zip(first, single))

    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.plot(history["val_loss"], "-", label=f"{PROCESSES} processes, half each")
    axis.plot(single_history["val_loss"], "--", label="1 process, all the data")
    axis.set(xlabel="epoch", ylabel="validation loss", yscale="log")
    axis.legend()
    axis.set_title("Data-parallel training across processes (JAX)")
    finish_figure(figure, output_path("multiprocess.png"))
    print_summary(
        {
            "processes": PROCESSES,
            "epochs": epochs,
            "max_difference_between_processes": between,
            "max_difference_vs_one_process": vs_single,
            "val_accuracy": history["val_accuracy"][-1],
            "val_accuracy_one_process": single_history["val_accuracy"][-1],
        }
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1:2] == ["--alone"]:
        history, weights = build_and_fit(0, 1, int(sys.argv[2]))
        np.savez(sys.argv[3], *weights)
        with open(sys.argv[3] + ".json", "w") as file:
            json.dump(history, file)
    else:
        run_main(main, __doc__)
