"""Run records: every trial of a KerasTuner search, in CSV and SQLite."""

import contextlib
import csv
import datetime
import gc
import json
import math
import numbers
import os
import sqlite3
import time
import zlib

import keras
import keras_tuner
from keras_tuner.engine.trial import TrialStatus

from keras_smithing.tuners.objectives import TRIAL_SECONDS
from keras_smithing.utils.backend import is_first_process
from keras_smithing.utils.compat import BestEpochWrittenOnce
from keras_smithing.utils.seeding import set_seed

RECORDS_DB = "trials.sqlite"
RECORDS_CSV = "trials.csv"
# The record status of a trial a pruner stopped early (KerasTuner: STOPPED).
PRUNED = "PRUNED"
# The values that make a trial continue an earlier one, named as KerasTuner's
# Hyperband names them: the trial whose checkpoint it starts from, and the
# epoch it starts at.
RESUMED_FROM = "tuner/trial_id"
INITIAL_EPOCH = "tuner/initial_epoch"


def is_bookkeeping(name):
    """Whether a trial's value `name` is KerasTuner's bookkeeping, not a
    hyperparameter: `"tuner/..."` (Hyperband's epochs, bracket and round, the
    trial a continued trial resumes and its initial epoch)."""
    return name.startswith("tuner/")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    trial_id TEXT PRIMARY KEY, status TEXT, score REAL, seed INTEGER,
    wall_time_s REAL, started_at TEXT, tuner_id TEXT, hyperparameters TEXT,
    metrics TEXT, error TEXT, traceback TEXT);
CREATE TABLE IF NOT EXISTS epochs (
    trial_id TEXT, execution INTEGER, epoch INTEGER, metric TEXT, value REAL,
    PRIMARY KEY (trial_id, execution, epoch, metric));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
_COLUMNS = ("trial_id", "status", "score", "seed", "wall_time_s", "started_at")


def _connect(path):
    connection = sqlite3.connect(path, timeout=60, isolation_level=None)
    connection.executescript(_SCHEMA)
    return connection


def _finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _value_at(history, step):
    """A metric's value at `step` (the best epoch), else its last value."""
    for observation in history.get_history():
        if observation.step == step:
            return observation.mean()
    return history.get_last_value()


def _error_line(message):
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


