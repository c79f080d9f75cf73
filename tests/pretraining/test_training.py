"""The pretraining models' shared `fit`, `evaluate` and `predict` (CheckedModel)."""

import inspect

import keras
import numpy as np
import pytest
import scipy.sparse

from keras_smithing.pretraining import (
    RBM,
    DeepBeliefNetwork,
    DenoisingAutoencoder,
    HybridRBMClassifier,
)


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
@pytest.mark.parametrize(
    "model_class", [RBM, HybridRBMClassifier, DenoisingAutoencoder, DeepBeliefNetwork]
)
def test_methods_take_keras_arguments_by_name(model_class, method):
    # `help(RBM.fit)` lists what `keras.Model.fit` takes, not `*args, **kwargs`.
    ours = inspect.signature(getattr(model_class, method)).parameters
    keras_own = inspect.signature(getattr(keras.Model, method)).parameters
    assert list(ours.values()) == list(keras_own.values())


def _binary(n, features=6, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, features)) < 0.4).astype("float32")


@pytest.mark.parametrize("model_name", ["autoencoder", "hybrid"])
def test_sparse_data_is_densified_everywhere(model_name):
    x, x_val = _binary(40), _binary(20, seed=1)
    y, y_val = np.arange(40) % 2, np.arange(20) % 2
    keras.utils.set_random_seed(0)
    if model_name == "autoencoder":
        model = DenoisingAutoencoder(4, rate=0.0, seed=0)
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        y = y_val = None
    else:
        model = HybridRBMClassifier(4, num_classes=2, seed=0)
        model.compile(optimizer="sgd")
    history = model.fit(
        scipy.sparse.csr_matrix(x),
        y,
        validation_data=(scipy.sparse.csr_matrix(x_val), y_val),
        epochs=1,
        batch_size=20,
        verbose=0,
    )
    sparse_val = scipy.sparse.csc_matrix(x_val)
    np.testing.assert_allclose(
        model.predict(sparse_val, verbose=0), model.predict(x_val, verbose=0)
    )
    dense_loss = model.evaluate(x_val, y_val, return_dict=True, verbose=0)["loss"]
    sparse_loss = model.evaluate(sparse_val, y_val, return_dict=True, verbose=0)
    np.testing.assert_allclose(sparse_loss["loss"], dense_loss, rtol=1e-6)
    np.testing.assert_allclose(history.history["val_loss"][-1], dense_loss, rtol=1e-5)


def test_deep_belief_network_predicts_on_sparse_data():
    # Keras itself turns a CSC matrix into a tensor that fails on TensorFlow.
    x = _binary(32)
    dbn = DeepBeliefNetwork([5, 3], seed=0)
    dbn.pretrain(scipy.sparse.csc_matrix(x), epochs_per_layer=1, batch_size=16)
    for sparse in (scipy.sparse.csr_matrix(x), scipy.sparse.csc_matrix(x)):
        np.testing.assert_allclose(
            dbn.predict(sparse, verbose=0), dbn.predict(x, verbose=0)
        )
