"""Layers: our tricks, plus one-stop re-exports of the Keras layers they build on."""

from keras.layers import (
    AlphaDropout,
    BatchNormalization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    GroupNormalization,
    LayerNormalization,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)

from keras_smithing.layers.mc_dropout import MCDropout
