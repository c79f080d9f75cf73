#!/bin/bash
# Downloads, into .whl/ (ignored by git), the wheels that a lent GPU machine lacks
# for tools/bench_gpu_device.sh. That machine has no network; its image holds
# Python 3.12, JAX, PyTorch, NumPy, SciPy, scikit-learn, matplotlib, h5py, rich,
# ml-dtypes, grpcio, protobuf and pytest, but not Keras, KerasTuner or mnist1d.
# Run it here, once, from the repository root; the wheels are about 3 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >>.git/info/exclude
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    keras==3.15.1 keras-tuner==1.4.8 kt-legacy==1.0.5 namex==0.1.0 optree==0.20.0 \
    mnist1d==0.0.2.post1
ls .whl
