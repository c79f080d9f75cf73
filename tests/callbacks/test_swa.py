import warnings

import keras
import numpy as np
import pytest

from keras_smithing.callbacks import SWA
from tests import harness

X = harness.random_data((64, 4))
Y = harness.random_data((64, 1), seed=1)


def bn_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="first")(inputs)
    hidden = keras.layers.BatchNormalization(momentum=0.5, name="bn")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


class Snapshots(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.numpy() for w in self.model.trainable_weights])


def test_harness():
    history = harness.check_callback(SWA(start_epoch=1), epochs=3)
    assert len(history.history["loss"]) == 3


@pytest.mark.parametrize("start_epoch, swa_freq", [(0, 1), (2, 2)])
def test_average_equals_numpy_mean_and_bn_is_recomputed(start_epoch, swa_freq):
    model, snapshots = bn_model(), Snapshots()
    swa = SWA(start_epoch, swa_freq, batchnorm_data=X)
    model.fit(X, Y, epochs=7, batch_size=16, verbose=0, callbacks=[snapshots, swa])
    chosen = snapshots.weights[start_epoch::swa_freq]  # Epochs 0-6 or 2, 4, 6.
    assert swa.num_averaged == len(chosen) == (7 if swa_freq == 1 else 3)
    for i, weight in enumerate(model.trainable_weights):
        expected = np.mean([s[i] for s in chosen], axis=0)
        np.testing.assert_allclose(np.array(weight), expected, rtol=1e-6, atol=1e-7)
    # The last iterate is kept for restoring.
    final = dict(zip([w.path for w in model.weights], swa.final_weights))
    for weight, last in zip(model.trainable_weights, snapshots.weights[-1]):
        np.testing.assert_array_equal(final[weight.path], last)
    # Moving statistics are those of the BN inputs under the averaged weights.
    kernel, bias = (np.array(w) for w in model.get_layer("first").weights)
    bn_inputs = X @ kernel + bias
    bn = model.get_layer("bn")
    np.testing.assert_allclose(np.array(bn.moving_mean), bn_inputs.mean(0), atol=1e-5)
    np.testing.assert_allclose(
        np.array(bn.moving_variance), bn_inputs.var(0), rtol=1e-4
    )
    assert not np.allclose(final["bn/moving_mean"], bn_inputs.mean(0), atol=1e-3)


def test_warns_about_stale_batch_norm_without_data():
    with pytest.warns(UserWarning, match="batchnorm_data"):
        bn_model().fit(X, Y, epochs=2, verbose=0, callbacks=[SWA(0)])


def test_nothing_averaged_when_stopped_before_start():
    model = bn_model()
    stop = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", True)
    )
    swa = SWA(start_epoch=3)
    with pytest.warns(UserWarning, match="nothing was averaged"):
        model.fit(X, Y, epochs=5, verbose=0, callbacks=[stop, swa])
    assert swa.num_averaged == 0 and swa.final_weights is None


@pytest.mark.distributed
def test_distributed_fit():
    snapshots, swa = Snapshots(), SWA(0, batchnorm_data=X)
    model = harness.check_distributed_fit(
        bn_model, X, Y, epochs=2, callbacks=[snapshots, swa]
    )
    for i, weight in enumerate(model.trainable_weights):
        expected = np.mean([s[i] for s in snapshots.weights], axis=0)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(weight), expected, rtol=1e-6, atol=1e-7
        )


def test_bad_arguments():
    for value in (-1, 1.5, "0"):
        with pytest.raises(ValueError, match="`start_epoch`.*Received: start_epoch="):
            SWA(value)
    with pytest.raises(ValueError, match="`swa_freq`"):
        SWA(0, swa_freq=0)
    model = bn_model()
    with pytest.raises(ValueError, match="`start_epoch`.*3 epochs"):
        model.fit(X, Y, epochs=3, verbose=0, callbacks=[SWA(start_epoch=3)])


def test_non_finite_snapshots_are_left_out():
    model, snapshots = bn_model(), Snapshots()

    def poison(epoch, logs):  # Epoch 2 "diverges"; epoch 3 starts from good weights.
        if epoch == 1:
            kernel = model.get_layer("first").kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))

    class Recover(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                model.set_weights(good)

    model.fit(X, Y, epochs=1, verbose=0)
    good = model.get_weights()
    swa = SWA(0, batchnorm_data=X)
    callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=poison), snapshots, swa]
    with pytest.warns(RuntimeWarning, match="after epoch 2 are not finite"):
        model.fit(
            X, Y, epochs=4, verbose=0, callbacks=[Recover(), *callbacks], shuffle=False
        )
    assert (swa.num_averaged, swa.num_skipped) == (3, 1)
    kept = [snapshots.weights[i] for i in (0, 2, 3)]
    for i, weight in enumerate(model.trainable_weights):
        expected = np.mean([s[i] for s in kept], axis=0)
        np.testing.assert_allclose(np.array(weight), expected, rtol=1e-6, atol=1e-7)


def test_offset_start_reuse_across_fits_checkpoint_and_verbose(tmp_path, capsys):
    path = str(tmp_path / "average.weights.h5")
    swa = SWA(start_epoch=1, swa_freq=3, filepath=path, verbose=1)
    model = bn_model()
    for _ in range(2):  # The same callback, two fits: each averages its own epochs.
        snapshots = Snapshots()
        model.fit(X, Y, epochs=6, verbose=0, callbacks=[snapshots, swa])
        chosen = [snapshots.weights[epoch] for epoch in (1, 4)]
        assert swa.num_averaged == 2
        averaged = [np.mean([s[i] for s in chosen], axis=0) for i in range(4)]
        for weight, expected in zip(model.trainable_weights, averaged):
            np.testing.assert_allclose(harness.to_numpy(weight), expected, rtol=1e-6)
        # The checkpoint holds the average (of epochs 1 and 4), not the iterate.
        reloaded = bn_model()
        reloaded.load_weights(path)
        for weight, expected in zip(reloaded.trainable_weights, averaged):
            np.testing.assert_allclose(harness.to_numpy(weight), expected, rtol=1e-6)
    assert capsys.readouterr().out.count("average of 2 snapshots") == 2


def test_fit_emits_no_deprecation_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        bn_model().fit(X, Y, epochs=3, verbose=0, callbacks=[SWA(0, batchnorm_data=X)])


def test_config_and_bad_filepath():
    swa = SWA(2, swa_freq=3, filepath="a.weights.h5", verbose=1)
    assert SWA.from_config(swa.get_config()).get_config() == swa.get_config()
    with pytest.raises(ValueError, match="`filepath`"):
        SWA(0, filepath="average.keras")
