import keras
import keras_tuner
import numpy as np
import pytest

from keras_smithing import layers, optimizers
from keras_smithing.tuners import (
    CoarseToFine,
    CostAwareObjective,
    SmithingHyperModel,
    read_records,
)
from tests import harness

X = harness.random_data((64, 12))
Y = np.arange(64) % 3


def _hp(hypermodel, **values):
    """HyperParameters of the hypermodel's space with `values` set."""
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    hp.values.update(values)
    hp.ensure_active_values()
    return hp


def test_default_space_has_every_trick():
    space = SmithingHyperModel((12,), 3).search_space
    assert space["initializer"] == ["glorot", "he", "svd_orthogonal", "lsuv"]
    assert space["skip"] == ["none", "residual", "highway"]
    assert "lookahead" in space["optimizer"]
    assert "augmentation" not in space  # Not a signal.
    assert "augmentation" in SmithingHyperModel((40, 1), 3).search_space


@pytest.mark.parametrize(
    "values, layer_types",
    [
        (
            dict(
                skip="none",
                activation="prelu",
                normalization="batch",
                initializer="svd_orthogonal",
                optimizer="lookahead",
                dropconnect=0.3,
            ),
            {
                layers.DropConnectDense,
                keras.layers.PReLU,
                keras.layers.BatchNormalization,
            },
        ),
        (
            dict(
                skip="residual",
                block_activation="elu",
                normalization="layer",
                initializer="he",
                optimizer="nesterov",
            ),
            {layers.ResidualBlock},
        ),
        (
            dict(
                skip="highway",
                block_activation="leaky_relu",
                normalization="none",
                initializer="glorot",
                optimizer="sgd",
            ),
            {layers.Highway},
        ),
    ],
)
def test_each_trick_builds_and_trains(values, layer_types):
    hypermodel = SmithingHyperModel((12,), 3)
    hp = _hp(hypermodel, depth=2, width=16, **values)
    model = hypermodel.build(hp)
    found = {type(layer) for layer in model.layers}
    assert layer_types <= found, found
    if values["optimizer"] == "lookahead":
        assert isinstance(model.optimizer, optimizers.Lookahead)
    assert set(values.items()) <= set(hp.values.items())
    model.run_eagerly = True  # A tiny model: tracing would cost more than the step.
    history = hypermodel.fit(hp, model, X, Y, epochs=1, batch_size=64, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["trial_seconds"][0] > 0
    assert model.output_shape == (None, 3)


def test_prelu_is_offered_with_plain_blocks_only():
    hypermodel = SmithingHyperModel((12,), 3)
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)
    space = {h.name: h for h in hp.space}
    assert "prelu" in space["activation"].values
    assert space["activation"].conditions[0].values == ["none"]
    assert "prelu" not in space["block_activation"].values
    assert len(space["block_activation"].values) == 5
    for skip in ("none", "residual", "highway"):
        hp.values["skip"] = skip
        hp.ensure_active_values()
        assert ("activation" in hp.values) == (skip == "none")
        assert ("block_activation" in hp.values) == (skip != "none")


def test_lsuv_runs_before_training():
    hypermodel = SmithingHyperModel(
        (12,),
        3,
        search_space={
            "initializer": "lsuv",
            "depth": 1,
            "width": 32,
            "skip": "none",
            "normalization": "none",
        },
    )
    hp = _hp(hypermodel)
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, X, Y, epochs=0, verbose=0)
    dense = next(la for la in model.layers if isinstance(la, keras.layers.Dense))
    pre_activation = X @ dense.get_weights()[0] + dense.get_weights()[1]
    assert abs(np.std(pre_activation) - 1.0) < 0.1


def test_signal_augmentation():
    hypermodel = SmithingHyperModel((40, 1), 3)
    hp = _hp(hypermodel, augmentation=True, augmentation_strength=0.4)
    model = hypermodel.build(hp)
    found = {type(layer) for layer in model.layers}
    assert {layers.RandomShift1D, layers.RandomJitter} <= found
    shift = next(la for la in model.layers if isinstance(la, layers.RandomShift1D))
    assert shift.max_shift == 2
    hp = _hp(hypermodel, augmentation=False)
    assert "augmentation_strength" not in hp.values


