"""Seeding for reproducible runs."""

import keras

from keras_smithing.utils.validation import check_int


def set_seed(seed):
    """Seeds Python's `random`, NumPy and the active Keras backend.

    A thin, validated front to `keras.utils.set_random_seed`, so that tuner trials and
    examples record one integer that reproduces their run on CPU.

    Args:
        seed: Non-negative integer.

    Returns:
        The seed, as an `int`.
    """
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    keras.utils.set_random_seed(seed)
    return seed
