#!/bin/bash
# `make bench-gpu` for a lent GPU machine without network (no venvs, no pip index):
# the per-backend benchmarks (quick mode) on JAX and PyTorch, then the layer
# harness's mixed-precision and jit checks on both. TensorFlow is not in that
# machine's image and its GPU wheel is too large to carry, so its rows stay CPU.
#
# First, here: `bash tools/gpu_wheels.sh`. Then one device call, from the
# repository root, carrying `.whl`:
#     bash tools/bench_gpu_device.sh
# It writes benchmarks/backends.json, docs/benchmarks.md and the test logs to
# $OUT (they come back); commit the two files. It stops itself inside the device's
# 10-minute command limit: the benchmarks get 7 minutes, the checks what is left.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
status=0
timeout 420 python3 -m benchmarks.backends 2>&1 | tee "$OUT/bench.log" || status=1
cp benchmarks/backends.json docs/benchmarks.md "$OUT/"
for backend in jax torch; do
    left=$((560 - SECONDS))
    if [ "$left" -lt 60 ]; then
        echo "not run: too little of the 10 minutes left" >"$OUT/tests_$backend.log"
        status=1
        continue
    fi
    SMITHING_TORCH_COMPILE=1 KERAS_BACKEND=$backend timeout $((left / 2)) python3 -m pytest \
        tests/layers -m "not slow" -k "harness or mixed or jit" -q -p no:cacheprovider \
        2>&1 | tail -30 >"$OUT/tests_$backend.log" || status=1
done
exit $status
