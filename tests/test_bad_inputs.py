"""Bad inputs, in one table: every public callable rejects them with a clear error.

Each entry maps a public object to `(argument, call)` pairs: `call()` makes one bad
call and must raise the pack's `ValueError` naming `argument` (see
`harness.check_rejects`). `test_every_public_callable_has_bad_inputs` fails when a
public class or function has no entry, so a new object cannot ship untried.
"""

import functools
import inspect
import pathlib
import re

import keras
import numpy as np
import pytest

import keras_smithing as ks
from keras_smithing.utils.validation import check_bool
from tests import harness

# Results that the pack returns and users never build, and argument-free helpers.
EXEMPT = {
    "LRFinderResult": "a result of find_learning_rate",
    "LSUVLayerReport": "a result of lsuv_init",
    "OverfitReport": "a result of overfit_tiny_batch",
    "RaceResult": "a result of race",
    "Reliability": "a result of reliability",
    "Splits": "a result of the dataset loaders",
    "TrialTimer": "takes no argument",
    "TrialRecorder": "a mixin: the tuner it is mixed into checks the arguments",
    "read_records": "a missing directory raises FileNotFoundError, as open() does",
    "plot_search": "a missing directory raises FileNotFoundError, as open() does",
}

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAN = np.array([[0.5, np.nan, 0.5, 0.5]], dtype="float32")
EMPTY = np.zeros((0, 4), dtype="float32")


def _schedule():
    return keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)


@functools.cache
def _mlp():
    """A built, compiled 4 -> 8 -> 3 sigmoid MLP."""
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="sigmoid"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


@functools.cache
def _dropout_mlp():
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dropout(0.5), keras.layers.Dense(2)]
    )


@functools.cache
def _bn_model():
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.BatchNormalization(), keras.layers.Dense(2)]
    )


def _build(layer, shape):
    """Builds `layer` on a batch of ones of `shape` (where bad shapes are caught)."""
    return lambda: layer(np.ones(shape, dtype="float32"))


def _call(layer, shape):
    return lambda: layer(np.ones(shape, dtype="float32"), training=True)


def _data(size=8, features=4):
    return np.random.default_rng(0).uniform(size=(size, features)).astype("float32")


