"""Seeding, sanity checks, calibration and argument validation."""

from keras_smithing.utils.calibration import Reliability, reliability
from keras_smithing.utils.sanity import OverfitReport, overfit_tiny_batch
from keras_smithing.utils.seeding import set_seed
