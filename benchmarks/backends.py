"""The benchmarks on every installed backend, with and without `jit_compile`.

Usage: python -m benchmarks.backends [--full] [--only SUBSTRING]

Runs `python -m benchmarks --by-backend` once per combination, each in its own
process: TensorFlow with Keras's default compilation and with `jit_compile=True`
(XLA), JAX, and PyTorch. On a GPU machine this is the one command to run (quick mode
by default: under 8 minutes on one GPU); on CPU it records the CPU rows. Each run's
rows land in benchmarks/backends.json under the device and backend, and the per-backend
table of docs/benchmarks.md is rewritten.

Each backend runs in the first of these interpreters that can import it:
`$SMITHING_TF_PYTHON` / `$SMITHING_MULTI_PYTHON` (set by `make bench-backends` to
.venv and .venv-jax-torch), then this interpreter.
"""

import argparse
import os
import subprocess
import sys

# (backend, module to import, extra runner flags, interpreter variable)
COMBINATIONS = (
    ("tensorflow", "tensorflow", [], "SMITHING_TF_PYTHON"),
    ("tensorflow", "tensorflow", ["--jit-compile"], "SMITHING_TF_PYTHON"),
    ("jax", "jax", [], "SMITHING_MULTI_PYTHON"),
    ("torch", "torch", [], "SMITHING_MULTI_PYTHON"),
)


def _interpreter(module, variable):
    for python in (os.environ.get(variable), sys.executable):
        if (
            python
            and subprocess.run(
                [python, "-c", f"import {module}"], capture_output=True
            ).returncode
            == 0
        ):
            return python
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    failed = []
    for backend, module, flags, variable in COMBINATIONS:
        python = _interpreter(module, variable)
        name = " ".join([backend, *flags])
        if python is None:
            print(f"# {name}: skipped, {module} is not installed", flush=True)
            continue
        command = [python, "-m", "benchmarks", "--by-backend", *flags]
        command += ["--only", args.only] + ([] if args.full else ["--quick"])
        print(f"# {name}: {' '.join(command)}", flush=True)
        env = dict(os.environ, KERAS_BACKEND=backend)
        if subprocess.run(command, env=env).returncode != 0:
            failed.append(name)
    if failed:
        sys.exit(f"benchmark runs failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
