"""Greedy layer-wise pretraining: RBMs, deep belief nets, denoising autoencoders."""

from keras_smithing.pretraining.autoencoder import DenoisingAutoencoder
from keras_smithing.pretraining.dbn import DeepBeliefNetwork
from keras_smithing.pretraining.greedy import GreedyLayerwisePretraining, pretrain
from keras_smithing.pretraining.hybrid import HybridRBMClassifier
from keras_smithing.pretraining.rbm import RBM
