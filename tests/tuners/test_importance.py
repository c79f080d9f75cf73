import numpy as np
import pytest
from matplotlib.figure import Figure

from keras_smithing.tuners import hyperparameter_importance, plot_importance


def _records(n=60, seed=0):
    """Synthetic records whose score is set by `learning_rate` alone (plus noise)."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        learning_rate = float(10 ** rng.uniform(-4, -1))
        hyperparameters = {
            "learning_rate": learning_rate,
            "width": int(rng.integers(32, 512)),
            "dropout": float(rng.uniform(0, 0.5)),
            "optimizer": str(rng.choice(["sgd", "adam", "rmsprop"])),
            "depth": 2,  # Fixed: not a tuned hyperparameter.
        }
        score = -((np.log10(learning_rate) + 2.5) ** 2) + 0.01 * rng.normal()
        status = "PRUNED" if i % 7 == 3 else "COMPLETED"
        records.append(
            {
                "trial_id": f"{i:02d}",
                "status": status,
                "score": score if status == "COMPLETED" else -100.0,
                "hyperparameters": hyperparameters,
            }
        )
    return records


def test_the_hyperparameter_that_sets_the_score_ranks_first():
    importance = hyperparameter_importance(_records())
    names = list(importance)
    assert names[0] == "learning_rate"
    assert set(names) == {"learning_rate", "width", "dropout", "optimizer"}
    assert importance["learning_rate"] > 0.8
    assert sum(importance.values()) == pytest.approx(1.0)


def test_keras_tuner_bookkeeping_values_are_not_hyperparameters():
    records = _records()
    # Trials that continue others (as CoarseToFine's, or Hyperband's) carry
    # the trial they resume and its epoch among their values.
    for number, record in enumerate(records[::4]):
        record["hyperparameters"]["tuner/trial_id"] = f"{number:02d}"
        record["hyperparameters"]["tuner/initial_epoch"] = 1 + number % 3
    importance = hyperparameter_importance(records)
    assert set(importance) == {"learning_rate", "width", "dropout", "optimizer"}


def test_plot_importance_returns_a_figure_and_saves_only_when_asked(tmp_path):
    records = _records(30)
    figure = plot_importance(records, max_axes=3)
    assert isinstance(figure, Figure)
    bars, lines = figure.axes[:2]
    assert bars.get_yticklabels()[-1].get_text() == "learning_rate"
    # One line per completed trial, across 3 hyperparameter axes and the score.
    completed = [r for r in records if r["status"] == "COMPLETED"]
    assert len(lines.get_lines()) >= len(completed)
    assert [t.get_text() for t in lines.get_xticklabels()][-1] == "objective"
    assert list(tmp_path.iterdir()) == []
    path = tmp_path / "importance.png"
    plot_importance(records, path=str(path))
    assert path.stat().st_size > 0


@pytest.mark.parametrize(
    "records, argument",
    [
        ("no/such/dir/../", "records"),
        (42, "records"),
        (_records(1), "records"),
    ],
)
def test_bad_records(records, argument):
    with pytest.raises((ValueError, FileNotFoundError), match=argument):
        hyperparameter_importance(records)
