"""Monte-Carlo dropout: dropout that stays on at inference."""

import keras

from keras_smithing.utils.validation import check_rate


@keras.saving.register_keras_serializable(package="keras_smithing")
class MCDropout(keras.layers.Dropout):
    """Dropout that also samples at inference (Monte-Carlo dropout).

    Identical to `keras.layers.Dropout` during training. At inference it keeps
    dropping units, so repeated predictions are samples from an approximate
    posterior predictive distribution; their spread measures the model's
    uncertainty (the seed notes' "leave dropout on, sample multiple realizations of
    the randomness"). Use `keras_smithing.mc_predict` to draw and summarize the
    samples. Plain `Dropout` layers need no replacement for that: `mc_predict`
    samples them too; `MCDropout` is for models that must be stochastic in every
    `predict` call.

    Args:
        rate: Float in [0, 1). Fraction of the input units to drop.
        noise_shape: 1D integer tuple, the shape of the binary dropout mask that
            multiplies the input (as in `keras.layers.Dropout`).
        seed: Python integer seed of the dropout masks.

    Call arguments:
        inputs: Input tensor (of any rank).
        training: Ignored: the layer drops units in training and inference alike.

    Reference:
        Gal & Ghahramani, "Dropout as a Bayesian Approximation", ICML 2016.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(check_rate("rate", rate), noise_shape, seed, **kwargs)

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)
