"""The cases `tests/test_multiprocess.py` runs in two processes (see tests/multiprocess.py).

Each builds, trains and returns what both processes must agree on, the way a user's
script would; the data are drawn from a fixed seed, the same in every process, and
each process keeps its shard.
"""

import keras
import numpy as np

import keras_smithing as ks

BATCH = 8  # Per process; the global batch is twice that.


def _data(rows=64, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype("float32")
    y = (x[:, :classes] + 0.1 * rng.normal(size=(rows, classes))).argmax(1)
    return x, y.astype("int32")


def _weights(model):
    return {f"w{i}": w for i, w in enumerate(model.get_weights())}


def _fit(context, model, callbacks=(), epochs=2, optimizer=None, validate=False):
    """Compiles `model` and fits this process's shard; validates on all the data."""
    x, y = _data()
    model.compile(
        optimizer or keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy"
    )
    model.fit(
        context.shard(x, BATCH),
        context.shard(y, BATCH),
        batch_size=context.batch_size(BATCH),
        epochs=epochs,
        shuffle=False,
        validation_data=(x, y) if validate else None,
        callbacks=list(callbacks),
        verbose=0,
    )
    return model


def plain_dense(context):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    return _weights(_fit(context, model))


def precise_batch_norm(context):
    x, _ = _data()
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    # Each process passes its own shard: the statistics must still be the whole
    # data's, the same in every process.
    callback = ks.callbacks.PreciseBatchNorm(
        context.shard(x, BATCH), batch_size=context.batch_size(BATCH)
    )
    return _weights(_fit(context, model, [callback]))


def deterministic_tricks(context):
    # Everything here is deterministic given the global batches, so a single
    # process fitting the whole data must agree.
    x, _ = _data()
    inputs = keras.Input((6,))
    h = ks.layers.WeightNormalization(keras.layers.Dense(8))(inputs)
    h = ks.layers.GhostBatchNormalization(virtual_batch_size=4)(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dense(8, name="hidden")(h)
    h = keras.layers.BatchNormalization()(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(h)
    model = keras.Model(inputs, outputs)
    optimizer = ks.optimizers.Lookahead(
        ks.optimizers.AdaptiveGradientClipping(
            ks.optimizers.LayerwiseLearningRate(
                ks.optimizers.RectifiedAdam(1e-2, total_steps=8, min_lr=1e-3),
                multipliers={"head": 0.5},
            )
        ),
        sync_period=3,
    )
    callbacks = [
        ks.callbacks.WeightPruning(0.5, frequency=2, layers=["hidden", "head"]),
        ks.callbacks.SWA(start_epoch=1, batchnorm_data=context.shard(x, BATCH)),
        ks.callbacks.ReduceLROnPlateau(monitor="loss", patience=1),
    ]
    return _weights(_fit(context, model, callbacks, epochs=3, optimizer=optimizer))


class _CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def stopping_with_skewed_clocks(context):
    # Each process's clock runs at its own speed: process 0's a second per
    # reading, process 1's ten times slower. Both must stop at the same batch
    # (process 0's decision); PrecheltEarlyStopping decides from global metrics.
    from keras_smithing.callbacks import time_stopping

    step = 1.0 if context.is_first else 0.1
    readings = iter(np.arange(0.0, 1e6, step))
    time_stopping.time = type("Clock", (), {"monotonic": lambda: next(readings)})
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(3, activation="softmax")]
    )
    counter = _CountBatches()
    timer = ks.callbacks.TimeStopping(seconds=6.5)
    early = ks.callbacks.PrecheltEarlyStopping("GL", threshold=1e-6, strip_length=2)
    _fit(
        context,
        model,
        [timer, early, counter],
        epochs=4,
        optimizer=keras.optimizers.SGD(0.5),
        validate=True,
    )
    return {
        "batches": counter.batches,
        "timer_stopped": [timer.stopped_epoch, timer.stopped_batch],
        **_weights(model),
    }


def local_data_tools(context):
    # Tools that measure each process's own data: each must pool what it
    # measures, or the processes' replicated weights drift apart. Files are
    # written by process 0 only.
    import os

    x, y = _data()
    x_local, y_local = context.shard(x, BATCH), context.shard(y, BATCH)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    report = ks.initializers.lsuv_init(model, x_local, seed=0)
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    finder = ks.callbacks.find_learning_rate(
        model,
        x_local,
        y_local,
        num_steps=8,
        batch_size=context.batch_size(BATCH),
        seed=0,
    )
    health = ks.callbacks.GradientHealth(
        (x_local, y_local),
        every_n_batches=2,
        log_dir=os.path.join(context.workdir, "health"),
        plot_path=os.path.join(context.workdir, "health.png"),
    )
    swa = ks.callbacks.SWA(
        start_epoch=0, filepath=os.path.join(context.workdir, "avg.weights.h5")
    )
    _fit(context, model, [health, swa])
    return {
        "lsuv_std": [r.final_std for r in report],
        "finder_losses": finder.losses,
        "health_ratio": health.history["gradient_ratio"],
        "health_std": health.history["activation_std"][model.layers[0].name],
        **_weights(model),
    }


def saliency_pruning(context):
    # Each process probes its own examples; the masks must still agree.
    x, y = _data()
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    pruning = ks.callbacks.WeightPruning(
        0.5,
        criterion="saliency",
        frequency=2,
        probe_data=(context.shard(x, BATCH), context.shard(y, BATCH)),
    )
    _fit(context, model, [pruning])
    return {f"mask{i}": m for i, m in enumerate(pruning.masks.values())} | _weights(
        model
    )


def pretraining_family(context):
    # The RBM family, the denoising autoencoder, a deep belief network and greedy
    # layer-wise pretraining train with their own steps; each process feeds its
    # shard. Features come from each process's own rows (Keras's `predict` cannot
    # run across processes; `transform` calls the model directly there).
    x, _ = _data()
    binary = context.shard((x > 0).astype("float32"), BATCH)
    rbm = ks.pretraining.RBM(4, persistent=True, num_chains=BATCH, seed=1)
    rbm.compile(optimizer=keras.optimizers.SGD(0.05))
    rbm.fit(
        binary, epochs=2, batch_size=context.batch_size(BATCH), shuffle=False, verbose=0
    )
    dae = ks.pretraining.DenoisingAutoencoder(4, seed=1)
    dae.compile("adam", "binary_crossentropy")
    dae.fit(
        binary, epochs=2, batch_size=context.batch_size(BATCH), shuffle=False, verbose=0
    )
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5, activation="sigmoid"),
            keras.layers.Dense(4, activation="sigmoid"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    # Two hidden layers: the second is pretrained on what the first computes.
    greedy = ks.callbacks.GreedyLayerwisePretraining(
        binary,
        epochs_per_layer=1,
        batch_size=context.batch_size(BATCH),
        layers=[model.layers[0].name, model.layers[1].name],
    )
    _fit(context, model, [greedy], epochs=1)
    _, y = _data()
    hybrid = ks.pretraining.HybridRBMClassifier(4, num_classes=3, seed=1)
    hybrid.compile(optimizer=keras.optimizers.SGD(0.05))
    hybrid.fit(
        binary,
        context.shard(y, BATCH),
        epochs=2,
        batch_size=context.batch_size(BATCH),
        shuffle=False,
        verbose=0,
    )
    dbn = ks.pretraining.DeepBeliefNetwork([5, 4], seed=1)
    dbn.pretrain(binary, epochs_per_layer=1, batch_size=context.batch_size(BATCH))
    features = rbm.transform(binary[:BATCH])
    return {
        **{f"rbm{i}": w for i, w in enumerate(rbm.get_weights())},
        **{f"dae{i}": w for i, w in enumerate(dae.get_weights())},
        **_weights(model),
        **{f"dbn{i}": w for i, w in enumerate(dbn.get_weights())},
        **{f"hybrid{i}": w for i, w in enumerate(hybrid.get_weights())},
        # Each process's first local batch is the same rows in both runs only for
        # process 0; compare shapes across processes.
        "feature_shape": np.array(features.shape),
    }


def prediction_tools(context):
    # mc_predict and tta_predict run in each process on the inputs it is given
    # (here the same rows everywhere, so the samples must agree).
    x, _ = _data()
    inputs = keras.Input((6,))
    h = ks.layers.RandomJitter(0.1, seed=2)(inputs)
    h = keras.layers.Dense(8, activation="relu")(h)
    h = keras.layers.Dropout(0.5, seed=3)(h)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
    _fit(context, model)
    mc = ks.mc_predict(model, x[:8], num_samples=4)
    tta = ks.tta_predict(model, x[:8], num_samples=4, mc_dropout=True)
    return {"mc": mc.samples, "tta": tta.samples, **_weights(model)}


def search_with_pruner(context):
    # A KerasTuner search whose every trial is a two-process fit: both processes
    # run the same trials and the pruner stops the same ones at the same epoch.
    # Each process gets its own KerasTuner directory (KerasTuner writes its own
    # files); the pack's records are kept by process 0 only.
    import os

    import keras_tuner

    x, y = _data()

    def build(hp):
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(hp.Int("units", 2, 16), activation="relu"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile(
            # Rates up to 30 diverge: the pruner has trials to stop.
            keras.optimizers.SGD(hp.Float("lr", 1e-3, 30.0, sampling="log")),
            "sparse_categorical_crossentropy",
        )
        return model

    tuner = ks.tuners.CoarseToFine(
        build,
        objective="val_loss",
        max_trials=6,
        trials_per_round=3,
        seed=3,
        pruner=ks.tuners.MedianPruner(n_startup_trials=1),
        directory=os.path.join(context.workdir, f"tuner_{context.process_id}"),
        project_name="search",
    )
    tuner.search(
        context.shard(x, BATCH),
        context.shard(y, BATCH),
        batch_size=context.batch_size(BATCH),
        epochs=3,
        shuffle=False,
        validation_data=(x, y),
        verbose=0,
    )
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    stopped = keras_tuner.engine.trial.TrialStatus.STOPPED
    return {
        "stopped": [t.status == stopped for t in trials],
        "epochs": [len(t.metrics.get_history("val_loss")) for t in trials],
        "scores": [t.score for t in trials],
    }
