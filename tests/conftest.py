"""Test-session set-up: quiet TensorFlow, two CPU devices, clean global state."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if os.environ["KERAS_BACKEND"] == "jax":
    # keras.distribution tests need two devices; this must run before JAX starts.
    os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import keras  # noqa: E402
import pytest  # noqa: E402

from tests import support_matrix  # noqa: E402

SEED = 1337

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    # MirroredStrategy tests need two devices; this must run before TF starts.
    _cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )


def pytest_collection_modifyitems(config, items):
    if keras.backend.backend() != "torch":
        return
    skip = pytest.mark.skip(
        reason="Keras has no distribution API on PyTorch (use torch's DDP directly)"
    )
    for item in items:
        if "distributed" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_keras_state():
    keras.config.set_dtype_policy("float32")
    # No gc.collect() per test (free_memory=False): with PyTorch it cost seconds.
    keras.backend.clear_session(free_memory=False)
    # Every unseeded draw (NumPy's and Python's global RNGs, the backend's, Keras's
    # global seed generator, fit's shuffling) is the same in every run, whatever
    # the test order: a test cannot pass here and fail on CI's draw.
    keras.utils.set_random_seed(SEED)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        support_matrix.end_test(report.passed)
    return report


def pytest_sessionfinish(session):
    if os.environ.get("SMITHING_SUPPORT_DIR"):
        support_matrix.write(os.environ["SMITHING_SUPPORT_DIR"])
