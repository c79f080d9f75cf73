"""keras_smithing.optimizers: Keras's optimizers plus Lookahead, adaptive gradient
clipping, RectifiedAdam, layer-wise LR, learning-rate schedules (`schedules`, a
superset of `keras.optimizers.schedules`), race."""

from keras.optimizers import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    LossScaleOptimizer,
    Nadam,
    RMSprop,
)

from keras_smithing.optimizers import schedules
from keras_smithing.optimizers.adaptive_clipping import AdaptiveGradientClipping
from keras_smithing.optimizers.layerwise import LayerwiseLearningRate
from keras_smithing.optimizers.lookahead import Lookahead
from keras_smithing.optimizers.race import (
    RACE_FUNCTIONS,
    RaceResult,
    animate_race,
    plot_race,
    race,
)
from keras_smithing.optimizers.rectified_adam import RectifiedAdam
