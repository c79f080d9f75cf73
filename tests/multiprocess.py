"""Multi-process training checks: two JAX processes on localhost, one shard each.

`check_multiprocess_fit(case)` runs `case` (a function named "module:function")
in two fresh processes joined by `jax.distributed` (gloo CPU collectives, a free
port found at run time) under `keras.distribution.DataParallel`, each process
fitting its own shard of the data with the same seed, then asserts that both
finished with identical results and, where asked, that a single process fitting
the whole data (batch by batch the union of the shards) agrees with them.

A case is a function `case(context) -> dict of arrays`; `context` says which
process runs it (`process_id`, `num_processes`), where it may write files
(`workdir`, shared by the processes), and shards its data with `context.shard`.
It runs as a script's body would: build the model, fit, return what to compare.
"""

import dataclasses
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Each process's start-up (JAX, Keras, the collectives) takes seconds on 2 cores.
TIMEOUT_S = 240


@dataclasses.dataclass
class Context:
    """What a case knows about the process it runs in.

    In the single-process reference run `num_processes` is 1 and `replicas` the
    number of processes it stands for: that process fits all the data in global
    batches.
    """

    process_id: int
    num_processes: int
    replicas: int
    workdir: str

    def batch_size(self, per_process):
        """The `batch_size` to pass to `fit`: per process, or global in the reference."""
        return per_process * (self.replicas if self.num_processes == 1 else 1)

    def shard(self, array, per_process):
        """This process's rows of `array`, so the global batches are the whole data.

        Global batch `i` of `replicas * per_process` rows is split into
        consecutive blocks of `per_process` rows; process `p` gets block `p` of
        every global batch. The single-process reference gets all of it.
        """
        array = np.asarray(array)
        global_batch = self.replicas * per_process
        if len(array) % global_batch:
            raise ValueError(
                f"{len(array)} rows do not split into global batches of "
                f"{global_batch}: pick data sizes that do."
            )
        if self.num_processes == 1:
            return array
        blocks = array.reshape(-1, self.num_processes, per_process, *array.shape[1:])
        return blocks[:, self.process_id].reshape(-1, *array.shape[1:])

    @property
    def is_first(self):
        return self.process_id == 0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(case, workdir, num_processes, replicas, seed, environment):
    """Starts `num_processes` processes running `case`; returns them."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    processes = []
    for process_id in range(num_processes):
        spec = {
            "case": case,
            "process_id": process_id,
            "num_processes": num_processes,
            "replicas": replicas,
            "port": port,
            "seed": seed,
            "workdir": str(workdir),
            "output": str(workdir / f"result_{process_id}.npz"),
        }
        env = dict(
            os.environ,
            KERAS_BACKEND="jax",
            PYTHONPATH=str(ROOT),
            TF_CPP_MIN_LOG_LEVEL="3",
            XLA_FLAGS="",  # One device per process.
            **(environment or {}),
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.multiprocess", json.dumps(spec)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    return processes


def _finish(case, workdir, processes):
    """Waits for `processes`; returns each one's results, or fails with the logs.

    When one process fails the others are stopped at once: they would otherwise
    wait in a collective until the time-out.
    """
    deadline = time.monotonic() + TIMEOUT_S
    while any(p.poll() is None for p in processes):
        failed = any(p.poll() not in (None, 0) for p in processes)
        if failed or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for process in processes:
        if process.poll() is None:
            process.kill()
    logs = [process.communicate()[0] for process in processes]
    if any(process.returncode != 0 for process in processes):
        reason = (
            "a process failed"
            if any(p.returncode not in (0, -9) for p in processes)
            else f"a process did not finish in {TIMEOUT_S} s (one waiting for "
            "ever in a collective means the processes disagreed)"
        )
        raise AssertionError(
            f"{case}: {reason}:\n"
            + "\n".join(
                f"--- process {i} (exit {p.returncode}):\n{log[-6000:]}"
                for i, (p, log) in enumerate(zip(processes, logs))
            )
        )
    return [dict(np.load(workdir / f"result_{i}.npz")) for i in range(len(processes))]


def check_multiprocess_fit(
    case,
    workdir,
    reference=True,
    not_in_reference=(),
    atol=1e-5,
    seed=1337,
    environment=None,
):
    """Runs `case` in two processes and checks that they agree.

    The single-process reference runs at the same time, in its own directory.

    Args:
        case: "module:function", the case to run (see the module docstring).
        workdir: A `pathlib.Path`, an empty directory; the two processes share
            `workdir / "processes"`, the reference gets `workdir / "reference"`.
        reference: Whether a single process fitting the whole data must give the
            same results (within `atol`): true where the math does not depend on
            how the batch is split across processes.
        not_in_reference: Names of results compared across the processes only:
            those that depend on how the data is split (a local shuffle).
        atol: Tolerance of the comparison with the single-process reference.
        seed: The seed every process sets with `keras.utils.set_random_seed`.
        environment: Extra environment variables for the processes.

    Returns:
        The list of the two processes' result dicts.
    """
    shared, alone = workdir / "processes", workdir / "reference"
    started = _start(case, shared, 2, 2, seed, environment)
    if reference:
        started_alone = _start(case, alone, 1, 2, seed, environment)
    first, second = _finish(case, shared, started)
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(
            first[name], second[name], err_msg=f"{case}: {name} differs by process"
        )
    if reference:
        (single,) = _finish(case, alone, started_alone)
        for name in first.keys() - set(not_in_reference):
            np.testing.assert_allclose(
                first[name],
                single[name],
                atol=atol,
                err_msg=f"{case}: {name} differs from the single-process fit",
            )
    return [first, second]


def _run(spec):
    import importlib

    import jax

    if spec["num_processes"] > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            f"localhost:{spec['port']}",
            num_processes=spec["num_processes"],
            process_id=spec["process_id"],
        )
    import keras

    keras.utils.set_random_seed(spec["seed"])
    if spec["num_processes"] > 1:
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(
                devices=jax.devices(), auto_shard_dataset=False
            )
        )
    module, function = spec["case"].split(":")
    case = getattr(importlib.import_module(module), function)
    context = Context(
        spec["process_id"], spec["num_processes"], spec["replicas"], spec["workdir"]
    )
    result = case(context)
    np.savez(spec["output"], **{k: np.asarray(v) for k, v in result.items()})


if __name__ == "__main__":
    _run(json.loads(sys.argv[1]))
