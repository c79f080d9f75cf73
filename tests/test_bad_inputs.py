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

import keras_smithing as ks
from keras_smithing import (
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    optimizers,
    pretraining,
    tuners,
    utils,
)
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
    "missing_tricks": "takes no argument",
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
    layers.BayesianDense: [("units", lambda: layers.BayesianDense(0))],
    layers.BayesianConv1D: [("filters", lambda: layers.BayesianConv1D(0, 3))],
    layers.BayesianConv2D: [("kernel_size", lambda: layers.BayesianConv2D(4, 0))],
    layers.ConvHighway2D: [("kernel_size", lambda: layers.ConvHighway2D(0))],
    layers.DropBlock2D: [
        ("rate", lambda: layers.DropBlock2D(1.0, 3)),
        ("block_size", lambda: layers.DropBlock2D(0.1, 0)),
    ],
    layers.DropConnect: [
        ("rate", lambda: layers.DropConnect(keras.layers.Dense(2), 1.5)),
        ("layer", lambda: layers.DropConnect("dense", 0.5)),
    ],
    layers.DropConnectDense: [("rate", lambda: layers.DropConnectDense(4, -0.1))],
    layers.GhostBatchNormalization: [
        ("virtual_batch_size", lambda: layers.GhostBatchNormalization(0)),
        ("axis", _build(layers.GhostBatchNormalization(4, axis=5), (8, 3))),
        ("axis", _build(layers.GhostBatchNormalization(4, axis=0), (8, 3))),
    ],
    layers.Highway: [
        ("inputs", lambda: layers.Highway().build((None, None))),
    ],
    layers.LayerNormGRU: [("units", lambda: layers.LayerNormGRU(0))],
    layers.LayerNormGRUCell: [
        ("norm_epsilon", lambda: layers.LayerNormGRUCell(4, norm_epsilon=0.0)),
        (
            "norm_beta_initializer",
            lambda: layers.LayerNormGRUCell(4, norm_beta_initializer="ones"),
        ),
    ],
    layers.LayerNormLSTM: [("units", lambda: layers.LayerNormLSTM(-1))],
    layers.LayerNormLSTMCell: [
        ("units", lambda: layers.LayerNormLSTMCell(0)),
        (
            "layernorm_epsilon",
            lambda: layers.LayerNormLSTMCell(
                4, norm_epsilon=1e-3, layernorm_epsilon=1e-5
            ),
        ),
        (
            "norm_gamma_initializer",
            lambda: layers.LayerNormLSTMCell(4, norm_gamma_initializer="nope"),
        ),
    ],
    layers.LayerNormSimpleRNN: [("units", lambda: layers.LayerNormSimpleRNN(0))],
    layers.LayerNormSimpleRNNCell: [
        ("norm_epsilon", lambda: layers.LayerNormSimpleRNNCell(4, norm_epsilon=-1.0)),
        (
            "gamma_constraint",
            lambda: layers.LayerNormSimpleRNNCell(
                4, gamma_constraint="non_neg", norm_gamma_constraint="unit_norm"
            ),
        ),
    ],
    layers.MCDropout: [("rate", lambda: layers.MCDropout(1.0))],
    layers.RandomFeatureMask: [("rate", lambda: layers.RandomFeatureMask(2.0))],
    layers.RandomJitter: [("stddev", lambda: layers.RandomJitter(-1.0))],
    layers.RandomScale1D: [("range", lambda: layers.RandomScale1D((1.2, 0.8)))],
    layers.RandomShift1D: [
        ("max_shift", lambda: layers.RandomShift1D(-1)),
        ("fill", lambda: layers.RandomShift1D(2, fill="mirror")),
    ],
    layers.RandomTimeWarp1D: [("max_warp", lambda: layers.RandomTimeWarp1D(-0.5))],
    layers.ResidualBlock: [
        ("normalization", lambda: layers.ResidualBlock(4, normalization="group")),
        ("dropout", lambda: layers.ResidualBlock(4, dropout=1.0)),
    ],
    layers.StochasticDepth: [("rate", lambda: layers.StochasticDepth(1.0))],
    layers.WeightNormalization: [
        ("layer", lambda: layers.WeightNormalization("dense")),
        (
            "data_init",
            lambda: layers.WeightNormalization(keras.layers.Dense(2), data_init="yes"),
        ),
        (
            "data_init",
            lambda: layers.WeightNormalization(keras.layers.LSTM(2)),
        ),
        (
            "layer",
            lambda: layers.WeightNormalization(
                keras.layers.Bidirectional(keras.layers.LSTM(2)), data_init=False
            ),
        ),
    ],
    # initializers and constraints
    initializers.SVDOrthogonal: [("gain", lambda: initializers.SVDOrthogonal(-1.0))],
    initializers.ScaledIdentity: [
        ("shape", lambda: initializers.ScaledIdentity()((3, 4, 5)))
    ],
    initializers.lsuv_init: [
        ("x_batch", lambda: initializers.lsuv_init(_mlp(), None)),
        ("x_batch", lambda: initializers.lsuv_init(_mlp(), EMPTY)),
        ("x_batch", lambda: initializers.lsuv_init(_mlp(), NAN)),
        ("target_std", lambda: initializers.lsuv_init(_mlp(), _data(), 0.0)),
    ],
    constraints.Orthogonal: [("w", lambda: constraints.Orthogonal()(np.ones(3)))],
    constraints.SpectralNormBound: [
        ("max_value", lambda: constraints.SpectralNormBound(0.0))
    ],
    # optimizers
    optimizers.Lookahead: [
        ("optimizer", lambda: optimizers.Lookahead("not an optimizer")),
        ("sync_period", lambda: optimizers.Lookahead("sgd", sync_period=0)),
        ("slow_step_size", lambda: optimizers.Lookahead("sgd", slow_step_size=1.5)),
    ],
    optimizers.LayerwiseLearningRate: [
        (
            "multipliers['a']",
            lambda: optimizers.LayerwiseLearningRate("sgd", {"a": -1.0}),
        ),
    ],
    optimizers.schedules.OneCycle: [
        ("max_learning_rate", lambda: optimizers.schedules.OneCycle(0.0, 10)),
        ("total_steps", lambda: optimizers.schedules.OneCycle(0.1, 0)),
        (
            "warmup_fraction",
            lambda: optimizers.schedules.OneCycle(0.1, 10, warmup_fraction=0.0),
        ),
        (
            "warmup_fraction",
            lambda: optimizers.schedules.OneCycle(0.1, 10, warmup_fraction=1.0),
        ),
        ("div_factor", lambda: optimizers.schedules.OneCycle(0.1, 10, div_factor=0)),
        ("div_factor", lambda: optimizers.schedules.OneCycle(0.1, 10, div_factor=0.5)),
        (
            "final_div_factor",
            lambda: optimizers.schedules.OneCycle(0.1, 10, final_div_factor=0.0),
        ),
    ],
    optimizers.schedules.CyclicalLearningRate: [
        (
            "initial_learning_rate",
            lambda: optimizers.schedules.CyclicalLearningRate(0.0, 0.1, 5),
        ),
        (
            "maximal_learning_rate",
            lambda: optimizers.schedules.CyclicalLearningRate(0.1, 0.01, 5),
        ),
        ("step_size", lambda: optimizers.schedules.CyclicalLearningRate(0.01, 0.1, 0)),
        (
            "mode",
            lambda: optimizers.schedules.CyclicalLearningRate(0.01, 0.1, 5, "cos"),
        ),
        (
            "gamma",
            lambda: optimizers.schedules.CyclicalLearningRate(0.01, 0.1, 5, gamma=1.5),
        ),
        (
            "gamma",
            lambda: optimizers.schedules.CyclicalLearningRate(0.01, 0.1, 5, gamma=0.0),
        ),
    ],
    optimizers.AdaptiveGradientClipping: [
        ("optimizer", lambda: optimizers.AdaptiveGradientClipping(None)),
        ("clip_factor", lambda: optimizers.AdaptiveGradientClipping("sgd", 0.0)),
        ("epsilon", lambda: optimizers.AdaptiveGradientClipping("sgd", epsilon=-1)),
    ],
    optimizers.RectifiedAdam: [
        ("beta_2", lambda: optimizers.RectifiedAdam(beta_2=1.0)),
        ("sma_threshold", lambda: optimizers.RectifiedAdam(sma_threshold=2.0)),
        ("amsgrad", lambda: optimizers.RectifiedAdam(amsgrad="no")),
    ],
    optimizers.race: [
        ("function", lambda: optimizers.race(["sgd"], function="sphere")),
        ("steps", lambda: optimizers.race(["sgd"], steps=0)),
    ],
    # callbacks
    callbacks.GradientHealth: [
        ("probe_data", lambda: callbacks.GradientHealth(None)),
        (
            "every_n_batches",
            lambda: callbacks.GradientHealth((_data(), None), every_n_batches=0),
        ),
    ],
    callbacks.GreedyLayerwisePretraining: [
        ("x_unlabeled", lambda: callbacks.GreedyLayerwisePretraining(None)),
        ("x_unlabeled", lambda: callbacks.GreedyLayerwisePretraining(NAN)),
        ("k", lambda: callbacks.GreedyLayerwisePretraining(_data(), k=0)),
        ("rate", lambda: callbacks.GreedyLayerwisePretraining(_data(), rate=1.0)),
        ("layers", lambda: callbacks.GreedyLayerwisePretraining(_data(), layers=[])),
    ],
    callbacks.PrecheltEarlyStopping: [
        ("criterion", lambda: callbacks.PrecheltEarlyStopping("XY")),
        ("monitor", lambda: callbacks.PrecheltEarlyStopping(monitor="val_accuracy")),
    ],
    callbacks.PreciseBatchNorm: [
        ("data", lambda: callbacks.PreciseBatchNorm(None)),
        ("data", lambda: callbacks.PreciseBatchNorm(EMPTY)),
        ("every_n_epochs", lambda: callbacks.PreciseBatchNorm(_data(), 1, 0)),
    ],
    callbacks.ReduceLROnPlateau: [
        ("factor", lambda: callbacks.ReduceLROnPlateau(factor=1.0)),
    ],
    optimizers.schedules.ScaledSchedule: [
        ("schedule", lambda: optimizers.schedules.ScaledSchedule(0.1)),
        ("scale", lambda: optimizers.schedules.ScaledSchedule(_schedule(), 0.0)),
    ],
    callbacks.SWA: [
        ("start_epoch", lambda: callbacks.SWA(-1)),
        ("swa_freq", lambda: callbacks.SWA(0, swa_freq=0)),
        ("filepath", lambda: callbacks.SWA(0, filepath="average.keras")),
        ("verbose", lambda: callbacks.SWA(0, verbose=2)),
    ],
    callbacks.recompute_batch_norm_statistics: [
        ("data", lambda: callbacks.recompute_batch_norm_statistics(_bn_model(), None)),
        ("data", lambda: callbacks.recompute_batch_norm_statistics(_bn_model(), NAN)),
        (
            "data",
            lambda: callbacks.recompute_batch_norm_statistics(
                _bn_model(), [_data(), _data(size=3)]
            ),
        ),
    ],
    callbacks.plot_lr_finder: [("result", lambda: callbacks.plot_lr_finder(None))],
    optimizers.plot_race: [("result", lambda: optimizers.plot_race(None))],
    optimizers.animate_race: [("result", lambda: optimizers.animate_race(None, "x"))],
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
    pretraining.RBM: [
        ("units", lambda: pretraining.RBM(0)),
        ("visible", lambda: pretraining.RBM(4, visible="poisson")),
        ("x", lambda: pretraining.RBM(4).fit(None)),
        ("x", lambda: pretraining.RBM(4).fit(EMPTY)),
        ("x", lambda: pretraining.RBM(4).fit(NAN)),
        ("x", lambda: pretraining.RBM(4).fit(_data() * 3)),
    ],
    pretraining.DeepBeliefNetwork: [
        ("layer_sizes", lambda: pretraining.DeepBeliefNetwork([])),
        ("x", lambda: pretraining.DeepBeliefNetwork([4]).pretrain(NAN)),
    ],
    pretraining.DenoisingAutoencoder: [
        ("corruption", lambda: pretraining.DenoisingAutoencoder(4, corruption="salt")),
        ("x", lambda: pretraining.DenoisingAutoencoder(4).fit(None)),
        ("x", lambda: pretraining.DenoisingAutoencoder(4).fit(NAN)),
    ],
    pretraining.HybridRBMClassifier: [
        ("num_classes", lambda: pretraining.HybridRBMClassifier(4, 1)),
        (
            "y",
            lambda: pretraining.HybridRBMClassifier(4, 3).fit(
                _data(), np.full(8, 3), epochs=1, verbose=0
            ),
        ),
        (
            "y",
            lambda: pretraining.HybridRBMClassifier(4, 3).fit(
                _data(), np.zeros(5), epochs=1, verbose=0
            ),
        ),
    ],
    pretraining.pretrain: [
        ("method", lambda: pretraining.pretrain(_mlp(), _data(), method="pca")),
        ("x_unlabeled", lambda: pretraining.pretrain(_mlp(), None)),
        ("x_unlabeled", lambda: pretraining.pretrain(_mlp(), _data(features=5))),
        ("x_unlabeled", lambda: pretraining.pretrain(_mlp(), NAN)),
        ("k", lambda: pretraining.pretrain(_mlp(), _data(), k=0)),
        ("layers", lambda: pretraining.pretrain(_mlp(), _data(), layers=[])),
        ("model", lambda: pretraining.pretrain(_bn_model(), _data())),
    ],
    # tuners
    tuners.SmithingHyperModel: [
        ("num_classes", lambda: tuners.SmithingHyperModel((4,), 1)),
        ("task", lambda: tuners.SmithingHyperModel((4,), 3, task="ranking")),
    ],
    tuners.CoarseToFine: [
        ("shrink", lambda: tuners.CoarseToFine(shrink=1.5, objective="val_loss")),
    ],
    tuners.CoarseToFineOracle: [
        ("top_k", lambda: tuners.CoarseToFineOracle(objective="val_loss", top_k=0)),
    ],
    tuners.CostAwareObjective: [
        ("direction", lambda: tuners.CostAwareObjective(direction="up")),
    ],
    tuners.MedianPruner: [
        ("n_warmup_steps", lambda: tuners.MedianPruner(n_warmup_steps=0)),
        ("n_startup_trials", lambda: tuners.MedianPruner(n_startup_trials=-1)),
    ],
    tuners.PercentilePruner: [
        ("percentile", lambda: tuners.PercentilePruner(0.0)),
        ("percentile", lambda: tuners.PercentilePruner(100.0)),
    ],
    tuners.hyperparameter_importance: [
        ("records", lambda: tuners.hyperparameter_importance([])),
    ],
    tuners.plot_importance: [("records", lambda: tuners.plot_importance([]))],
    callbacks.TimeStopping: [
        ("seconds", lambda: callbacks.TimeStopping(0)),
        ("mode", lambda: callbacks.TimeStopping(10, mode="up")),
    ],
    callbacks.WeightPruning: [
        ("target_sparsity", lambda: callbacks.WeightPruning(1.0)),
        ("criterion", lambda: callbacks.WeightPruning(0.5, criterion="random")),
        ("end_epoch", lambda: callbacks.WeightPruning(0.5, start_epoch=3, end_epoch=2)),
        ("frequency", lambda: callbacks.WeightPruning(0.5, frequency=0)),
    ],
    ks.tta_predict: [
        ("x", lambda: ks.tta_predict(_mlp(), None, transforms=[lambda x: x])),
        ("transforms", lambda: ks.tta_predict(_mlp(), _data())),
        ("num_samples", lambda: ks.tta_predict(_mlp(), _data(), num_samples=0)),
    ],
    # datasets and utils
    datasets.load_digits: [
        ("validation_fraction", lambda: datasets.load_digits(validation_fraction=1.0)),
    ],
    datasets.load_mnist1d: [
        ("num_samples", lambda: datasets.load_mnist1d(num_samples=0)),
    ],
    datasets.load_dataset: [("name", lambda: datasets.load_dataset("cifar"))],
    utils.overfit_tiny_batch: [
        ("steps", lambda: utils.overfit_tiny_batch(_mlp(), _data(), None, steps=0)),
    ],
    utils.reliability: [
        ("probabilities", lambda: utils.reliability(NAN, np.zeros(1))),
        ("probabilities", lambda: utils.reliability(np.full((2, 2), 1.5), [0, 1])),
        ("labels", lambda: utils.reliability(np.full((2, 2), 0.5), [0])),
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


def test_readme_states_how_many_bad_inputs_are_tried():
    count = sum(len(cases) for cases in BAD_INPUTS.values())
    readme = (ROOT / "README.md").read_text()
    stated = re.search(r"(\d+) bad inputs to (\d+) public", readme)
    assert stated, "README does not state the bad-input count"
    assert (int(stated[1]), int(stated[2])) == (count, len(BAD_INPUTS))
