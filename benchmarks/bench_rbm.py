"""RBM training throughput and feature quality against scikit-learn's BernoulliRBM.

Same problem for both: digits upsampled to 28x28 (784 visible units), 500 hidden
units, batch 100, PCD, the same learning rate and epochs. scikit-learn runs in a
separate worker process, so that TensorFlow's and OpenBLAS's thread pools do not
compete (which would slow scikit-learn down); the two are timed alternately, in the
same run. `ratio` is our time over scikit-learn's (below 1: we are faster) and
`speedup` its inverse, our samples/s over scikit-learn's.
"""

import multiprocessing

import numpy as np

from benchmarks.timing import jit_compile, ratio_row

HIDDEN = 500
BATCH = 100
LEARNING_RATE = 0.05


def digits_784():
    """All 1797 digits, bilinearly upsampled from 8x8 to 28x28, in [0, 1]."""
    from scipy.ndimage import zoom

    from keras_smithing.datasets import load_digits

    splits = load_digits(validation_fraction=0.2, test_fraction=0.2, seed=0)
    arrays = []
    for x in (splits.x_train, splits.x_val, splits.x_test):
        images = zoom(x.reshape(-1, 8, 8), (1, 3.5, 3.5), order=1)
        arrays.append(np.clip(images.reshape(len(x), 784), 0.0, 1.0))
    return arrays, (splits.y_train, splits.y_val, splits.y_test)


def _sklearn_rbm(epochs):
    from sklearn.neural_network import BernoulliRBM

    return BernoulliRBM(
        n_components=HIDDEN,
        batch_size=BATCH,
        learning_rate=LEARNING_RATE,
        n_iter=epochs,
        random_state=0,
    )


def _sklearn_worker(connection, x, epochs):
    """Fits a fresh BernoulliRBM per request; answers when done."""
    while connection.recv():
        _sklearn_rbm(epochs).fit(x)
        connection.send(True)


class _SklearnProcess:
    def __init__(self, x, epochs):
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_sklearn_worker, args=(child, x, epochs), daemon=True
        )
        self.process.start()

    def fit(self):
        self.connection.send(True)
        self.connection.recv()

    def close(self):
        self.connection.send(False)
        self.process.join()


def _our_rbm(x, epochs, steps_per_execution):
    import keras

    from keras_smithing.pretraining import RBM

    rbm = RBM(HIDDEN, persistent=True, num_chains=BATCH, seed=0)
    rbm.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile(),
    )
    rbm.fit(x, epochs=1, batch_size=BATCH, verbose=0)  # Traces the train step.

    def fit():
        rbm.fit(x, epochs=epochs, batch_size=BATCH, verbose=0)

    return rbm, fit


def _probe_accuracy(train_features, y_train, test_features, y_test):
    from sklearn.linear_model import LogisticRegression

    probe = LogisticRegression(max_iter=2000).fit(train_features, y_train)
    return float(probe.score(test_features, y_test))


def run(quick: bool) -> list[dict]:
    (x_train, x_val, x_test), (y_train, _, y_test) = digits_784()
    x_all = np.concatenate([x_train, x_val, x_test])
    if quick:
        x_all = x_all[:600]
    epochs = 1 if quick else 5
    repeats = 2 if quick else 7
    settings = (len(x_all) // BATCH,) if quick else (1, len(x_all) // BATCH)
    rows = []
    for dtype in ("float64", "float32"):
        worker = _SklearnProcess(x_all.astype(dtype), epochs)
        for steps_per_execution in settings:
            _, fit = _our_rbm(x_all.astype("float32"), epochs, steps_per_execution)
            row = ratio_row(
                f"RBM PCD fit, 784x500, batch 100, {epochs} epochs "
                f"(float32, steps_per_execution={steps_per_execution})",
                fit,
                f"sklearn BernoulliRBM ({dtype} input)",
                worker.fit,
                target="<= 1.0",
                repeats=repeats,
            )
            row["speedup"] = row["baseline_s"] / row["candidate_s"]
            rows.append(row)
        worker.close()

    # Feature quality: the same training on the training split, then a linear probe.
    probe_epochs = 3 if quick else 20
    sklearn_rbm = _sklearn_rbm(probe_epochs).fit(x_train)
    rbm, _ = _our_rbm(x_train, probe_epochs, len(x_train) // BATCH)
    rbm.fit(x_train, epochs=probe_epochs - 1, batch_size=BATCH, verbose=0)
    ours = _probe_accuracy(
        rbm.transform(x_train), y_train, rbm.transform(x_test), y_test
    )
    theirs = _probe_accuracy(
        sklearn_rbm.transform(x_train), y_train, sklearn_rbm.transform(x_test), y_test
    )
    rows.append(
        {
            "benchmark": "LogisticRegression test accuracy on RBM features "
            f"({probe_epochs} epochs)",
            "candidate": ours,
            "baseline": "sklearn BernoulliRBM features",
            "baseline_value": theirs,
            "ratio": ours / theirs,
            "target": ">= 1.0",
        }
    )
    return rows


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for result in run(parser.parse_args().quick):
        print(json.dumps(result))