BAD_INPUTS = {
    # layers
    ks.layers.BayesianDense: [("units", lambda: ks.layers.BayesianDense(0))],
    ks.layers.BayesianConv1D: [("filters", lambda: ks.layers.BayesianConv1D(0, 3))],
    ks.layers.BayesianConv2D: [("kernel_size", lambda: ks.layers.BayesianConv2D(4, 0))],
    ks.layers.ConvHighway2D: [("kernel_size", lambda: ks.layers.ConvHighway2D(0))],
    ks.layers.DropBlock2D: [
        ("rate", lambda: ks.layers.DropBlock2D(1.0, 3)),
        ("block_size", lambda: ks.layers.DropBlock2D(0.1, 0)),
    ],
    ks.layers.DropConnect: [
        ("rate", lambda: ks.layers.DropConnect(keras.layers.Dense(2), 1.5)),
        ("layer", lambda: ks.layers.DropConnect("dense", 0.5)),
    ],
    ks.layers.DropConnectDense: [
        ("rate", lambda: ks.layers.DropConnectDense(4, -0.1)),
        (
            "mask_per_example",
            lambda: ks.layers.DropConnectDense(4, 0.5, mask_per_example=1),
        ),
    ],
    ks.layers.GhostBatchNormalization: [
        ("virtual_batch_size", lambda: ks.layers.GhostBatchNormalization(0)),
        ("axis", _build(ks.layers.GhostBatchNormalization(4, axis=5), (8, 3))),
        ("axis", _build(ks.layers.GhostBatchNormalization(4, axis=0), (8, 3))),
    ],
    ks.layers.Highway: [
        ("inputs", lambda: ks.layers.Highway().build((None, None))),
    ],
    ks.layers.LayerNormGRU: [("units", lambda: ks.layers.LayerNormGRU(0))],
    ks.layers.LayerNormGRUCell: [
        ("norm_epsilon", lambda: ks.layers.LayerNormGRUCell(4, norm_epsilon=0.0)),
        (
            "norm_beta_initializer",
            lambda: ks.layers.LayerNormGRUCell(4, norm_beta_initializer="ones"),
        ),
    ],
    ks.layers.LayerNormLSTM: [("units", lambda: ks.layers.LayerNormLSTM(-1))],
    ks.layers.LayerNormLSTMCell: [
        ("units", lambda: ks.layers.LayerNormLSTMCell(0)),
        (
            "layernorm_epsilon",
            lambda: ks.layers.LayerNormLSTMCell(
                4, norm_epsilon=1e-4, layernorm_epsilon=1e-5
            ),
        ),
        (
            "norm_gamma_initializer",
            lambda: ks.layers.LayerNormLSTMCell(4, norm_gamma_initializer="nope"),
        ),
    ],
    ks.layers.LayerNormSimpleRNN: [("units", lambda: ks.layers.LayerNormSimpleRNN(0))],
    ks.layers.LayerNormSimpleRNNCell: [
        (
            "norm_epsilon",
            lambda: ks.layers.LayerNormSimpleRNNCell(4, norm_epsilon=-1.0),
        ),
        (
            "gamma_constraint",
            lambda: ks.layers.LayerNormSimpleRNNCell(
                4, gamma_constraint="non_neg", norm_gamma_constraint="unit_norm"
            ),
        ),
    ],
    ks.layers.MCDropout: [("rate", lambda: ks.layers.MCDropout(1.0))],
    ks.layers.RandomFeatureMask: [("rate", lambda: ks.layers.RandomFeatureMask(2.0))],
    ks.layers.RandomJitter: [("stddev", lambda: ks.layers.RandomJitter(-1.0))],
    ks.layers.RandomScale1D: [("range", lambda: ks.layers.RandomScale1D((1.2, 0.8)))],
    ks.layers.RandomShift1D: [
        ("max_shift", lambda: ks.layers.RandomShift1D(-1)),
        ("fill", lambda: ks.layers.RandomShift1D(2, fill="mirror")),
    ],
    ks.layers.RandomTimeWarp1D: [
        ("max_warp", lambda: ks.layers.RandomTimeWarp1D(-0.5))
    ],
    ks.layers.ResidualBlock: [
        ("normalization", lambda: ks.layers.ResidualBlock(4, normalization="group")),
        ("dropout", lambda: ks.layers.ResidualBlock(4, dropout=1.0)),
    ],
    ks.layers.StochasticDepth: [("rate", lambda: ks.layers.StochasticDepth(1.0))],
    ks.layers.WeightNormalization: [
        ("layer", lambda: ks.layers.WeightNormalization("dense")),
        (
            "data_init",
            lambda: ks.layers.WeightNormalization(
                keras.layers.Dense(2), data_init="yes"
            ),
        ),
        (
            "data_init",
            lambda: ks.layers.WeightNormalization(keras.layers.LSTM(2)),
        ),
        (
            "layer",
            lambda: ks.layers.WeightNormalization(
                keras.layers.Bidirectional(keras.layers.LSTM(2)), data_init=False
            ),
        ),
    ],
    # initializers and constraints
    ks.initializers.SVDOrthogonal: [
        ("gain", lambda: ks.initializers.SVDOrthogonal(-1.0))
    ],
    ks.initializers.ScaledIdentity: [
        ("shape", lambda: ks.initializers.ScaledIdentity()((3, 4, 5)))
    ],
    ks.initializers.lsuv_init: [
        ("x_batch", lambda: ks.initializers.lsuv_init(_mlp(), None)),
        ("x_batch", lambda: ks.initializers.lsuv_init(_mlp(), EMPTY)),
        ("x_batch", lambda: ks.initializers.lsuv_init(_mlp(), NAN)),
        ("target_std", lambda: ks.initializers.lsuv_init(_mlp(), _data(), 0.0)),
    ],
    ks.constraints.Orthogonal: [("w", lambda: ks.constraints.Orthogonal()(np.ones(3)))],
    ks.constraints.SpectralNormBound: [
        ("max_value", lambda: ks.constraints.SpectralNormBound(0.0))
    ],
    # optimizers
    ks.optimizers.Lookahead: [
        ("optimizer", lambda: ks.optimizers.Lookahead("not an optimizer")),
        ("sync_period", lambda: ks.optimizers.Lookahead("sgd", sync_period=0)),
        ("slow_step_size", lambda: ks.optimizers.Lookahead("sgd", slow_step_size=1.5)),
    ],
    ks.optimizers.LayerwiseLearningRate: [
        (
            "multipliers['a']",
            lambda: ks.optimizers.LayerwiseLearningRate("sgd", {"a": -1.0}),
        ),
    ],
    ks.optimizers.schedules.OneCycle: [
        ("max_learning_rate", lambda: ks.optimizers.schedules.OneCycle(0.0, 10)),
        ("total_steps", lambda: ks.optimizers.schedules.OneCycle(0.1, 0)),
        (
            "warmup_fraction",
            lambda: ks.optimizers.schedules.OneCycle(0.1, 10, warmup_fraction=0.0),
        ),
        (
            "warmup_fraction",
            lambda: ks.optimizers.schedules.OneCycle(0.1, 10, warmup_fraction=1.0),
        ),
        ("div_factor", lambda: ks.optimizers.schedules.OneCycle(0.1, 10, div_factor=0)),
        (
            "div_factor",
            lambda: ks.optimizers.schedules.OneCycle(0.1, 10, div_factor=0.5),
        ),
        (
            "final_div_factor",
            lambda: ks.optimizers.schedules.OneCycle(0.1, 10, final_div_factor=0.0),
        ),
    ],
    ks.optimizers.schedules.CyclicalLearningRate: [
        (
            "initial_learning_rate",
            lambda: ks.optimizers.schedules.CyclicalLearningRate(0.0, 0.1, 5),
        ),
        (
            "maximal_learning_rate",
            lambda: ks.optimizers.schedules.CyclicalLearningRate(0.1, 0.01, 5),
        ),
        (
            "step_size",
            lambda: ks.optimizers.schedules.CyclicalLearningRate(0.01, 0.1, 0),
        ),
        (
            "mode",
            lambda: ks.optimizers.schedules.CyclicalLearningRate(0.01, 0.1, 5, "cos"),
        ),
        (
            "gamma",
            lambda: ks.optimizers.schedules.CyclicalLearningRate(
                0.01, 0.1, 5, gamma=1.5
            ),
        ),
        (
            "gamma",
            lambda: ks.optimizers.schedules.CyclicalLearningRate(
                0.01, 0.1, 5, gamma=0.0
            ),
        ),
    ],
    ks.optimizers.AdaptiveGradientClipping: [
        ("optimizer", lambda: ks.optimizers.AdaptiveGradientClipping(None)),
        ("clip_factor", lambda: ks.optimizers.AdaptiveGradientClipping("sgd", 0.0)),
        ("epsilon", lambda: ks.optimizers.AdaptiveGradientClipping("sgd", epsilon=-1)),
    ],
    ks.optimizers.RectifiedAdam: [
        ("beta_2", lambda: ks.optimizers.RectifiedAdam(beta_2=1.0)),
        ("sma_threshold", lambda: ks.optimizers.RectifiedAdam(sma_threshold=2.0)),
        ("amsgrad", lambda: ks.optimizers.RectifiedAdam(amsgrad="no")),
    ],
    ks.optimizers.race: [
        ("function", lambda: ks.optimizers.race(["sgd"], function="sphere")),
        ("steps", lambda: ks.optimizers.race(["sgd"], steps=0)),
    ],
    # callbacks
    ks.callbacks.GradientHealth: [
        ("probe_data", lambda: ks.callbacks.GradientHealth(None)),
        (
            "every_n_batches",
            lambda: ks.callbacks.GradientHealth((_data(), None), every_n_batches=0),
        ),
    ],
    ks.callbacks.GreedyLayerwisePretraining: [
        ("x_unlabeled", lambda: ks.callbacks.GreedyLayerwisePretraining(None)),
        ("x_unlabeled", lambda: ks.callbacks.GreedyLayerwisePretraining(NAN)),
        ("k", lambda: ks.callbacks.GreedyLayerwisePretraining(_data(), k=0)),
        ("rate", lambda: ks.callbacks.GreedyLayerwisePretraining(_data(), rate=1.0)),
        ("layers", lambda: ks.callbacks.GreedyLayerwisePretraining(_data(), layers=[])),
    ],
    ks.callbacks.PrecheltEarlyStopping: [
        ("criterion", lambda: ks.callbacks.PrecheltEarlyStopping("XY")),
        ("monitor", lambda: ks.callbacks.PrecheltEarlyStopping(monitor="val_accuracy")),
    ],
    ks.callbacks.PreciseBatchNorm: [
        ("data", lambda: ks.callbacks.PreciseBatchNorm(None)),
        ("data", lambda: ks.callbacks.PreciseBatchNorm(EMPTY)),
        ("every_n_epochs", lambda: ks.callbacks.PreciseBatchNorm(_data(), 1, 0)),
    ],
    ks.callbacks.ReduceLROnPlateau: [
        ("factor", lambda: ks.callbacks.ReduceLROnPlateau(factor=1.0)),
    ],
    ks.optimizers.schedules.ScaledSchedule: [
        ("schedule", lambda: ks.optimizers.schedules.ScaledSchedule(0.1)),
        ("scale", lambda: ks.optimizers.schedules.ScaledSchedule(_schedule(), 0.0)),
    ],
    ks.callbacks.SWA: [
        ("start_epoch", lambda: ks.callbacks.SWA(-1)),
        ("swa_freq", lambda: ks.callbacks.SWA(0, swa_freq=0)),
        ("filepath", lambda: ks.callbacks.SWA(0, filepath="average.keras")),
        ("verbose", lambda: ks.callbacks.SWA(0, verbose=2)),
    ],
    ks.callbacks.recompute_batch_norm_statistics: [
        (
            "data",
            lambda: ks.callbacks.recompute_batch_norm_statistics(_bn_model(), None),
        ),
        (
            "data",
            lambda: ks.callbacks.recompute_batch_norm_statistics(_bn_model(), NAN),
        ),
        (
            "data",
            lambda: ks.callbacks.recompute_batch_norm_statistics(
                _bn_model(), [_data(), _data(size=3)]
            ),
        ),
    ],
    ks.callbacks.plot_lr_finder: [
        ("result", lambda: ks.callbacks.plot_lr_finder(None))
    ],
    ks.optimizers.plot_race: [("result", lambda: ks.optimizers.plot_race(None))],
    ks.optimizers.animate_race: [
        ("result", lambda: ks.optimizers.animate_race(None, "x"))
    ],
    ks.find_learning_rate: [
        ("x", lambda: ks.find_learning_rate(_mlp(), None)),
        ("max_lr", lambda: ks.find_learning_rate(_mlp(), _data(), max_lr=-1.0)),
    ],
    ks.mc_predict: [
        ("x", lambda: ks.mc_predict(_mlp(), None)),
        ("x", lambda: ks.mc_predict(_mlp(), EMPTY)),
        ("x", lambda: ks.mc_predict(_mlp(), NAN)),
        ("num_samples", lambda: ks.mc_predict(_mlp(), _data(), num_samples=0)),
    ],
    ks.set_seed: [("seed", lambda: ks.set_seed(-1))],
    # pretraining
    ks.pretraining.RBM: [
        ("units", lambda: ks.pretraining.RBM(0)),
        ("visible", lambda: ks.pretraining.RBM(4, visible="poisson")),
        ("x", lambda: ks.pretraining.RBM(4).fit(None)),
        ("x", lambda: ks.pretraining.RBM(4).fit(EMPTY)),
        ("x", lambda: ks.pretraining.RBM(4).fit(NAN)),
        ("x", lambda: ks.pretraining.RBM(4).fit(_data() * 3)),
    ],
    ks.pretraining.DeepBeliefNetwork: [
        ("layer_sizes", lambda: ks.pretraining.DeepBeliefNetwork([])),
        ("x", lambda: ks.pretraining.DeepBeliefNetwork([4]).pretrain(NAN)),
    ],
    ks.pretraining.DenoisingAutoencoder: [
        (
            "corruption",
            lambda: ks.pretraining.DenoisingAutoencoder(4, corruption="salt"),
        ),
        ("x", lambda: ks.pretraining.DenoisingAutoencoder(4).fit(None)),
        ("x", lambda: ks.pretraining.DenoisingAutoencoder(4).fit(NAN)),
    ],
    ks.pretraining.HybridRBMClassifier: [
        ("num_classes", lambda: ks.pretraining.HybridRBMClassifier(4, 1)),
        (
            "y",
            lambda: ks.pretraining.HybridRBMClassifier(4, 3).fit(
                _data(), np.full(8, 3), epochs=1, verbose=0
            ),
        ),
        (
            "y",
            lambda: ks.pretraining.HybridRBMClassifier(4, 3).fit(
                _data(), np.zeros(5), epochs=1, verbose=0
            ),
        ),
    ],
    ks.pretraining.pretrain: [
        ("method", lambda: ks.pretraining.pretrain(_mlp(), _data(), method="pca")),
        ("x_unlabeled", lambda: ks.pretraining.pretrain(_mlp(), None)),
        ("x_unlabeled", lambda: ks.pretraining.pretrain(_mlp(), _data(features=5))),
        ("x_unlabeled", lambda: ks.pretraining.pretrain(_mlp(), NAN)),
        ("k", lambda: ks.pretraining.pretrain(_mlp(), _data(), k=0)),
        ("layers", lambda: ks.pretraining.pretrain(_mlp(), _data(), layers=[])),
        ("model", lambda: ks.pretraining.pretrain(_bn_model(), _data())),
    ],
    # tuners
    ks.tuners.SmithingHyperModel: [
        ("num_classes", lambda: ks.tuners.SmithingHyperModel((4,), 1)),
        ("task", lambda: ks.tuners.SmithingHyperModel((4,), 3, task="ranking")),
    ],
    ks.tuners.CoarseToFine: [
        ("shrink", lambda: ks.tuners.CoarseToFine(shrink=1.5, objective="val_loss")),
    ],
    ks.tuners.CoarseToFineOracle: [
        ("top_k", lambda: ks.tuners.CoarseToFineOracle(objective="val_loss", top_k=0)),
        (
            "promote_after",
            lambda: ks.tuners.CoarseToFineOracle(
                objective="val_loss", promote_after=1.5
            ),
        ),
    ],
    ks.tuners.CostAwareObjective: [
        ("direction", lambda: ks.tuners.CostAwareObjective(direction="up")),
    ],
    ks.tuners.MedianPruner: [
        ("n_warmup_steps", lambda: ks.tuners.MedianPruner(n_warmup_steps=-1)),
        ("n_startup_trials", lambda: ks.tuners.MedianPruner(n_startup_trials=-1)),
    ],
    ks.tuners.PercentilePruner: [
        ("percentile", lambda: ks.tuners.PercentilePruner(-1.0)),
        ("percentile", lambda: ks.tuners.PercentilePruner(100.5)),
    ],
    ks.tuners.hyperparameter_importance: [
        ("records", lambda: ks.tuners.hyperparameter_importance([])),
    ],
    ks.tuners.plot_importance: [("records", lambda: ks.tuners.plot_importance([]))],
    ks.callbacks.TimeStopping: [
        ("seconds", lambda: ks.callbacks.TimeStopping(0)),
        ("mode", lambda: ks.callbacks.TimeStopping(10, mode="up")),
    ],
    ks.callbacks.WeightPruning: [
        ("target_sparsity", lambda: ks.callbacks.WeightPruning(1.0)),
        ("criterion", lambda: ks.callbacks.WeightPruning(0.5, criterion="random")),
        (
            "end_epoch",
            lambda: ks.callbacks.WeightPruning(0.5, start_epoch=3, end_epoch=2),
        ),
        ("frequency", lambda: ks.callbacks.WeightPruning(0.5, frequency=0)),
    ],
    ks.tta_predict: [
        ("x", lambda: ks.tta_predict(_mlp(), None, transforms=[lambda x: x])),
        ("transforms", lambda: ks.tta_predict(_mlp(), _data())),
        ("num_samples", lambda: ks.tta_predict(_mlp(), _data(), num_samples=0)),
    ],
    # datasets and utils
    ks.datasets.load_digits: [
        (
            "validation_fraction",
            lambda: ks.datasets.load_digits(validation_fraction=1.0),
        ),
    ],
    ks.datasets.load_mnist1d: [
        ("num_samples", lambda: ks.datasets.load_mnist1d(num_samples=0)),
    ],
    ks.datasets.load_dataset: [("name", lambda: ks.datasets.load_dataset("cifar"))],
    ks.utils.overfit_tiny_batch: [
        ("steps", lambda: ks.utils.overfit_tiny_batch(_mlp(), _data(), None, steps=0)),
    ],
    ks.utils.reliability: [
        ("probabilities", lambda: ks.utils.reliability(NAN, np.zeros(1))),
        ("probabilities", lambda: ks.utils.reliability(np.full((2, 2), 1.5), [0, 1])),
        ("labels", lambda: ks.utils.reliability(np.full((2, 2), 0.5), [0])),
    ],
}


