"""keras_smithing.callbacks."""

from keras_smithing.callbacks.early_stopping import PrecheltEarlyStopping
from keras_smithing.callbacks.gradient_health import GradientHealth
from keras_smithing.callbacks.lr_finder import (
    LRFinderResult,
    find_learning_rate,
    plot_lr_finder,
)
from keras_smithing.callbacks.lr_schedule import ReduceLROnPlateau
from keras_smithing.callbacks.precise_batch_norm import (
    PreciseBatchNorm,
    recompute_batch_norm_statistics,
)
from keras_smithing.callbacks.swa import SWA
from keras_smithing.callbacks.time_stopping import TimeStopping
from keras_smithing.callbacks.weight_pruning import WeightPruning
from keras_smithing.optimizers.schedules import ScaledSchedule  # Its former home.
from keras_smithing.pretraining.greedy import GreedyLayerwisePretraining
