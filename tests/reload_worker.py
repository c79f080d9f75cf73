"""Loads `.keras` files in a process that imported nothing but keras_smithing.

The harness starts one such process per test session and sends it one JSON request
per line on stdin: {"model": path, "inputs": npz, "outputs": npz, "fit": npz|null}.
It answers one JSON line: {"ok": true} or {"ok": false, "error": traceback}.
"""

import json
import sys
import traceback

import keras  # noqa: E402  (imported after keras_smithing on purpose)
import numpy as np  # noqa: E402

import keras_smithing  # noqa: F401  (the only registration the files may rely on)


def _arrays(path):
    with np.load(path) as data:
        return [data[f"a{i}"] for i in range(len(data.files))]


def _serve(request):
    model = keras.saving.load_model(request["model"])  # safe_mode=True
    inputs = _arrays(request["inputs"])
    inputs = inputs[0] if len(inputs) == 1 else inputs
    if request.get("fit"):
        targets = _arrays(request["fit"])
        model.fit(
            inputs,
            targets[0] if len(targets) == 1 else targets,
            batch_size=len(targets[0]),
            epochs=request.get("fit_epochs", 1),
            shuffle=False,
            verbose=0,
        )
    outputs = keras.tree.flatten(model.predict(inputs, verbose=0))
    extra = [keras.ops.convert_to_numpy(w) for w in model.weights]
    if getattr(model, "optimizer", None) is not None:
        extra += [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    np.savez(
        request["outputs"],
        **{f"a{i}": np.asarray(a) for i, a in enumerate(outputs + extra)},
        num_outputs=np.asarray(len(outputs)),
    )


def main():
    reply = sys.stdout
    sys.stdout = sys.stderr  # Keep the answer channel clean of library prints.
    for line in sys.stdin:
        try:
            _serve(json.loads(line))
            answer = {"ok": True}
        except Exception:  # noqa: BLE001  (reported back to the test)
            answer = {"ok": False, "error": traceback.format_exc()}
        reply.write(json.dumps(answer) + "\n")
        reply.flush()


if __name__ == "__main__":
    main()
