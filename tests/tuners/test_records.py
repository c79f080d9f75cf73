import csv
import gc
import json
import os
import sqlite3
import weakref

import keras
import keras_tuner
import numpy as np
import pytest

from keras_smithing.tuners import TrialRecorder, read_records
from keras_smithing.utils import set_seed
from tests import harness


class RecordedRandomSearch(TrialRecorder, keras_tuner.RandomSearch):
    pass


def _build(hp):
    inputs = keras.Input((4,))
    x = keras.layers.Dense(hp.Int("units", 2, 32, sampling="log"), "tanh")(inputs)
    x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5))(x)
    if hp.Boolean("poison"):
        x = keras.layers.Rescaling(float("nan"))(x)  # NaN loss.
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    optimizer = keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log"))
    model.compile(optimizer, "mse", run_eagerly=True)  # Tiny: tracing costs more.
    return model


DATA = harness.random_data((48, 4)), harness.random_data((48, 1), seed=1)
FIT = {"validation_split": 0.25, "epochs": 2, "batch_size": 12, "verbose": 0}


def _search(directory, max_trials):
    tuner = RecordedRandomSearch(
        _build,
        objective="val_loss",
        max_trials=max_trials,
        seed=3,
        max_consecutive_failed_trials=max_trials,
        directory=str(directory),
        project_name="records",
    )
    tuner.search(*DATA, **FIT)
    return tuner


@pytest.fixture(scope="module")
def tuner(tmp_path_factory):
    return _search(tmp_path_factory.mktemp("records"), max_trials=3)


def test_every_trial_is_recorded_in_sqlite_and_csv(tuner):
    records, meta = read_records(tuner.project_dir)
    assert [r["trial_id"] for r in records] == sorted(tuner.oracle.trials)
    assert meta["objective"] == {"name": "val_loss", "direction": "min"}
    for record in records:
        trial = tuner.oracle.trials[record["trial_id"]]
        assert record["status"] == trial.status
        assert record["hyperparameters"] == trial.hyperparameters.values
        assert record["seed"] == tuner.trial_seed(record["trial_id"])
        assert record["wall_time_s"] > 0
        assert record["tuner_id"] == "tuner0"
        epochs = record["epoch_metrics"]
        assert len(epochs["loss"]) == len(epochs["val_loss"]) == 2
        assert 0 < epochs["trial_seconds"][0] < epochs["trial_seconds"][1]
        if trial.hyperparameters.values["poison"]:
            # A NaN loss fails the trial; the search went on.
            assert record["status"] == "FAILED"
            assert "NaN" in record["error"]
            assert record["score"] is None
        else:
            assert record["status"] == "COMPLETED"
            assert record["score"] == min(epochs["val_loss"])
    statuses = {r["status"] for r in records}
    assert statuses == {"COMPLETED", "FAILED"}, "the seed should draw both kinds"

    with open(os.path.join(tuner.project_dir, "trials.csv")) as file:
        rows = list(csv.DictReader(file))
    assert [row["trial_id"] for row in rows] == [r["trial_id"] for r in records]
    for row, record in zip(rows, records):
        assert int(row["units"]) == record["hyperparameters"]["units"]
        assert row["status"] == record["status"]
        assert json.loads(row["epoch_metrics"]) == record["epoch_metrics"]
    connection = sqlite3.connect(os.path.join(tuner.project_dir, "trials.sqlite"))
    (count,) = connection.execute("SELECT COUNT(*) FROM trials").fetchone()
    connection.close()
    assert count == 3


def test_a_trial_reruns_from_its_recorded_seed(tuner):
    records, _ = read_records(tuner.project_dir)
    for record in records:
        hp = keras_tuner.HyperParameters()
        hp.values = dict(record["hyperparameters"])
        set_seed(record["seed"])
        history = _build(hp).fit(*DATA, **FIT)
        # SQLite stores NaN as NULL: compare as floats, NaN equal to NaN.
        recorded = np.asarray(record["epoch_metrics"]["loss"], dtype=float)
        np.testing.assert_allclose(history.history["loss"], recorded, rtol=1e-6)
    assert any(r["status"] == "COMPLETED" for r in records)


def test_read_records_of_a_directory_without_records(tmp_path):
    try:
        read_records(str(tmp_path))
    except FileNotFoundError as error:
        assert "trials.sqlite" in str(error)
    else:
        raise AssertionError("read_records found records in an empty directory")


@pytest.mark.distributed
@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="keras.distribution runs on JAX"
)
def test_trials_build_under_the_distribution_of_the_search(tmp_path):
    # KerasTuner's clear_session() before each build forgets
    # keras.distribution.set_distribution(): without the recorder's hypermodel
    # wrapper every trial would train on one device (and, across processes,
    # each process alone on its shard).
    seen = []

    def build(hp):
        seen.append(keras.distribution.distribution())
        return _build(hp)

    devices = keras.distribution.list_devices("cpu")[:2]
    distribution = keras.distribution.DataParallel(devices=devices)
    keras.distribution.set_distribution(distribution)
    try:
        tuner = RecordedRandomSearch(
            build, "loss", max_trials=2, seed=0, directory=str(tmp_path)
        )
        x, y = harness.random_data((16, 4)), harness.random_data((16, 1), seed=1)
        tuner.search(x, y, epochs=1, batch_size=8, verbose=0)
    finally:
        keras.distribution.set_distribution(None)
    assert len(seen) >= 2 and all(d is distribution for d in seen), seen


def test_a_search_collects_its_trials_models_but_skips_older_objects(tmp_path):
    # KerasTuner collects garbage before every build: the search freezes the
    # objects that existed before it (a full collection walks the backend's
    # modules), and each build still frees the models of the ended trials.
    models, observed = [], []

    def build(hp):
        observed.append(
            (gc.get_freeze_count() > 0, [model() is None for model in models])
        )
        model = _build(hp)
        models.append(weakref.ref(model))
        return model

    tuner = RecordedRandomSearch(
        build,
        objective="val_loss",
        max_trials=3,
        seed=3,
        max_consecutive_failed_trials=3,
        directory=str(tmp_path),
    )
    # KerasTuner's constructor built one model to declare the space.
    assert observed.pop(0) == (False, [])
    tuner.search(*DATA, **FIT)
    assert observed == [(True, [True]), (True, [True, True]), (True, [True] * 3)]
    assert gc.get_freeze_count() == 0


def test_a_search_leaves_objects_frozen_by_the_process_frozen(tmp_path):
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        _search(tmp_path, max_trials=3)
        # Neither unfrozen nor frozen further (frozen objects freed by their
        # reference count leave the count).
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