def test_search_space_restricts_and_extends():
    hypermodel = SmithingHyperModel(
        (12,),
        1,
        task="regression",
        search_space={
            "depth": 2,
            "width": (16, 64),
            "activation": ["relu", "gelu"],
            "optimizer": ["adam", "adamw"],
            "skip": "none",
        },
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    space = {h.name: h for h in hp.space}
    assert isinstance(space["depth"], keras_tuner.engine.hyperparameters.Fixed)
    assert (space["width"].min_value, space["width"].max_value) == (16, 64)
    assert space["width"].sampling == "log"
    assert list(space["activation"].values) == ["relu", "gelu"]
    assert space["learning_rate"].sampling == "log"
    assert model.loss == "mse" and model.output_shape == (None, 1)
    hp.values["optimizer"] = "adamw"
    assert isinstance(hypermodel.build(hp).optimizer, keras.optimizers.AdamW)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"search_space": {"depht": 2}}, "search_space"),
        ({"search_space": {"width": (64, 64)}}, "search_space"),
        ({"search_space": {"learning_rate": (0.0, 0.1)}}, "search_space"),
        ({"search_space": {"activation": ["relu", "no_such_fn"]}}, "search_space"),
        (
            {"search_space": {"activation": "prelu", "skip": ["none", "highway"]}},
            "search_space",
        ),
        ({"search_space": [("depth", 2)]}, "search_space"),
        ({"search_space": {"batch_size": (0, 64)}}, "search_space"),
        ({"input_shape": (0,)}, "input_shape"),
        ({"num_classes": 1}, "num_classes"),
        ({"task": "ranking"}, "task"),
    ],
)
def test_bad_arguments(kwargs, argument):
    kwargs = {"input_shape": (12,), "num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=f"`{argument}`"):
        SmithingHyperModel(**kwargs)


def test_coarse_to_fine_search_with_a_cost_aware_objective(tmp_path):
    objective = CostAwareObjective("val_loss", time_weight=0.01)
    tuner = CoarseToFine(
        SmithingHyperModel(
            (12,),
            3,
            search_space={
                "depth": 1,
                "width": (8, 32),
                "initializer": "he",
                "optimizer": ["adam", "rmsprop"],
            },
        ),
        objective,
        max_trials=2,
        trials_per_round=1,
        top_k=1,
        seed=0,
        directory=str(tmp_path),
        project_name="smithing",
    )
    tuner.search(X, Y, validation_split=0.25, epochs=2, batch_size=48, verbose=0)
    records, meta = read_records(tuner.project_dir)
    assert len(records) == 2
    assert meta["objective"]["name"] == "cost_aware_val_loss"
    for record in records:
        if record["status"] == "COMPLETED":
            epochs = record["epoch_metrics"]
            best = min(
                v + 0.01 * t
                for v, t in zip(epochs["val_loss"], epochs["trial_seconds"])
            )
            assert record["score"] == pytest.approx(best)


@pytest.mark.parametrize(
    "entry, allowed",
    [
        ({"dropout": 1.0}, "numbers in [0.0, 1.0) for 'dropout'"),
        ({"dropconnect": [0.0, 1.5]}, "numbers in [0.0, 1.0) for 'dropconnect'"),
        ({"learning_rate": -0.01}, "numbers in (0.0, inf) for 'learning_rate'"),
        ({"l2": -1e-4}, "numbers in [0.0, inf) for 'l2'"),
        (
            {"augmentation_strength": 2.0},
            "numbers in [0.0, 1.0] for 'augmentation_strength'",
        ),
        ({"depth": 0}, "integers in [1, inf) for 'depth'"),
        ({"width": 32.5}, "integers in [1, inf) for 'width'"),
        ({"batch_size": [16, 0]}, "integers in [1, inf) for 'batch_size'"),
    ],
)
def test_search_space_values_are_checked_at_construction(entry, allowed):
    with pytest.raises(ValueError) as error:
        SmithingHyperModel((12,), 3, search_space=entry)
    message = str(error.value)
    assert f"`search_space`. Expected {allowed}." in message
    assert message.endswith(f"Received: search_space={entry!r}")


class _StepsPerEpoch(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.steps = self.params["steps"]


def test_batch_size_is_a_hyperparameter_that_reaches_fit():
    assert "batch_size" not in SmithingHyperModel((12,), 3).search_space
    hypermodel = SmithingHyperModel(
        (12,),
        3,
        search_space={"batch_size": [16, 32], "depth": 1, "width": 8, "skip": "none"},
    )
    hp = _hp(hypermodel, batch_size=16)
    model = hypermodel.build(hp)
    model.run_eagerly = True
    steps = _StepsPerEpoch()
    history = hypermodel.fit(
        hp, model, X, Y, epochs=1, batch_size=64, callbacks=[steps], verbose=0
    )
    # The drawn batch size replaced the caller's; other arguments passed through.
    assert steps.steps == len(X) // 16
    assert len(history.history["loss"]) == 1
