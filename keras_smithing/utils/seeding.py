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

    Example:

    >>> import keras
    >>> import numpy as np
    >>> import keras_smithing
    >>> def fresh_model():
    ...     return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> keras_smithing.set_seed(42)
    42
    >>> first = fresh_model().get_weights()[0]
    >>> _ = keras_smithing.set_seed(42)
    >>> print(np.array_equal(fresh_model().get_weights()[0], first))
    True
    """
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    keras.utils.set_random_seed(seed)
    return seed
