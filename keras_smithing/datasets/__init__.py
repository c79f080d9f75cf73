"""Datasets that ship with their packages, in seeded 60/20/20 splits."""

from keras_smithing.datasets.loaders import (
    Splits,
    load_dataset,
    load_digits,
    load_mnist1d,
)
