"""keras_smithing.initializers: Keras's initializers plus SVD-orthogonal, scaled identity and LSUV."""

from keras.initializers import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
)

from keras_smithing.initializers.identity import ScaledIdentity
from keras_smithing.initializers.lsuv import LSUVLayerReport, lsuv_init
from keras_smithing.initializers.orthogonal import SVDOrthogonal
