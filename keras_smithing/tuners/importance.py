"""How much each hyperparameter of a recorded search explains its objective."""

import math
import os

import numpy as np

from keras_smithing.tuners.records import is_bookkeeping, read_records
from keras_smithing.utils.validation import check_int, invalid_argument


def load_records(records):
    """`(records, meta)` from a project directory, or `(records, {})` from a list."""
    if isinstance(records, (str, os.PathLike)):
        return read_records(os.fspath(records))
    if isinstance(records, tuple) and len(records) == 2:
        return records
    if isinstance(records, list):
        return records, {}
    raise invalid_argument(
        "records",
        records,
        "a project directory, the list of records `read_records` returns, or "
        "its `(records, meta)` pair",
    )


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def log_sampled(meta):
    """The names of the hyperparameters declared with `sampling="log"`, or None."""
    space = meta.get("space", {}).get("space")
    if space is None:
        return None
    return {
        hp["config"]["name"] for hp in space if hp["config"].get("sampling") == "log"
    }


def encode(records, names, log_names=None):
    """The hyperparameter values of `records` as a float matrix, one column each.

    Numbers are kept (log10 for `log_names`, or, when `log_names` is None,
    when all are positive and span over two decades);
    other values (choices, booleans) become their index in order of first
    appearance. A value missing from a record (an inactive conditional
    hyperparameter) becomes -1 below the column's range.

    Returns:
        `(matrix, labels)`: the `(len(records), len(names))` array and, per
        name, the list of category labels, `"log"` for a log10 column, or None
        for a linear one.
    """
    columns, labels = [], []
    for name in names:
        values = [r["hyperparameters"].get(name) for r in records]
        present = [v for v in values if v is not None]
        if present and all(_is_number(v) for v in present):
            logs = min(present) > 0 and (
                name in log_names
                if log_names is not None
                else max(present) / min(present) > 100
            )
            column = [
                math.log10(v) if logs else float(v)
                for v in (math.nan if v is None else v for v in values)
            ]
            labels.append("log" if logs else None)
        else:
            categories = list(dict.fromkeys(str(v) for v in present))
            column = [
                math.nan if v is None else float(categories.index(str(v)))
                for v in values
            ]
            labels.append(categories)
        column = np.asarray(column, dtype=float)
        finite = column[np.isfinite(column)]
        low = finite.min() - 1 if finite.size else -1.0
        columns.append(np.where(np.isfinite(column), column, low))
    return np.stack(columns, axis=1), labels


def tuned_names(records):
    """The hyperparameters that take more than one value among `records`
    (KerasTuner's `"tuner/..."` bookkeeping values left out)."""
    names = list(
        dict.fromkeys(
            n for r in records for n in r["hyperparameters"] if not is_bookkeeping(n)
        )
    )
    return [
        n
        for n in names
        if len({repr(r["hyperparameters"].get(n)) for r in records}) > 1
    ]


def scored(records, include_pruned=False):
    """The records with a finite score (completed, and pruned if asked)."""
    statuses = ("COMPLETED", "PRUNED") if include_pruned else ("COMPLETED",)
    return [
        r
        for r in records
        if r["status"] in statuses
        and r["score"] is not None
        and math.isfinite(r["score"])
    ]


def hyperparameter_importance(records, include_pruned=False, seed=0):
    """The share of the objective's variation each hyperparameter explains.

    Fits a random forest that predicts a trial's score from its
    hyperparameter values (see `encode`) and returns its mean decrease in
    impurity per hyperparameter, normalized to sum to 1 (the estimate of
    Optuna's `MeanDecreaseImpurityImportanceEvaluator`). Only hyperparameters
    that took more than one value count; KerasTuner's `"tuner/..."` values
    (which trial a continued trial resumes, Hyperband's brackets) are not
    hyperparameters and never do. Pruned trials are left out by
    default: their score reflects a shortened training as much as their
    hyperparameters.

    Args:
        records: A project directory holding `TrialRecorder` records, or the
            records `read_records` returns.
        include_pruned: Whether pruned trials count.
        seed: Integer, the forest's random seed.

    Returns:
        A dict `name -> importance`, most important first.

    Reference:
        Breiman, "Random Forests", Machine Learning 45, 2001.

    Example:

    >>> from keras_smithing.tuners import CoarseToFine
    >>> class Bowl(CoarseToFine):
    ...     def run_trial(self, trial, **kwargs):
    ...         x = trial.hyperparameters.Float("x", -5.0, 5.0)
    ...         y = trial.hyperparameters.Float("y", -5.0, 5.0)
    ...         return (x - 1.0) ** 2 + 0.01 * y**2
    >>> tuner = Bowl(max_trials=12, seed=0, directory="bowl", overwrite=True)
    >>> tuner.search(verbose=0)
    >>> from keras_smithing.tuners import hyperparameter_importance
    >>> importance = hyperparameter_importance(tuner.project_dir)
    >>> list(importance)
    ['x', 'y']
    >>> round(sum(importance.values()), 6)
    1.0
    """
    from sklearn.ensemble import RandomForestRegressor

    records, _ = load_records(records)
    seed = check_int("seed", seed, minimum=0)
    records = scored(records, include_pruned)
    names = tuned_names(records)
    if len(records) < 2 or not names:
        raise invalid_argument(
            "records",
            f"<{len(records)} scored trials, {len(names)} tuned hyperparameters>",
            "at least 2 scored trials and 1 hyperparameter that varies",
        )
    matrix, _ = encode(records, names)
    scores = np.array([r["score"] for r in records])
    forest = RandomForestRegressor(n_estimators=200, random_state=seed)
    forest.fit(matrix, scores)
    importances = forest.feature_importances_
    if not importances.sum() > 0:  # Every score equal: nothing explains them.
        importances = np.full(len(names), 1.0 / len(names))
    order = np.argsort(-importances, kind="stable")
    return {names[i]: float(importances[i]) for i in order}