def _public_callables():
    found = {}
    subpackages = [value for value in vars(ks).values() if inspect.ismodule(value)]
    for module in [ks, *subpackages]:
        for name in dir(module):
            value = getattr(module, name)
            if (
                not name.startswith("_")
                and (inspect.isclass(value) or inspect.isfunction(value))
                and value.__module__.startswith("keras_smithing")
            ):
                found[value.__name__] = value
    return found


def test_every_public_callable_has_bad_inputs():
    tried = {target.__name__ for target in BAD_INPUTS}
    untried = sorted(set(_public_callables()) - tried - set(EXEMPT))
    assert not untried, f"public callables without bad inputs in BAD_INPUTS: {untried}"


def test_bad_inputs_raise_a_clear_error_naming_the_argument():
    failures = []
    for target, cases in BAD_INPUTS.items():
        try:
            harness.check_rejects(target, cases)
        except AssertionError as failure:
            failures.append(str(failure))
    assert not failures, "\n".join(failures)


def test_the_guide_states_how_many_bad_inputs_are_tried():
    count = sum(len(cases) for cases in BAD_INPUTS.values())
    guide = (ROOT / "docs" / "guide" / "index.md").read_text()
    stated = re.search(r"(\d+) bad inputs to (\d+) public", guide)
    assert stated, "docs/guide/index.md does not state the bad-input count"
    assert (int(stated[1]), int(stated[2])) == (count, len(BAD_INPUTS))


