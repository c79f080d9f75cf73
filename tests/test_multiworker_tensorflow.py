"""TensorFlow's multi-worker strategy under Keras 3's `fit`: a recorded expectation.

`tf.distribute.MultiWorkerMirroredStrategy` with two local workers fails inside
Keras's own `fit` for a plain Dense model ("Attempt to convert a value
(PerReplica...) to a Tensor", from the trainer's symbolic build):
keras-team/keras issue 20585, tensorflow/tensorflow issue 72388. The test is a
strict expected failure: the day Keras fixes it the suite fails here, and the
pack's objects get the multi-process checks of tests/test_multiprocess.py on
TensorFlow too. Run by `make test-slow` (it needs TensorFlow).
"""

import json
import os
import subprocess
import sys
import textwrap

import keras
import pytest

from tests.multiprocess import ROOT, free_port

WORKER = textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf
    import keras

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    keras.utils.set_random_seed(1337)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = x[:, :1] - x[:, 1:2]
    with strategy.scope():
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    print("weights", float(np.sum(model.get_weights()[0])))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's own strategy"
)
@pytest.mark.xfail(
    raises=AssertionError,
    strict=True,
    reason="Keras 3's fit fails under MultiWorkerMirroredStrategy "
    "(keras-team/keras#20585, tensorflow/tensorflow#72388)",
)
def test_multi_worker_mirrored_strategy_fits_a_plain_model(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [f"localhost:{free_port()}" for _ in range(2)]
    processes = []
    for index in range(2):
        config = {
            "cluster": {"worker": workers},
            "task": {"type": "worker", "index": index},
        }
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(config),
            KERAS_BACKEND="tensorflow",
            TF_CPP_MIN_LOG_LEVEL="3",
            PYTHONPATH=str(ROOT),
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, str(script)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=180)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for index, process in enumerate(processes):
        if process.returncode != 0 and "PerReplica" not in outputs[index]:
            # Any other failure is not the recorded one: it fails the test.
            raise RuntimeError(f"worker {index}:\n{outputs[index][-3000:]}")
        assert process.returncode == 0, f"worker {index}:\n{outputs[index][-3000:]}"
    weights = [line for output in outputs for line in output.splitlines()]
    weights = [line for line in weights if line.startswith("weights")]
    assert len(weights) == 2 and weights[0] == weights[1], weights
