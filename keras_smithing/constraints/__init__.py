"""keras_smithing.constraints: Keras's constraints plus orthogonality and spectral-norm bounds."""

from keras.constraints import MaxNorm, MinMaxNorm, NonNeg, UnitNorm

from keras_smithing.constraints.orthogonal import Orthogonal
from keras_smithing.constraints.spectral import SpectralNormBound
