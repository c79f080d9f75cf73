"""The support matrix's bookkeeping (tests/support_matrix.py)."""

import json
import pathlib

import keras

from keras_smithing.layers import DropConnect, DropConnectDense
from keras_smithing.optimizers import Lookahead
from tests import support_matrix

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_docs_matrix_is_generated_from_the_committed_results():
    from tools.pages import read_section

    section = read_section("support")
    matrix = json.loads(support_matrix.MATRIX.read_text())
    assert sorted(matrix) == sorted(support_matrix.BACKENDS)
    assert section.strip() == support_matrix.markdown(matrix).strip()


def test_records_name_nested_objects_and_count_only_for_passing_tests(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(support_matrix, "_passed", set())
    inputs = keras.Input((3,))
    hidden = DropConnectDense(4, 0.5)(inputs)
    model = keras.Model(inputs, DropConnect(keras.layers.Dense(2), 0.5)(hidden))
    model.compile(optimizer=Lookahead(keras.optimizers.SGD()), loss="mse")
    support_matrix.record(model, "fit")
    support_matrix.end_test(passed=True)
    support_matrix.record(DropConnectDense, "jit")
    support_matrix.end_test(passed=False)
    support_matrix.write(tmp_path)
    merged = support_matrix.merge(tmp_path)[keras.backend.backend()]
    assert merged == {
        "DropConnect": ["fit"],
        "DropConnectDense": ["fit"],
        "Lookahead": ["fit"],
    }


def test_check_flags_claims_the_records_do_not_show(tmp_path, monkeypatch):
    records = tmp_path / "records"
    records.mkdir()
    (records / "torch-main-1.json").write_text(
        json.dumps([["A", "fit"], ["A", "save/load"], ["B", "fit"]])
    )
    committed = {"torch": {"A": ["fit", "jit"], "B": ["fit", "save/load"]}}
    monkeypatch.setattr(support_matrix, "MATRIX", tmp_path / "matrix.json")
    support_matrix.MATRIX.write_text(json.dumps(committed))
    missing, not_run = support_matrix.check(records)
    assert missing == [("torch", "B", "save/load")]
    assert not_run == [("torch", "jit")]
