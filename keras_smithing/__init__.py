"""keras_smithing: the tricks of the trade of training neural networks, for Keras 3.

Importing the package registers every object under the "keras_smithing" package, so
`.keras` files that use them load with `keras.saving.load_model` after this import.
"""

__version__ = "0.1.0"

from keras_smithing import (
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    optimizers,
    pretraining,
    tuners,
    utils,
)
from keras_smithing.callbacks.lr_finder import find_learning_rate
from keras_smithing.layers.mc_dropout import mc_predict
from keras_smithing.layers.test_time_augmentation import tta_predict
from keras_smithing.utils import set_seed