@contextlib.contextmanager
def _collect_new_objects_only():
    """Within it, garbage collections skip the objects that existed before.

    KerasTuner's build of every trial runs `keras.backend.clear_session()` and
    `gc.collect()`, and Keras's `clear_session()` a second `gc.collect()`. A
    full collection walks every tracked object of the process, most of them
    the backend's modules: on this project's 2-core machine 0.16 s each with
    JAX loaded, 0.23 s with TensorFlow, 0.29 s with torch, so up to 0.6 s a
    trial, a quarter of a small model's trial pruned after two epochs. Frozen
    (`gc.freeze()`), the objects that existed when the search began are
    skipped, and a collection only walks what the search has made since, the
    ended trials' models among them; they are freed as before. A process that
    froze objects itself is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.collect()  # Garbage that exists now would stay frozen until the end.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _BuildUnderDistribution(keras_tuner.HyperModel):
    """A hypermodel built under the `keras.distribution` the tuner was made under.

    KerasTuner calls `keras.backend.clear_session()` before every build, which
    also forgets `keras.distribution.set_distribution(...)`: each trial would
    then train on one device, and under multi-process training each process
    would train its own model on its own shard, silently.
    """

    def __init__(self, hypermodel, distribution):
        super().__init__(name=hypermodel.name)
        self.hypermodel = hypermodel
        self.distribution = distribution

    def build(self, hp):
        keras.distribution.set_distribution(self.distribution)
        return self.hypermodel.build(hp)

    def declare_hyperparameters(self, hp):
        self.hypermodel.declare_hyperparameters(hp)

    def fit(self, hp, model, *args, **kwargs):
        return self.hypermodel.fit(hp, model, *args, **kwargs)


class TrialRecorder(BestEpochWrittenOnce):
    """Tuner mixin that seeds, times and records every trial of a search.

    Put it first among the bases of any KerasTuner tuner; `CoarseToFine`
    already has it. For each trial it

    - draws a seed, `oracle seed + trial number` (a hash for non-numeric
      trial ids), and passes it to `keras_smithing.utils.set_seed` before the
      trial builds its model, so `set_seed(seed)` followed by the same build
      and `fit` reproduces the trial's metrics on CPU;
    - builds every trial under the `keras.distribution` the tuner was created
      under (KerasTuner's `clear_session()` before each build forgets it);
    - skips, in the garbage collections KerasTuner runs before each build,
      the objects that existed before the search began (`gc.freeze()` for
      the search's duration): 0.3 s to 0.6 s less per trial, by backend;
    - keeps the weights of the best epoch so far in memory and writes the
      trial's checkpoint (what `get_best_models()` loads) once, when each
      `fit` ends, where KerasTuner writes it at every epoch that improves the
      objective (0.03 s a write for a small MLP, a tenth of its epoch on one
      CPU core); the copy costs host memory for one set of weights;
    - writes the seconds of training so far into each epoch's logs as
      `"trial_seconds"` (what `CostAwareObjective` prices);
    - records the hyperparameter values, seed, metrics of every epoch, the
      metrics of the best epoch and score, wall time and status
      (`"COMPLETED"`; `"PRUNED"` for a trial a pruner stopped early, which
      KerasTuner holds as `"STOPPED"`, scored by the best epoch it ran; or
      `"FAILED"` with the error of a trial that raised or scored NaN) to
      `trials.sqlite` and `trials.csv` in the tuner's project directory.

    A trial is written when it starts (status `"RUNNING"`) and rewritten when
    it ends, so an interrupted search leaves an honest record and a resumed
    one overwrites the row when KerasTuner re-runs that trial. Distributed
    workers sharing the directory write to the same database; the CSV is
    re-exported from it inside the write transaction. Under multi-process
    training (every process running the same trials) process 0 alone writes. Read the records with
    `read_records(project_dir)`.

    Example:

    >>> import keras_tuner
    >>> from keras_smithing.tuners import TrialRecorder, read_records
    >>> class RecordedRandomSearch(TrialRecorder, keras_tuner.RandomSearch):
    ...     def run_trial(self, trial, **kwargs):
    ...         x = trial.hyperparameters.Float("x", -5.0, 5.0)
    ...         return (x - 1.0) ** 2
    >>> tuner = RecordedRandomSearch(max_trials=3, seed=1, directory="recorded",
    ...                              overwrite=True)
    >>> tuner.search(verbose=0)
    >>> records, meta = read_records(tuner.project_dir)
    >>> [record["status"] for record in records]
    ['COMPLETED', 'COMPLETED', 'COMPLETED']

    With a Keras hypermodel the same class records every epoch's metrics:
    `RecordedRandomSearch(build_model, "val_loss", max_trials=10)`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # On a distributed worker `self.oracle` is an `OracleClient` around the
        # local oracle; the local one holds the seed.
        local_oracle = getattr(self.oracle, "_oracle", self.oracle)
        seed = getattr(local_oracle, "seed", None)
        self.trial_seed_base = seed if isinstance(seed, int) else 0
        self._running = {}
        distribution = keras.distribution.distribution()
        if distribution is not None and self.hypermodel is not None:
            self.hypermodel = _BuildUnderDistribution(self.hypermodel, distribution)

    @property
    def records_path(self):
        """Path of the SQLite file of the records."""
        return os.path.join(self.project_dir, RECORDS_DB)

    def trial_seed(self, trial_id):
        """The seed of trial `trial_id` (an `int` in [0, 2**32))."""
        offset = (
            int(trial_id)
            if str(trial_id).isdigit()
            else zlib.crc32(str(trial_id).encode())
        )
        return (self.trial_seed_base + offset) % 2**32

    def search(self, *fit_args, **fit_kwargs):
        """Runs the search, as KerasTuner's `Tuner.search(*fit_args, **fit_kwargs)`.

        The arguments are those of `model.fit` (`HyperModel.fit`), plus
        `verbose`. While it runs, the garbage collections KerasTuner makes
        before each trial walk only the objects made since the search began
        (`gc.freeze()`, undone when the search ends): 0.3 s to 0.6 s less
        per trial, by backend.
        """
        with _collect_new_objects_only():
            return super().search(*fit_args, **fit_kwargs)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        seed = set_seed(self.trial_seed(trial.trial_id))
        self._running[trial.trial_id] = {
            "start": time.perf_counter(),
            "fit_start": time.perf_counter(),
            "started_at": datetime.datetime.now().isoformat(timespec="seconds"),
            "seed": seed,
            "execution": -1,
            "epochs": [],
        }
        self._write(trial, "RUNNING", None, {}, None, seed)

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        super().on_epoch_begin(trial, model, epoch, logs=logs)
        state = self._running.get(trial.trial_id)
        # An execution starts at epoch 0, or where the trial it continues ended.
        first_epoch = trial.hyperparameters.values.get(INITIAL_EPOCH, 0)
        if state is not None and epoch == first_epoch:
            state["execution"] += 1
            state["fit_start"] = time.perf_counter()

    def on_epoch_end(self, trial, model, epoch, logs=None):
        state = self._running.get(trial.trial_id)
        if state is not None and logs is not None:
            logs[TRIAL_SECONDS] = time.perf_counter() - state["fit_start"]
            for name, value in logs.items():
                if isinstance(value, numbers.Real):
                    state["epochs"].append(
                        (max(state["execution"], 0), epoch, name, float(value))
                    )
        super().on_epoch_end(trial, model, epoch, logs=logs)

    def on_trial_end(self, trial):
        state = self._running.pop(trial.trial_id, None)
        wall_time = time.perf_counter() - state["start"] if state else None
        super().on_trial_end(trial)
        ended = self.oracle.get_trial(trial.trial_id)
        metrics = {
            name: _value_at(history, ended.best_step)
            for name, history in ended.metrics.metrics.items()
        }
        status = PRUNED if ended.status == TrialStatus.STOPPED else ended.status
        message = None
        if status not in (TrialStatus.COMPLETED, PRUNED):
            message = (
                ended.message
                or trial.message
                or "The objective value is NaN or missing."
            )
        self._write(
            ended,
            status,
            wall_time,
            metrics,
            message,
            state["seed"] if state else self.trial_seed(trial.trial_id),
            epochs=state["epochs"] if state else (),
            started_at=state["started_at"] if state else None,
        )

    def _write(
        self,
        trial,
        status,
        wall_time,
        metrics,
        message,
        seed,
        epochs=(),
        started_at=None,
    ):
        if not is_first_process():
            # Under multi-process training every process runs the same trials;
            # process 0 alone keeps the records.
            return
        objective = self.oracle.objective
        meta = {
            "space": json.dumps(self.oracle.get_space().get_config()),
            "objective": json.dumps(
                {"name": objective.name, "direction": objective.direction}
            ),
        }
        score = trial.score if status in (TrialStatus.COMPLETED, PRUNED) else None
        row = (
            trial.trial_id,
            status,
            None if score is None else _finite_or_none(score),
            seed,
            wall_time,
            started_at or datetime.datetime.now().isoformat(timespec="seconds"),
            getattr(self, "tuner_id", None),
            json.dumps(trial.hyperparameters.values),
            json.dumps({k: _finite_or_none(v) for k, v in metrics.items()}),
            _error_line(message),
            message,
        )
        connection = _connect(self.records_path)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items()
            )
            connection.execute(
                "INSERT OR REPLACE INTO trials VALUES (?,?,?,?,?,?,?,?,?,?,?)", row
            )
            connection.execute(
                "DELETE FROM epochs WHERE trial_id = ?", (trial.trial_id,)
            )
            connection.executemany(
                "INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?)",
                [(trial.trial_id, *epoch) for epoch in epochs],
            )
            _export_csv(connection, os.path.join(self.project_dir, RECORDS_CSV))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()


def _read(connection):
    meta = {k: json.loads(v) for k, v in connection.execute("SELECT * FROM meta")}
    epochs = {}
    for trial_id, execution, _epoch, metric, value in connection.execute(
        "SELECT * FROM epochs ORDER BY trial_id, execution, epoch"
    ):
        series = epochs.setdefault(trial_id, {}).setdefault(metric, [])
        if execution == 0:
            series.append(value)
    records = []
    for values in connection.execute("SELECT * FROM trials ORDER BY trial_id"):
        record = dict(zip(_COLUMNS + ("tuner_id",), values[:7]))
        record["hyperparameters"] = json.loads(values[7])
        record["metrics"] = json.loads(values[8])
        record["error"], record["traceback"] = values[9], values[10]
        record["epoch_metrics"] = epochs.get(record["trial_id"], {})
        records.append(record)
    return records, meta


def _export_csv(connection, path):
    records, meta = _read(connection)
    space = [hp["config"]["name"] for hp in meta.get("space", {}).get("space", [])]
    hp_names = list(
        dict.fromkeys(space + [n for r in records for n in r["hyperparameters"]])
    )
    metric_names = sorted({n for r in records for n in r["metrics"]})
    header = list(_COLUMNS) + hp_names + metric_names + ["epoch_metrics", "error"]
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for r in records:
            writer.writerow(
                [r[c] for c in _COLUMNS]
                + [r["hyperparameters"].get(n, "") for n in hp_names]
                + [r["metrics"].get(n, "") for n in metric_names]
                + [json.dumps(r["epoch_metrics"]), r["error"] or ""]
            )
    os.replace(temporary, path)


def read_records(directory):
    """Reads the records a `TrialRecorder` tuner wrote.

    Args:
        directory: The tuner's project directory (`directory/project_name`),
            which holds `trials.sqlite`.

    Returns:
        `(records, meta)`: a list with one dict per trial, in trial order (keys
        `trial_id`, `status`, `score`, `seed`, `wall_time_s`, `started_at`,
        `tuner_id`, `hyperparameters`, `metrics`, `epoch_metrics` (metric name
        to the per-epoch values of the first execution), `error`,
        `traceback`), and a dict with the search `space` (a
        `HyperParameters` config) and the `objective` (`name`, `direction`).

    Example:

    >>> from keras_smithing.tuners import CoarseToFine
    >>> class Bowl(CoarseToFine):
    ...     def run_trial(self, trial, **kwargs):
    ...         x = trial.hyperparameters.Float("x", -5.0, 5.0)
    ...         y = trial.hyperparameters.Float("y", -5.0, 5.0)
    ...         return (x - 1.0) ** 2 + 0.01 * y**2
    >>> tuner = Bowl(max_trials=12, seed=0, directory="bowl", overwrite=True)
    >>> tuner.search(verbose=0)
    >>> from keras_smithing.tuners import read_records
    >>> records, meta = read_records(tuner.project_dir)
    >>> len(records), records[0]["status"], sorted(records[0]["hyperparameters"])
    (12, 'COMPLETED', ['x', 'y'])
    >>> meta["objective"]["direction"]
    'min'
    """
    path = os.path.join(directory, RECORDS_DB)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No trial records at {path}.")
    connection = _connect(path)
    try:
        return _read(connection)
    finally:
        connection.close()
