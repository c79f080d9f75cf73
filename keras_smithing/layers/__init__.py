"""Layers: our tricks, plus one-stop re-exports of the Keras layers they build on."""

from keras.layers import (
    AlphaDropout,
    BatchNormalization,
    CutMix,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    GroupNormalization,
    LayerNormalization,
    MixUp,
    Pipeline,
    RandAugment,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)

from keras_smithing.layers.augmentation_1d import (
    RandomFeatureMask,
    RandomJitter,
    RandomScale1D,
    RandomShift1D,
    RandomTimeWarp1D,
)
from keras_smithing.layers.bayesian import BayesianConv1D, BayesianConv2D, BayesianDense
from keras_smithing.layers.dropblock import DropBlock2D
from keras_smithing.layers.dropconnect import DropConnect, DropConnectDense
from keras_smithing.layers.ghost_batch_norm import GhostBatchNormalization
from keras_smithing.layers.highway import ConvHighway2D, Highway
from keras_smithing.layers.layernorm_rnn import (
    LayerNormGRU,
    LayerNormGRUCell,
    LayerNormLSTM,
    LayerNormLSTMCell,
    LayerNormSimpleRNN,
    LayerNormSimpleRNNCell,
)
from keras_smithing.layers.mc_dropout import MCDropout
from keras_smithing.layers.residual import ResidualBlock
from keras_smithing.layers.stochastic_depth import StochasticDepth
from keras_smithing.layers.weight_normalization import WeightNormalization