# Every boolean argument of the pack, as a call taking the value to try.
BOOLEAN_ARGUMENTS = {
    "mask_per_example": lambda v: ks.layers.DropConnectDense(
        4, 0.5, mask_per_example=v
    ),
    "data_init": lambda v: ks.layers.WeightNormalization(
        keras.layers.Dense(2), data_init=v
    ),
    "amsgrad": lambda v: ks.optimizers.RectifiedAdam(amsgrad=v),
    "persistent": lambda v: ks.pretraining.RBM(4, persistent=v),
    "tied_weights": lambda v: ks.pretraining.DenoisingAutoencoder(4, tied_weights=v),
    "mc_dropout": lambda v: ks.tta_predict(
        _dropout_mlp(), _data(), transforms=[lambda x: x], num_samples=1, mc_dropout=v
    ),
}


@pytest.mark.parametrize("argument", sorted(BOOLEAN_ARGUMENTS))
def test_booleans_are_checked_as_booleans(argument):
    call = BOOLEAN_ARGUMENTS[argument]
    for value in (1, 0, 1.0, "True", None):
        with pytest.raises(ValueError, match=f"`{argument}`. Expected a bool"):
            call(value)
    for value in (True, np.False_):
        call(value)


def test_check_bool():
    assert check_bool("flag", np.True_) is True
    assert check_bool("flag", False) is False
    with pytest.raises(ValueError, match=re.escape("Received: flag=1.0")):
        check_bool("flag", 1.0)


