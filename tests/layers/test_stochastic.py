"""The stochastic-layer contract (keras_smithing.layers.stochastic)."""

import threading

import keras
import numpy as np

from keras_smithing import mc_predict
from keras_smithing.layers import (
    DropBlock2D,
    DropConnect,
    DropConnectDense,
    MCDropout,
    StochasticDepth,
)
from keras_smithing.layers.stochastic import (
    in_sampling_scope,
    is_stochastic,
    merge_groups,
    sample_groups,
    sampling_scope,
    should_sample,
    split_groups,
)
from tests import harness


class BatchShift(keras.layers.Layer):
    """A contract-following toy: adds ONE random shift per batch (per group)."""

    stochastic = True

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not should_sample(training):
            return inputs
        grouped = split_groups(inputs)
        shift = keras.random.normal(
            (sample_groups(),) + (1,) * (len(grouped.shape) - 1),
            dtype=self.compute_dtype,
            seed=self.seed_generator,
        )
        return merge_groups(grouped + shift)


def test_scope_flag_groups_and_nesting():
    assert not in_sampling_scope() and sample_groups() == 1
    assert not should_sample(False) and not should_sample(None)
    assert should_sample(True)
    with sampling_scope(4):
        assert should_sample(False) and sample_groups() == 4
        with sampling_scope(2):
            assert sample_groups() == 2
        assert sample_groups() == 4
    assert not in_sampling_scope() and sample_groups() == 1


def test_scope_is_thread_local():
    seen = []
    with sampling_scope(3):
        thread = threading.Thread(target=lambda: seen.append(in_sampling_scope()))
        thread.start()
        thread.join()
    assert seen == [False]


def test_split_and_merge_groups_are_sample_major():
    x = np.arange(12, dtype="float32").reshape(6, 2)  # 3 groups of 2 examples.
    with sampling_scope(3):
        grouped = harness.to_numpy(split_groups(x))
        np.testing.assert_array_equal(grouped[1], x[2:4])
        np.testing.assert_array_equal(harness.to_numpy(merge_groups(grouped)), x)


def test_is_stochastic():
    stochastic = [
        keras.layers.Dropout(0.5),
        keras.layers.SpatialDropout2D(0.2),
        keras.layers.GaussianNoise(0.1),
        keras.layers.GaussianDropout(0.1),
        keras.layers.AlphaDropout(0.1),
        keras.layers.LSTM(2, recurrent_dropout=0.1),
        keras.layers.MultiHeadAttention(2, 4, dropout=0.1),
        MCDropout(0.1),
        DropConnectDense(2, 0.1),
        DropConnect(keras.layers.Dense(2), 0.1),
        DropBlock2D(0.1, 3),
        StochasticDepth(0.1),
        BatchShift(),
    ]
    deterministic = [
        keras.layers.Dropout(0.0),
        keras.layers.GRU(2),
        keras.layers.Dense(2),
        keras.layers.BatchNormalization(),
        keras.layers.RandomFlip(),  # Augmentation: off at inference, not sampled.
    ]
    assert [is_stochastic(layer) for layer in stochastic] == [True] * len(stochastic)
    assert not any(is_stochastic(layer) for layer in deterministic)


def test_contract_layer_samples_independently_under_mc_predict():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, BatchShift(seed=1)(inputs))
    x = np.zeros((5, 3), "float32")
    samples = mc_predict(model, x, num_samples=8).samples
    # One shift per sample, shared by the examples of that sample only.
    np.testing.assert_allclose(samples, samples[:, :1, :1] * np.ones_like(samples))
    assert len(np.unique(samples[:, 0, 0])) == 8
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_flag_is_read_at_trace_time_under_xla():
    x = np.zeros((4, 2), "float32")
    inputs = keras.Input((2,))
    model = keras.Model(inputs, BatchShift(seed=0)(inputs))
    model.compile(jit_compile=True, loss="mse")
    # Traced outside a scope: inference stays deterministic under XLA.
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.zeros((4, 2)))
    # mc_predict compiles its own function (XLA like the model) inside the scope.
    samples = mc_predict(model, x, num_samples=5).samples
    assert np.all(samples[:, 0, 0] != 0)
