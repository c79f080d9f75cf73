"""Every stateful object and callback under two-process JAX training (issue #25).

Run by `make test-multiprocess` (JAX, no TensorFlow); each test starts two JAX
processes on localhost (see tests/multiprocess.py).
"""

import keras
import pytest

from tests.multiprocess import check_multiprocess_fit

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.skipif(
        keras.backend.backend() != "jax",
        reason="multi-process training with Keras 3 runs on JAX (see docs/guide/multi-machine.md)",
    ),
]


def test_plain_model_agrees_with_one_process(tmp_path):
    check_multiprocess_fit("tests.multiprocess_cases:plain_dense", tmp_path)


def test_precise_batch_norm_pools_statistics_across_processes(tmp_path):
    check_multiprocess_fit("tests.multiprocess_cases:precise_batch_norm", tmp_path)


def test_deterministic_tricks_agree_with_one_process(tmp_path):
    check_multiprocess_fit("tests.multiprocess_cases:deterministic_tricks", tmp_path)


def test_stopping_callbacks_decide_alike_with_skewed_clocks(tmp_path):
    first, _ = check_multiprocess_fit(
        "tests.multiprocess_cases:stopping_with_skewed_clocks",
        tmp_path,
        reference=False,
    )
    # Process 0's clock reads 7 s before the second batch of the second epoch
    # (one reading at the start, one per batch and epoch end); process 1's
    # would have let it train all four epochs.
    assert first["timer_stopped"].tolist() == [1, 1] and first["batches"] == 6


def test_tools_on_local_data_pool_it_and_write_once(tmp_path):
    check_multiprocess_fit(
        "tests.multiprocess_cases:local_data_tools",
        tmp_path,
        # Each process shuffles its own rows into the finder's batches.
        not_in_reference=("finder_losses",),
    )
    shared = tmp_path / "processes"
    assert len(list((shared / "health").iterdir())) == 1  # One event file.
    assert (shared / "health.png").exists() and (shared / "avg.weights.h5").exists()


def test_saliency_pruning_pools_its_probe_across_processes(tmp_path):
    check_multiprocess_fit("tests.multiprocess_cases:saliency_pruning", tmp_path)


def test_pretraining_family_trains_alike(tmp_path):
    # Gibbs sampling draws from each process's seed over its own rows: the
    # processes agree with each other, not with one process's draws.
    check_multiprocess_fit(
        "tests.multiprocess_cases:pretraining_family", tmp_path, reference=False
    )


def test_prediction_tools_sample_alike(tmp_path):
    check_multiprocess_fit(
        "tests.multiprocess_cases:prediction_tools",
        tmp_path,
        not_in_reference=("mc", "tta"),  # Seeded per run, not per data split.
    )


def test_search_with_pruner_decides_alike_and_records_once(tmp_path):
    first, _ = check_multiprocess_fit(
        "tests.multiprocess_cases:search_with_pruner", tmp_path, reference=False
    )
    assert first["stopped"].any(), first  # The pruner had trials to stop.
    shared = tmp_path / "processes"
    assert (shared / "tuner_0" / "search" / "trials.csv").exists()
    assert not list((shared / "tuner_1").rglob("trials.*"))  # One writer.