def _message(call):
    with pytest.raises(ValueError) as error:
        call()
    return str(error.value)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: ks.mc_predict(_mlp(), EMPTY),
            "`x` is empty: pass a non-empty, finite, numeric array. "
            "Received: x.shape=(0, 4)",
        ),
        (
            lambda: ks.pretraining.RBM(4).fit(NAN),
            "`x` has 1 non-finite value (NaN or inf): remove or impute them first. "
            "Received: x.shape=(1, 4)",
        ),
        (
            lambda: ks.pretraining.RBM(4).fit(np.ones((2, 3, 4))),
            "`x` has rank 3: pass a non-empty 2-D array (batch, features). "
            "Received: x.shape=(2, 3, 4)",
        ),
        (
            lambda: ks.callbacks.GradientHealth({"x": _data()}),
            "`probe_data` is not a tuple (x, y): pass probe_data=(x, y), a batch of "
            "inputs and targets. Received: type(probe_data)=dict",
        ),
        (
            lambda: ks.initializers.lsuv_init(_mlp(), [_data(), _data()]),
            "`x_batch` does not fit the model's input shapes [(None, 4)]: pass one "
            "non-empty array per model input, of its shape. "
            "Received: shapes=[(8, 4), (8, 4)]",
        ),
    ],
)
def test_data_errors_are_plain_sentences(call, message):
    # States and data are not argument values: no "Invalid value received for
    # argument `x`... Received: x='an array of shape (0, 4)'".
    assert _message(call) == message


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: ks.layers.DropConnectDense(4, rate=1.5),
            "Invalid value received for argument `rate`. Expected a float in [0, 1). "
            "Received: rate=1.5",
        ),
        (
            lambda: ks.optimizers.RectifiedAdam(beta_1=1.0),
            "Invalid value received for argument `beta_1`. Expected a finite float "
            ">= 0.0 and < 1.0. Received: beta_1=1.0",
        ),
        (
            lambda: ks.pretraining.RBM(4, persistent=1),
            "Invalid value received for argument `persistent`. Expected a bool (True "
            "or False). Received: persistent=1",
        ),
    ],
)
def test_argument_errors_keep_keras_shape(call, message):
    assert _message(call) == message
