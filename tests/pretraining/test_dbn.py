import keras
import numpy as np
import pytest

from keras_smithing.pretraining import DeepBeliefNetwork
from tests import harness


def _data(n=60, features=10, seed=0):
    return (np.random.default_rng(seed).random((n, features)) < 0.4).astype("float32")


@pytest.fixture(scope="module")
def pretrained():
    x = _data()
    dbn = DeepBeliefNetwork([6, 4], seed=0)
    reports = dbn.pretrain(
        x, epochs_per_layer=3, batch_size=20, optimizer=keras.optimizers.SGD(0.1)
    )
    return dbn, reports, x


def _pretrained(dbn, x):
    dbn.pretrain(x, epochs_per_layer=1, batch_size=20)
    return dbn


def test_harness_saved_model():
    x = _data()
    harness.check_saved_model(_pretrained(DeepBeliefNetwork([6, 4], seed=0), x), x)


def test_pretrain_is_greedy(pretrained):
    dbn, reports, x = pretrained
    assert len(reports) == 2
    for report in reports:
        assert report["diverged"] is False
        assert len(report["history"]["reconstruction_error"]) == 3
    # The second RBM models the first one's hidden probabilities.
    assert dbn.rbms[1].hidden.kernel.shape == (6, 4)
    first = dbn.rbms[0].transform(x)
    np.testing.assert_allclose(
        dbn.predict(x, verbose=0), dbn.rbms[1].transform(first), atol=1e-6
    )


def test_to_mlp_copies_weights(pretrained):
    dbn, _, x = pretrained
    mlp = dbn.to_mlp(num_classes=3)
    for index, rbm in enumerate(dbn.rbms):
        for got, want in zip(
            mlp.get_layer(f"dbn_dense_{index}").get_weights(), rbm.hidden.get_weights()
        ):
            np.testing.assert_array_equal(got, want)
    features = keras.Model(mlp.inputs, mlp.get_layer("dbn_dense_1").output)
    np.testing.assert_allclose(
        features.predict(x, verbose=0), dbn.predict(x, verbose=0), atol=1e-6
    )
    assert mlp.output_shape == (None, 3)
    mlp.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    mlp.fit(x, np.arange(len(x)) % 3, epochs=1, verbose=0)


def test_sample(pretrained):
    dbn, _, _ = pretrained
    samples = dbn.sample(5, steps=3)
    assert samples.shape == (5, 10)
    assert np.all((samples >= 0) & (samples <= 1))
    binary = dbn.sample(5, steps=3, mean=False)
    assert set(np.unique(binary)) <= {0.0, 1.0}


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"layer_sizes": []}, "`layer_sizes`"),
        ({"layer_sizes": [4, 0]}, "`layer_sizes`"),
        ({"layer_sizes": 5}, "`layer_sizes`"),
        ({"layer_sizes": [4], "k": 0}, "`k`"),
        ({"layer_sizes": [4], "visible": "binary"}, "`visible`"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        DeepBeliefNetwork(**kwargs)


def test_bad_inputs():
    dbn = DeepBeliefNetwork([3])
    with pytest.raises(ValueError, match="pretrain"):
        dbn.to_mlp(2)
    with pytest.raises(ValueError, match='`x`.*visible="gaussian"'):
        dbn.pretrain(_data() * 3 - 1)
    with pytest.raises(ValueError, match="`epochs_per_layer`"):
        dbn.pretrain(_data(), epochs_per_layer=0)
