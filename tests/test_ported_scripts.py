"""Real public scripts that used tfa, tfmot, keras-contrib or KerasTuner, ported.

Each test names its source (repository and path), keeps the original's model,
optimizer and callback setup, converts it as docs/migration.md says,
replaces the data set by seeded synthetic data of the original shapes (fewer
examples and epochs), and asserts the numbers that show the port still means
what the original meant, against a NumPy transcription of the original
library's code where there is one.
"""

import math

import keras
import numpy as np
import pytest

from keras_smithing.callbacks import SWA, WeightPruning
from keras_smithing.layers import LayerNormLSTMCell, WeightNormalization
from keras_smithing.optimizers.schedules import CyclicalLearningRate
from tests import harness


def conv2d_valid(x, kernel):
    """NumPy 'valid' convolution, stride 1: NHWC input, HWIO kernel."""
    height, width = kernel.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (height, width), axis=(1, 2))
    return np.einsum("nhwcij,ijco->nhwo", windows, kernel)


class Snapshots(keras.callbacks.Callback):
    """Records the trainable weights at every epoch end (the iterates)."""

    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([harness.to_numpy(w) for w in self.model.trainable_weights])


def test_weight_normalization_cifar10_convnet():
    # Source: tensorflow/addons docs/tutorials/layers_weightnormalization.ipynb.
    # A LeNet-style CIFAR-10 ConvNet whose every Conv2D and Dense is wrapped in
    # tfa.layers.WeightNormalization (data_init=True by default), compiled with
    # "adam" and categorical cross-entropy, fit with batch_size=32 (10 epochs).
    # Port: tfa.layers.WeightNormalization -> keras_smithing's, same arguments.
    x = np.random.default_rng(0).uniform(size=(64, 32, 32, 3)).astype("float32")
    labels = np.random.default_rng(1).integers(0, 10, size=64)
    y = keras.utils.to_categorical(labels, 10)
    model = keras.Sequential(
        [
            WeightNormalization(keras.layers.Conv2D(6, 5, activation="relu")),
            keras.layers.MaxPooling2D(2, 2),
            WeightNormalization(keras.layers.Conv2D(16, 5, activation="relu")),
            keras.layers.MaxPooling2D(2, 2),
            keras.layers.Flatten(),
            WeightNormalization(keras.layers.Dense(120, activation="relu")),
            WeightNormalization(keras.layers.Dense(84, activation="relu")),
            WeightNormalization(keras.layers.Dense(10, activation="softmax")),
        ]
    )
    model.compile(
        optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"]
    )
    model.build((None, 32, 32, 3))
    first = model.layers[0]
    v0 = harness.to_numpy(first.layer.kernel).astype("float64")
    # No shuffling (the tutorial shuffled), so the data init sees x[:32].
    history = model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))

    # tfa's _data_dep_init, transcribed: moments of the first batch through the
    # layer with kernel v (activation off, bias 0), g = ||v|| / sqrt(var + 1e-10),
    # bias = -mean / sqrt(var + 1e-10).
    t = conv2d_valid(x[:32].astype("float64"), v0)
    mean, variance = t.mean(axis=(0, 1, 2)), t.var(axis=(0, 1, 2))
    norm0 = np.sqrt(np.sum(np.square(v0), axis=(0, 1, 2)))
    tfa_g = norm0 / np.sqrt(variance + 1e-10)
    tfa_bias = -mean / np.sqrt(variance + 1e-10)
    # The port keeps that init in offsets on top of g (which started at ||v||)
    # and of the bias (which started at 0); training moves g and the bias, not
    # the offsets.
    np.testing.assert_allclose(
        harness.to_numpy(first.g_offset), tfa_g - norm0, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        harness.to_numpy(first.bias_offset), tfa_bias, rtol=1e-4, atol=1e-5
    )

    # After training the layer computes relu(conv(x, g v / ||v||) + bias), with
    # g and bias including their offsets.
    v = harness.to_numpy(first.layer.kernel).astype("float64")
    g = harness.to_numpy(first.g) + harness.to_numpy(first.g_offset)
    bias = harness.to_numpy(first.layer.bias) + harness.to_numpy(first.bias_offset)
    kernel = g * v / np.sqrt(np.sum(np.square(v), axis=(0, 1, 2)))
    expected = np.maximum(conv2d_valid(x[:4].astype("float64"), kernel) + bias, 0.0)
    actual = harness.to_numpy(first(x[:4], training=False))
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def _average_optimizers_tutorial_model(optimizer):
    # The tutorial's Fashion-MNIST classifier, compiled with `optimizer`.
    model = keras.Sequential(
        [
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_swa_and_average_model_checkpoint_fashion_mnist(tmp_path):
    # Source: tensorflow/addons docs/tutorials/average_optimizers_callback.ipynb.
    # A Flatten-Dense(64)-Dense(64)-Dense(10) Fashion-MNIST classifier trained
    # with tfa.optimizers.SWA(SGD(0.01)) (start_averaging=0, average_period=10)
    # for 5 epochs of batches of 32, with
    # tfa.callbacks.AverageModelCheckpoint(update_weights=True) saving the
    # averaged weights, which the tutorial then loads and evaluates.
    # Port: compile with SGD(0.01) and pass SWA(start_epoch=0, filepath=...).
    images = np.random.default_rng(0).uniform(size=(96, 28, 28)).astype("float32")
    labels = np.random.default_rng(1).integers(0, 10, size=96).astype("int32")
    path = str(tmp_path / "avg.weights.h5")
    model = _average_optimizers_tutorial_model(keras.optimizers.SGD(0.01))
    snapshots = Snapshots()
    swa = SWA(start_epoch=0, filepath=path)
    model.fit(
        images, labels, batch_size=32, epochs=5, callbacks=[snapshots, swa], verbose=0
    )
    assert swa.num_averaged == 5

    # tfa's SWA.average_op, transcribed: at each snapshot,
    # average = (average * num_snapshots + var) / (num_snapshots + 1).
    # (tfa took its snapshots every `average_period` steps, the port at epoch
    # ends: the migration guide's row says so.)
    averages = [np.zeros_like(w, dtype="float64") for w in snapshots.weights[0]]
    for count, weights in enumerate(snapshots.weights):
        averages = [(a * count + w) / (count + 1) for a, w in zip(averages, weights)]
    final = [harness.to_numpy(w) for w in model.trainable_weights]
    for got, want in zip(final, averages):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # The iterates moved (an average of equal snapshots would prove nothing).
    assert not np.allclose(snapshots.weights[0][0], snapshots.weights[-1][0])

    # AverageModelCheckpoint: the saved file holds the average.
    restored = _average_optimizers_tutorial_model(keras.optimizers.SGD(0.01))
    restored.build((None, 28, 28))
    restored.load_weights(path)
    for got, want in zip(restored.trainable_weights, averages):
        np.testing.assert_allclose(harness.to_numpy(got), want, rtol=1e-6, atol=1e-6)


def test_moving_average_fashion_mnist():
    # Source: tensorflow/addons docs/tutorials/average_optimizers_callback.ipynb,
    # its other half: the same classifier trained with
    # tfa.optimizers.MovingAverage(SGD(0.01)) (average_decay=0.99), the average
    # written into the model by AverageModelCheckpoint(update_weights=True).
    # Port: keras.optimizers.SGD(0.01, use_ema=True, ema_momentum=0.99); `fit`
    # writes the average into the model when it ends. One batch an epoch here,
    # so the epoch-end snapshots are the per-step iterates.
    images = np.random.default_rng(0).uniform(size=(32, 28, 28)).astype("float32")
    labels = np.random.default_rng(1).integers(0, 10, size=32).astype("int32")
    model = _average_optimizers_tutorial_model(
        keras.optimizers.SGD(0.01, use_ema=True, ema_momentum=0.99)
    )
    model.build((None, 28, 28))
    initial = [harness.to_numpy(w).astype("float64") for w in model.trainable_weights]
    snapshots = Snapshots()
    model.fit(
        images, labels, batch_size=32, epochs=20, callbacks=[snapshots], verbose=0
    )
    iterates = [[w.astype("float64") for w in ws] for ws in snapshots.weights]

    # tfa's MovingAverage, transcribed: the average starts at the initial
    # weights and after every step becomes 0.99 * average + 0.01 * weights.
    tfa_average = initial
    for weights in iterates:
        tfa_average = [0.99 * a + 0.01 * w for a, w in zip(tfa_average, weights)]
    # Keras starts its average at the weights after the first step instead: the
    # two differ by 0.99**steps * (initial - first iterate), which fades within
    # a few hundred steps (0.82 of that gap after these 20).
    final = [harness.to_numpy(w) for w in model.trainable_weights]
    for got, tfa, w0, w1 in zip(final, tfa_average, initial, iterates[0]):
        np.testing.assert_allclose(
            got, tfa - 0.99**20 * (w0 - w1), rtol=1e-5, atol=1e-6
        )
    assert not np.allclose(final[0], iterates[-1][0], atol=1e-6)


def test_tfmot_constant_sparsity_mnist_cnn():
    # Source: michaelpoluektov/tf-hybrid-pruning tfmot_test/mnist.py (after the
    # TF pruning tutorial). An MNIST CNN whose first Conv2D(32, 5) is wrapped in
    # tfmot.sparsity.keras.prune_low_magnitude with
    # ConstantSparsity(target_sparsity=0.5, begin_step=0, frequency=100), trained
    # with "adam" on logits for 2 epochs of batches of 128 with UpdatePruningStep.
    # (Its other two kernels were pruned 2:4, `sparsity_m_by_n=(2, 4)`, which has
    # no equivalent here: they stay dense in the port.)
    # Port: no wrappers; WeightPruning(0.5, initial_sparsity=0.5, frequency=100,
    # layers=[that layer]) in the callbacks instead of UpdatePruningStep.
    x = np.random.default_rng(0).uniform(size=(256, 28, 28, 1)).astype("float32")
    y = np.random.default_rng(1).integers(0, 10, size=256)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(
                32, 5, padding="same", activation="relu", name="pruning_sparsity_0_5"
            ),
            keras.layers.MaxPooling2D((2, 2), (2, 2), padding="same"),
            keras.layers.Conv2D(64, 5, padding="same", name="structural_pruning"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D((2, 2), (2, 2), padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(
                1024, activation="relu", name="structural_pruning_dense"
            ),
            keras.layers.Dropout(0.4),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    pruned = model.get_layer("pruning_sparsity_0_5")
    w0 = harness.to_numpy(pruned.kernel)
    pruning = WeightPruning(
        0.5, initial_sparsity=0.5, frequency=100, layers=["pruning_sparsity_0_5"]
    )
    model.fit(x, y, batch_size=128, epochs=2, callbacks=[pruning], verbose=0)

    # tfmot's ConstantSparsity, transcribed: prune to `target_sparsity` at every
    # step >= begin_step with (step - begin_step) % frequency == 0 (end_step=-1).
    steps = 2 * math.ceil(256 / 128)
    tfmot_steps = [s for s in range(steps) if s >= 0 and s % 100 == 0]
    assert tfmot_steps == [0]
    assert pruning.history["step"][0] == 0
    assert set(pruning.history["sparsity"]) == {0.5}
    # tfmot's magnitude mask at step 0: the half of the kernel with the smallest
    # |w|, which never regrows.
    kernel = harness.to_numpy(pruned.kernel)
    assert np.mean(kernel == 0) == 0.5
    lowest = np.argsort(np.abs(w0).ravel(), kind="stable")[: w0.size // 2]
    np.testing.assert_array_equal(np.flatnonzero(kernel.ravel() == 0), np.sort(lowest))
    # The layers tfmot pruned 2:4 and the unwrapped head are left dense.
    for name in ("structural_pruning", "structural_pruning_dense"):
        assert np.all(harness.to_numpy(model.get_layer(name).kernel) != 0)


def keras_contrib_instance_norm(x, epsilon=1e-3):
    """keras_contrib's InstanceNormalization(axis=None).call, transcribed (gamma 1,
    beta 0): each example normalized over all its axes, epsilon added to the std."""
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / (x.std(axis=axes, keepdims=True) + epsilon)


def test_keras_contrib_instance_norm_cyclegan_discriminator():
    # Source: eriklindernoren/Keras-GAN cyclegan/cyclegan.py. The CycleGAN
    # PatchGAN discriminator on 128x128x3 images: four Conv2D(4, strides=2) with
    # 64..512 filters and LeakyReLU, keras_contrib's InstanceNormalization()
    # after the last three and a Conv2D(1, 4) patch output (8x8x1), trained
    # with train_on_batch on batches of one image (plain Keras, left out here).
    # Port: keras_contrib's InstanceNormalization() has axis=None, which
    # normalizes each example over height, width *and channels* (one mean, one
    # std, one scalar gamma and beta): that is keras.layers.GroupNormalization(
    # groups=1), not groups=-1 (per channel, what tfa's InstanceNormalization
    # and keras_contrib's InstanceNormalization(axis=-1) do).
    df = 64
    model = keras.Sequential(
        [
            keras.Input((128, 128, 3)),
            keras.layers.Conv2D(df, kernel_size=4, strides=2, padding="same"),
            keras.layers.LeakyReLU(negative_slope=0.8),
            keras.layers.Conv2D(df * 2, kernel_size=4, strides=2, padding="same"),
            keras.layers.LeakyReLU(negative_slope=0.2),
            keras.layers.GroupNormalization(groups=1),
            keras.layers.Conv2D(df * 4, kernel_size=4, strides=2, padding="same"),
            keras.layers.LeakyReLU(negative_slope=0.2),
            keras.layers.GroupNormalization(groups=1),
            keras.layers.Conv2D(df * 8, kernel_size=4, strides=2, padding="same"),
            keras.layers.LeakyReLU(negative_slope=0.2),
            keras.layers.GroupNormalization(groups=1),
            keras.layers.Conv2D(1, kernel_size=4, strides=1, padding="same"),
        ]
    )
    images = np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 3))
    images = images.astype("float32")  # The data loader scales to [-1, 1].

    norms = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.GroupNormalization)
    ]
    probe = keras.Model(
        model.inputs[0], [t for n in norms for t in (n.input, n.output)]
    )
    tensors = [harness.to_numpy(t).astype("float64") for t in probe(images)]
    for inputs, outputs in zip(tensors[::2], tensors[1::2]):
        # keras_contrib's axes (every axis but the batch), Keras's epsilon
        # placement (under the square root, with the variance).
        axes = (1, 2, 3)
        mean, variance = (
            inputs.mean(axes, keepdims=True),
            inputs.var(axes, keepdims=True),
        )
        np.testing.assert_allclose(
            outputs, (inputs - mean) / np.sqrt(variance + 1e-3), atol=1e-4
        )
        # keras_contrib itself added epsilon to the std: with spreads well
        # below 1, as here, the two differ by a few percent of the output.
        contrib = keras_contrib_instance_norm(inputs)
        np.testing.assert_allclose(outputs, contrib, rtol=0.1, atol=1e-3)
        # Per-channel normalization (groups=-1) would be another layer.
        channels = (inputs - inputs.mean((1, 2), keepdims=True)) / np.sqrt(
            inputs.var((1, 2), keepdims=True) + 1e-3
        )
        assert np.max(np.abs(channels - contrib)) > 0.5

    # The PatchGAN output: one validity score per 16x16 patch.
    assert model.output_shape == (None, 8, 8, 1)


def layer_norm(x, gamma, beta, epsilon=1e-3):
    """keras.layers.LayerNormalization over the last axis, in NumPy."""
    mean, variance = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def tfa_layer_norm_lstm(x, weights, carry_normalized):
    """tfa.rnn.LayerNormLSTMCell.call over a sequence, transcribed: `(outputs, h,
    c)`. tfa carried the normalized cell state (`carry_normalized=True`)."""
    kernel, recurrent, bias, gamma_x, gamma_h, gamma_c, beta_c = weights
    units = recurrent.shape[0]
    h, c = np.zeros((len(x), units)), np.zeros((len(x), units))
    outputs = []
    for step in range(x.shape[1]):
        z = layer_norm(x[:, step] @ kernel, gamma_x, 0.0)
        z = z + layer_norm(h @ recurrent, gamma_h, 0.0) + bias
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        normalized = layer_norm(c, gamma_c, beta_c)
        h = sigmoid(o) * np.tanh(normalized)
        c = normalized if carry_normalized else c
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


def test_layer_norm_lstm_cell_docstring_example():
    # Source: tensorflow/addons tensorflow_addons/rnn/layer_norm_lstm_cell.py, the
    # class's usage example: a batch of 30 sequences of 23 steps of 9 features
    # through keras.layers.RNN(tfa.rnn.LayerNormLSTMCell(4), return_sequences=True,
    # return_state=True), giving outputs (30, 23, 4) and the memory and carry
    # states (30, 4).
    # Port: tfa.rnn.LayerNormLSTMCell -> keras_smithing's, same arguments.
    inputs = np.random.default_rng(0).random((30, 23, 9)).astype("float32")
    cell = LayerNormLSTMCell(4)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs, memory_state, carry_state = rnn(inputs)
    assert tuple(outputs.shape) == (30, 23, 4)
    assert tuple(memory_state.shape) == tuple(carry_state.shape) == (30, 4)

    weights = [
        harness.to_numpy(w).astype("float64")
        for w in (
            cell.kernel,
            cell.recurrent_kernel,
            cell.bias,
            cell.kernel_norm.gamma,
            cell.recurrent_norm.gamma,
            cell.state_norm.gamma,
            cell.state_norm.beta,
        )
    ]
    x = inputs.astype("float64")
    # tfa's gate and state normalizations, with the raw cell state carried (the
    # the migration guide's stated difference): every step matches.
    expected, h, c = tfa_layer_norm_lstm(x, weights, carry_normalized=False)
    np.testing.assert_allclose(harness.to_numpy(outputs), expected, atol=1e-5)
    np.testing.assert_allclose(harness.to_numpy(memory_state), h, atol=1e-5)
    np.testing.assert_allclose(harness.to_numpy(carry_state), c, atol=1e-5)
    # tfa itself, carrying the normalized state: the same first step, and
    # different steps from the second on.
    tfa_outputs, _, _ = tfa_layer_norm_lstm(x, weights, carry_normalized=True)
    np.testing.assert_allclose(
        harness.to_numpy(outputs)[:, 0], tfa_outputs[:, 0], atol=1e-5
    )
    assert np.max(np.abs(harness.to_numpy(outputs)[:, 1] - tfa_outputs[:, 1])) > 1e-3


def keras_contrib_clr(iterations, base_lr, max_lr, step_size):
    """keras_contrib's CyclicLR(mode="triangular").clr(), transcribed: the learning
    rate it set for the batch after `iterations` batches."""
    cycle = np.floor(1 + iterations / (2 * step_size))
    x = np.abs(iterations / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * np.maximum(0, 1 - x) * 1.0


def test_keras_contrib_cyclic_lr_cifar10_cnn():
    # Source: keras-team/keras-contrib examples/cifar10_clr.py. A CIFAR-10 CNN
    # (two Conv2D(32) and two Conv2D(64) blocks with max pooling and dropout,
    # Dense(512), softmax) trained with RMSprop(lr=1e-4, decay=1e-6) and the
    # callback CyclicLR(base_lr=1e-4, max_lr=5e-4, step_size=2000,
    # mode="triangular"), which set the optimizer's learning rate after every
    # batch, in batches of 100 for 50 epochs.
    # Port: the callback becomes the optimizer's schedule,
    # RMSprop(CyclicalLearningRate(1e-4, 5e-4, step_size=2000)). Keras 3 has no
    # `decay`: the original's 1 / (1 + 1e-6 * step) factor, at most 2.4 % over
    # its 25 000 steps, is dropped.
    x = np.random.default_rng(0).uniform(size=(200, 32, 32, 3)).astype("float32")
    labels = np.random.default_rng(1).integers(0, 10, size=200)
    y = keras.utils.to_categorical(labels, 10)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(32, (3, 3), padding="same", activation="relu"),
            keras.layers.Conv2D(32, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Dropout(0.25),
            keras.layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Dropout(0.25),
            keras.layers.Flatten(),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    schedule = CyclicalLearningRate(1e-4, 5e-4, step_size=2000)
    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.RMSprop(learning_rate=schedule),
        metrics=["accuracy"],
    )

    # The trajectory over two full cycles (8000 steps), against keras_contrib's
    # clr(): 1e-4 at the start of each cycle, 5e-4 at its middle.
    steps = np.arange(0, 8001, 50)
    expected = keras_contrib_clr(steps, 1e-4, 5e-4, 2000)
    np.testing.assert_allclose(
        harness.to_numpy(schedule(steps)), expected, rtol=1e-5, atol=1e-10
    )
    assert expected.max() == pytest.approx(5e-4)
    assert expected[steps == 4000] == pytest.approx(1e-4)
    # In `fit` the optimizer reads the schedule at its step count: after the two
    # batches of this epoch, the learning rate of the next batch is clr(2), as
    # the callback would have set it.
    model.fit(x, y, batch_size=100, epochs=1, verbose=0)
    assert int(harness.to_numpy(model.optimizer.iterations)) == 2
    np.testing.assert_allclose(
        harness.to_numpy(model.optimizer.learning_rate),
        keras_contrib_clr(2, 1e-4, 5e-4, 2000),
        rtol=1e-6,
    )
