"""Variational Bayesian layers: a Gaussian posterior over every kernel weight.

"Only a small sample? Go Bayesian": each kernel weight `w` has a mean-field
Gaussian posterior `q(w) = N(mu, sigma^2)` with `sigma = softplus(rho)`; `mu` and
`rho` are trained by minimizing the negative ELBO, i.e. the data loss plus
`kl_weight * KL(q || prior)`, which the layer adds with `add_loss` at every call.

Three estimators of the training-time output, all unbiased:

- `"reparameterization"` (Blundell et al. 2015): one weight sample
  `mu + sigma * eps` shared by the whole batch; simple, but the examples of a batch
  are perturbed alike, so the batch gradient is noisy.
- `"flipout"` (Wen et al. 2018): the shared perturbation `sigma * eps` is
  multiplied by random sign vectors per example, `((x * s_in) @ dW) * s_out`,
  which decorrelates the examples of a batch at the cost of a second matmul.
- `"local_reparameterization"` (Kingma et al. 2015): samples the pre-activations
  directly from `N(x @ mu, x^2 @ sigma^2)`, independent per example. The fastest:
  its noise is `(batch, units)`, where the other two draw a kernel-sized Gaussian
  every step (on CPU that draw costs about as much as the matmuls).

The layers sample in training and under `keras_smithing.mc_predict`, and use
the posterior mean in every other call.

Reference:
    Blundell et al., "Weight Uncertainty in Neural Networks", ICML 2015.
    Wen et al., "Flipout: Efficient Pseudo-Independent Weight Perturbations on
    Mini-Batches", ICLR 2018.
    Kingma, Salimans & Welling, "Variational Dropout and the Local
    Reparameterization Trick", NeurIPS 2015.
"""

import math
import numbers
import warnings

import keras
from keras import ops

from keras_smithing.layers.stochastic import (
    merge_groups,
    sample_groups,
    should_sample,
    split_groups,
)
from keras_smithing.utils.backend import random_normal, random_randint
from keras_smithing.utils.validation import (
    check_float,
    check_int,
    check_one_of,
    check_rank,
    invalid_argument,
)

ESTIMATORS = ("flipout", "local_reparameterization", "reparameterization")

_KL_WEIGHT_WARNING = (
    "{name} was created without `kl_weight`: the full KL divergence is added to "
    "the loss of every batch (kl_weight=1), which over-regularizes. Pass "
    "kl_weight=1 / num_training_examples."
)


def _check_prior_stddev(value):
    """A positive float (Gaussian prior) or a pair of them (scale mixture)."""
    if isinstance(value, numbers.Real):
        return check_float("prior_stddev", value, minimum=0.0)
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(
        isinstance(s, numbers.Real) and not isinstance(s, bool) and s > 0 for s in pair
    ):
        raise invalid_argument(
            "prior_stddev",
            value,
            "a float > 0 (Gaussian prior) or a pair of floats > 0 (scale mixture)",
        )
    return tuple(float(s) for s in pair)


def gaussian_kl(mu, sigma, prior_stddev):
    """Closed-form `KL(N(mu, sigma^2) || N(0, prior_stddev^2))`, summed.

    Args:
        mu: Posterior means (float32 tensor).
        sigma: Posterior standard deviations, same shape.
        prior_stddev: Positive float, the prior's standard deviation.

    Returns:
        A float32 scalar.
    """
    # Dividing by 1 changes no bit, but costs two ops forward and two backward
    # on the (in, units) kernel in eager PyTorch (TensorFlow and XLA fold it).
    if prior_stddev != 1.0:
        mu, sigma = mu / prior_stddev, sigma / prior_stddev
    variance_ratio = ops.square(sigma)
    return 0.5 * ops.sum(
        variance_ratio + ops.square(mu) - 1.0 - ops.log(variance_ratio)
    )


def _gaussian_log_density(w, stddev):
    return -0.5 * ops.square(w / stddev) - math.log(stddev * math.sqrt(2 * math.pi))


class _BayesianLayer(keras.layers.Layer):
    """The posterior, prior, KL term and estimators; subclasses give `_linear`."""

    stochastic = True

    def __init__(
        self,
        prior_stddev=1.0,
        prior_mixture_weight=0.5,
        posterior_init_stddev=0.01,
        kl_weight=None,
        estimator="flipout",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        self.prior_stddev = _check_prior_stddev(prior_stddev)
        self.prior_mixture_weight = check_float(
            "prior_mixture_weight", prior_mixture_weight, 0.0, 1.0, strict=False
        )
        self.posterior_init_stddev = check_float(
            "posterior_init_stddev", posterior_init_stddev, minimum=0.0
        )
        if kl_weight is not None:
            kl_weight = check_float("kl_weight", kl_weight, minimum=0.0, strict=False)
        self.kl_weight = kl_weight
        self.estimator = check_one_of("estimator", estimator, ESTIMATORS)
        super().__init__(**kwargs)
        if kl_weight is None:
            warnings.warn(
                _KL_WEIGHT_WARNING.format(name=type(self).__name__), stacklevel=3
            )
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _build_posterior(self, kernel_shape, units):
        # float32 and autocast=False, so that the KL term is exact under mixed
        # precision; the forward pass casts to the compute dtype.
        self.kernel_loc = self.add_weight(
            name="kernel_loc",
            shape=kernel_shape,
            initializer=self.kernel_initializer,
            autocast=False,
        )
        rho = math.log(math.expm1(self.posterior_init_stddev))
        self.kernel_rho = self.add_weight(
            name="kernel_rho",
            shape=kernel_shape,
            initializer=keras.initializers.Constant(rho),
            autocast=False,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(units,), initializer=self.bias_initializer
            )

    def kernel_stddev(self):
        """The posterior standard deviations `softplus(kernel_rho)` (float32)."""
        return ops.softplus(ops.cast(self.kernel_rho, "float32"))

    def kl_divergence(self):
        """`KL(q || prior)` of the kernel: closed form, or a one-sample estimate.

        A Gaussian prior has a closed form; for a scale-mixture prior the KL is
        estimated from one posterior sample, `log q(w) - log p(w)` (Blundell et
        al. 2015). Always computed in float32.

        Returns:
            A float32 scalar.
        """
        return self._kl_divergence(self.kernel_stddev())

    def _kl_divergence(self, sigma):
        mu = ops.cast(self.kernel_loc, "float32")
        if isinstance(self.prior_stddev, float):
            return gaussian_kl(mu, sigma, self.prior_stddev)
        eps = random_normal(
            ops.shape(mu), 1.0, keras.config.floatx(), self.seed_generator
        )
        w = mu + sigma * eps
        log_q = -0.5 * ops.square(eps) - ops.log(sigma * math.sqrt(2 * math.pi))
        pi = self.prior_mixture_weight
        first, second = self.prior_stddev
        log_p = ops.logsumexp(
            ops.stack(
                [
                    _gaussian_log_density(w, first) + math.log(max(pi, 1e-30)),
                    _gaussian_log_density(w, second) + math.log(max(1 - pi, 1e-30)),
                ]
            ),
            axis=0,
        )
        return ops.sum(log_q - log_p)

    def _linear(self, inputs, kernel):
        raise NotImplementedError

    def _channel_axis(self):
        return -1

    def _signs(self, inputs, channels):
        """Random +-1 per example and channel, broadcastable against `inputs`."""
        shape = [1] * len(inputs.shape)
        shape[0] = ops.shape(inputs)[0]
        shape[self._channel_axis()] = channels
        bits = random_randint(tuple(shape), 0, 2, "int32", self.seed_generator)
        return ops.cast(2 * bits - 1, self.compute_dtype)

    def _grouped_linear(self, inputs, kernels):
        """`_linear` with kernel `kernels[g]` on sample group `g` of `inputs`."""
        # See `stochastic.sample_groups`: inside `mc_predict` the batch holds
        # `kernels.shape[0]` stacked copies of the data, each needing its own draw.
        if kernels.shape[0] == 1:
            return self._linear(inputs, kernels[0])
        return merge_groups(self._linear_per_group(split_groups(inputs), kernels))

    def _linear_per_group(self, inputs, kernels):
        groups = kernels.shape[0]  # Static: len() fails on a symbolic tensor.
        outputs = [self._linear(inputs[g], kernels[g]) for g in range(groups)]
        return ops.stack(outputs)

    def _sampled_output(self, inputs, mu, sigma):
        mean = self._linear(inputs, mu)
        if self.estimator == "local_reparameterization":
            variance = self._linear(ops.square(inputs), ops.square(sigma))
            noise = random_normal(
                ops.shape(mean), 1.0, self.compute_dtype, self.seed_generator
            )
            return mean + ops.sqrt(variance + keras.config.epsilon()) * noise
        eps = random_normal(
            (sample_groups(),) + tuple(mu.shape),
            1.0,
            self.compute_dtype,
            self.seed_generator,
        )
        if self.estimator == "reparameterization":
            return self._grouped_linear(inputs, mu + sigma * eps)
        signs_in = self._signs(inputs, mu.shape[-2])
        signs_out = self._signs(mean, mu.shape[-1])
        perturbation = self._grouped_linear(inputs * signs_in, sigma * eps)
        return mean + perturbation * signs_out

    def call(self, inputs, training=None):
        sigma = self.kernel_stddev()
        kl_weight = 1.0 if self.kl_weight is None else self.kl_weight
        if kl_weight > 0:
            self.add_loss(kl_weight * self._kl_divergence(sigma))
        mu = ops.cast(self.kernel_loc, self.compute_dtype)
        if should_sample(training):
            sigma = ops.cast(sigma, self.compute_dtype)
            outputs = self._sampled_output(inputs, mu, sigma)
        else:
            outputs = self._linear(inputs, mu)
        if self.use_bias:
            shape = [1] * len(outputs.shape)
            shape[self._channel_axis()] = -1
            outputs = outputs + ops.reshape(self.bias, shape)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        prior_stddev = self.prior_stddev
        if not isinstance(prior_stddev, float):
            prior_stddev = list(prior_stddev)
        return {
            **super().get_config(),
            "prior_stddev": prior_stddev,
            "prior_mixture_weight": self.prior_mixture_weight,
            "posterior_init_stddev": self.posterior_init_stddev,
            "kl_weight": self.kl_weight,
            "estimator": self.estimator,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="keras_smithing")
class BayesianDense(_BayesianLayer):
    """Densely connected layer with a Gaussian posterior over its kernel.

    Each kernel weight has a posterior `N(mu, softplus(rho)^2)`, and training
    fits `mu` and `rho` by minimizing the negative ELBO: at every call the layer
    adds `kl_weight * KL(posterior || prior)` to the model's losses, which
    Keras adds to the data loss. In training, the outputs are computed with
    sampled weights (the `estimator` says how); in inference they use the
    posterior means, so `predict` is deterministic. Under
    `keras_smithing.mc_predict` the layer samples again, and the spread of the
    sampled predictions measures the model's uncertainty.

    Args:
        units: Positive integer, dimensionality of the output space.
        prior_stddev: Float > 0, the standard deviation of the zero-mean
            Gaussian prior on every kernel weight; or a pair
            `(sigma_1, sigma_2)` of floats > 0 for Blundell et al.'s
            scale-mixture prior `pi * N(0, sigma_1^2) + (1 - pi) * N(0, sigma_2^2)`,
            whose KL term is estimated from one posterior sample per call.
            Default: 1.0.
        prior_mixture_weight: Float in [0, 1], the `pi` of the scale-mixture
            prior (unused with a Gaussian prior). Default: 0.5.
        posterior_init_stddev: Float > 0, the initial posterior standard
            deviation of every kernel weight. Default: 0.01.
        kl_weight: Float >= 0, the factor of the KL term added to the loss.
            Pass `1 / num_training_examples`: Keras averages the data loss over
            the examples, so the loss is then the negative ELBO per example.
            If None (the default), the layer warns and uses 1, which
            over-regularizes every model trained on more than one example.
        estimator: How the training outputs are sampled. `"flipout"` (the
            default, Wen et al. 2018): one weight perturbation per batch, made
            different for each example by random signs; low-variance gradients
            for a second matmul. `"local_reparameterization"` (Kingma et al.
            2015): the outputs are sampled directly, independently per example;
            the fastest. `"reparameterization"` (Blundell et al. 2015): one
            weight sample for the whole batch; the noisiest gradients.
        activation: Activation function (name or callable). Default: None
            (linear).
        use_bias: Boolean, whether to add a bias. The bias is a point estimate
            (no posterior, no KL term), as in TensorFlow Probability.
            Default: `True`.
        kernel_initializer: Initializer of the posterior means.
            Default: `"glorot_uniform"`.
        bias_initializer: Initializer of the bias. Default: `"zeros"`.
        seed: Optional integer, the random seed of the weight noise.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: Tensor of shape `(batch, ..., input_dim)`.
        training: Python boolean. Samples when true or inside
            `keras_smithing.mc_predict`; otherwise uses the posterior means.

    Returns:
        A tensor of shape `(batch, ..., units)`.

    Reference:
        Blundell et al., "Weight Uncertainty in Neural Networks", ICML 2015.
        Wen et al., "Flipout: Efficient Pseudo-Independent Weight Perturbations
        on Mini-Batches", ICLR 2018.
        Kingma, Salimans & Welling, "Variational Dropout and the Local
        Reparameterization Trick", NeurIPS 2015.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing import mc_predict
    >>> from keras_smithing.layers import BayesianDense
    >>> x, y = np.random.rand(200, 8), np.random.randint(0, 3, 200)
    >>> model = keras.Sequential([
    ...     keras.Input((8,)),
    ...     BayesianDense(32, activation="relu", kl_weight=1 / len(x)),
    ...     BayesianDense(3, activation="softmax", kl_weight=1 / len(x)),
    ... ])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> history = model.fit(x, y, epochs=2, verbose=0)
    >>> result = mc_predict(model, x[:5], num_samples=20)  # Posterior samples.
    >>> result.samples.shape
    (20, 5, 3)
    >>> bool((result.std > 0).all())  # Their spread: the model's uncertainty.
    True
    """

    def __init__(
        self,
        units,
        prior_stddev=1.0,
        prior_mixture_weight=0.5,
        posterior_init_stddev=0.01,
        kl_weight=None,
        estimator="flipout",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        self.units = check_int("units", units, minimum=1)
        super().__init__(
            prior_stddev=prior_stddev,
            prior_mixture_weight=prior_mixture_weight,
            posterior_init_stddev=posterior_init_stddev,
            kl_weight=kl_weight,
            estimator=estimator,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            seed=seed,
            **kwargs,
        )

    def build(self, input_shape):
        check_rank(
            input_shape, range(2, len(input_shape) + 2), "(batch, ..., input_dim)"
        )
        self._build_posterior((input_shape[-1], self.units), self.units)
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: input_shape[-1]})

    def _linear(self, inputs, kernel):
        return ops.matmul(inputs, kernel)

    def _linear_per_group(self, inputs, kernels):
        # One batched matmul: kernels (g, in, units) against inputs (g, b, ..., in).
        shape = (kernels.shape[0],) + (1,) * (len(inputs.shape) - 3)
        return ops.matmul(inputs, ops.reshape(kernels, shape + kernels.shape[1:]))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class _BayesianConv(_BayesianLayer):
    rank = None

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        dilation_rate=1,
        data_format=None,
        prior_stddev=1.0,
        prior_mixture_weight=0.5,
        posterior_init_stddev=0.01,
        kl_weight=None,
        estimator="flipout",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        self.filters = check_int("filters", filters, minimum=1)
        self.kernel_size = self._int_tuple("kernel_size", kernel_size)
        self.strides = self._int_tuple("strides", strides)
        self.padding = check_one_of("padding", padding, ("valid", "same"))
        self.dilation_rate = self._int_tuple("dilation_rate", dilation_rate)
        self.data_format = check_one_of(
            "data_format",
            data_format or keras.config.image_data_format(),
            ("channels_last", "channels_first"),
        )
        super().__init__(
            prior_stddev=prior_stddev,
            prior_mixture_weight=prior_mixture_weight,
            posterior_init_stddev=posterior_init_stddev,
            kl_weight=kl_weight,
            estimator=estimator,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            seed=seed,
            **kwargs,
        )

    def _int_tuple(self, name, value):
        values = (value,) * self.rank if isinstance(value, int) else tuple(value)
        if len(values) != self.rank:
            raise invalid_argument(name, value, f"an int or a tuple of {self.rank}")
        return tuple(check_int(name, v, minimum=1) for v in values)

    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def build(self, input_shape):
        check_rank(input_shape, (self.rank + 2,), self._shape_phrase())
        channels = input_shape[self._channel_axis()]
        self._build_posterior(self.kernel_size + (channels, self.filters), self.filters)
        self.input_spec = keras.layers.InputSpec(
            ndim=self.rank + 2, axes={self._channel_axis(): channels}
        )

    def _shape_phrase(self):
        spatial = ", ".join(["steps"] if self.rank == 1 else ["height", "width"])
        if self.data_format == "channels_last":
            return f"(batch, {spatial}, channels)"
        return f"(batch, channels, {spatial})"

    def _linear(self, inputs, kernel):
        return ops.conv(
            inputs,
            kernel,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )

    def compute_output_shape(self, input_shape):
        channels = input_shape[self._channel_axis()]
        kernel = keras.KerasTensor(self.kernel_size + (channels, self.filters))
        return self._linear(keras.KerasTensor(input_shape), kernel).shape

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "data_format": self.data_format,
        }


@keras.saving.register_keras_serializable(package="keras_smithing")
class BayesianConv1D(_BayesianConv):
    """1D convolution layer with a Gaussian posterior over its kernel.

    The convolutional counterpart of `BayesianDense`: each kernel weight has a
    posterior `N(mu, softplus(rho)^2)`, and training fits `mu` and `rho` by
    minimizing the negative ELBO (at every call the layer adds
    `kl_weight * KL(posterior || prior)` to the model's losses). In training,
    the outputs are computed with sampled kernels (the `estimator` says how); in
    inference they use the posterior means, so `predict` is deterministic. Under
    `keras_smithing.mc_predict` the layer samples again, and the spread of the
    sampled predictions measures the model's uncertainty.

    Args:
        filters: Positive integer, the number of output channels.
        kernel_size: Integer or tuple of 1 integers, the size of the
            convolution window.
        strides: Integer or tuple of 1 integers, the strides of the
            convolution. Default: 1.
        padding: `"valid"` (no padding, the default) or `"same"` (zero padding
            that keeps the number of steps when the strides are 1).
        dilation_rate: Integer or tuple of 1 integers, the dilation rate of
            the convolution. Default: 1.
        data_format: `"channels_last"` or `"channels_first"`, the position of
            the channels axis; defaults to `keras.config.image_data_format()`.
        prior_stddev: Float > 0, the standard deviation of the zero-mean
            Gaussian prior on every kernel weight; or a pair
            `(sigma_1, sigma_2)` of floats > 0 for Blundell et al.'s
            scale-mixture prior `pi * N(0, sigma_1^2) + (1 - pi) * N(0, sigma_2^2)`,
            whose KL term is estimated from one posterior sample per call.
            Default: 1.0.
        prior_mixture_weight: Float in [0, 1], the `pi` of the scale-mixture
            prior (unused with a Gaussian prior). Default: 0.5.
        posterior_init_stddev: Float > 0, the initial posterior standard
            deviation of every kernel weight. Default: 0.01.
        kl_weight: Float >= 0, the factor of the KL term added to the loss.
            Pass `1 / num_training_examples`: Keras averages the data loss over
            the examples, so the loss is then the negative ELBO per example.
            If None (the default), the layer warns and uses 1, which
            over-regularizes every model trained on more than one example.
        estimator: How the training outputs are sampled. `"flipout"` (the
            default, Wen et al. 2018): one kernel perturbation per batch, made
            different for each example by random signs per channel;
            low-variance gradients for a second convolution.
            `"local_reparameterization"` (Kingma et al. 2015): the outputs are
            sampled directly, independently per example; the fastest.
            `"reparameterization"` (Blundell et al. 2015): one kernel sample for
            the whole batch; the noisiest gradients.
        activation: Activation function (name or callable). Default: None
            (linear).
        use_bias: Boolean, whether to add a bias. The bias is a point estimate
            (no posterior, no KL term), as in TensorFlow Probability.
            Default: `True`.
        kernel_initializer: Initializer of the posterior means.
            Default: `"glorot_uniform"`.
        bias_initializer: Initializer of the bias. Default: `"zeros"`.
        seed: Optional integer, the random seed of the weight noise.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: Tensor of shape `(batch, steps, channels)`, or
            `(batch, channels, steps)` with `"channels_first"`.
        training: Python boolean. Samples when true or inside
            `keras_smithing.mc_predict`; otherwise uses the posterior means.

    Returns:
        A tensor of shape `(batch, new_steps, filters)`, or
        `(batch, filters, new_steps)` with `"channels_first"`.

    Reference:
        Blundell et al., "Weight Uncertainty in Neural Networks", ICML 2015.
        Wen et al., "Flipout: Efficient Pseudo-Independent Weight Perturbations
        on Mini-Batches", ICLR 2018 (convolutional Flipout).
        Kingma, Salimans & Welling, "Variational Dropout and the Local
        Reparameterization Trick", NeurIPS 2015.

    Example:

    >>> import numpy as np
    >>> from keras_smithing.layers import BayesianConv1D
    >>> layer = BayesianConv1D(8, 3, activation="relu", kl_weight=1 / 1000)
    >>> y = layer(np.random.rand(4, 20, 2))
    >>> tuple(y.shape)
    (4, 18, 8)
    >>> len(layer.losses)  # The weighted KL term, added at every call.
    1
    """

    rank = 1


@keras.saving.register_keras_serializable(package="keras_smithing")
class BayesianConv2D(_BayesianConv):
    """2D convolution layer with a Gaussian posterior over its kernel.

    The convolutional counterpart of `BayesianDense`: each kernel weight has a
    posterior `N(mu, softplus(rho)^2)`, and training fits `mu` and `rho` by
    minimizing the negative ELBO (at every call the layer adds
    `kl_weight * KL(posterior || prior)` to the model's losses). In training,
    the outputs are computed with sampled kernels (the `estimator` says how); in
    inference they use the posterior means, so `predict` is deterministic. Under
    `keras_smithing.mc_predict` the layer samples again, and the spread of the
    sampled predictions measures the model's uncertainty.

    Args:
        filters: Positive integer, the number of output channels.
        kernel_size: Integer or tuple of 2 integers, the size of the
            convolution window.
        strides: Integer or tuple of 2 integers, the strides of the
            convolution. Default: 1.
        padding: `"valid"` (no padding, the default) or `"same"` (zero padding
            that keeps the height and width when the strides are 1).
        dilation_rate: Integer or tuple of 2 integers, the dilation rate of
            the convolution. Default: 1.
        data_format: `"channels_last"` or `"channels_first"`, the position of
            the channels axis; defaults to `keras.config.image_data_format()`.
        prior_stddev: Float > 0, the standard deviation of the zero-mean
            Gaussian prior on every kernel weight; or a pair
            `(sigma_1, sigma_2)` of floats > 0 for Blundell et al.'s
            scale-mixture prior `pi * N(0, sigma_1^2) + (1 - pi) * N(0, sigma_2^2)`,
            whose KL term is estimated from one posterior sample per call.
            Default: 1.0.
        prior_mixture_weight: Float in [0, 1], the `pi` of the scale-mixture
            prior (unused with a Gaussian prior). Default: 0.5.
        posterior_init_stddev: Float > 0, the initial posterior standard
            deviation of every kernel weight. Default: 0.01.
        kl_weight: Float >= 0, the factor of the KL term added to the loss.
            Pass `1 / num_training_examples`: Keras averages the data loss over
            the examples, so the loss is then the negative ELBO per example.
            If None (the default), the layer warns and uses 1, which
            over-regularizes every model trained on more than one example.
        estimator: How the training outputs are sampled. `"flipout"` (the
            default, Wen et al. 2018): one kernel perturbation per batch, made
            different for each example by random signs per channel;
            low-variance gradients for a second convolution.
            `"local_reparameterization"` (Kingma et al. 2015): the outputs are
            sampled directly, independently per example; the fastest.
            `"reparameterization"` (Blundell et al. 2015): one kernel sample for
            the whole batch; the noisiest gradients.
        activation: Activation function (name or callable). Default: None
            (linear).
        use_bias: Boolean, whether to add a bias. The bias is a point estimate
            (no posterior, no KL term), as in TensorFlow Probability.
            Default: `True`.
        kernel_initializer: Initializer of the posterior means.
            Default: `"glorot_uniform"`.
        bias_initializer: Initializer of the bias. Default: `"zeros"`.
        seed: Optional integer, the random seed of the weight noise.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: Tensor of shape `(batch, height, width, channels)`, or
            `(batch, channels, height, width)` with `"channels_first"`.
        training: Python boolean. Samples when true or inside
            `keras_smithing.mc_predict`; otherwise uses the posterior means.

    Returns:
        A tensor of shape `(batch, new_height, new_width, filters)`, or
        `(batch, filters, new_height, new_width)` with `"channels_first"`.

    Reference:
        Blundell et al., "Weight Uncertainty in Neural Networks", ICML 2015.
        Wen et al., "Flipout: Efficient Pseudo-Independent Weight Perturbations
        on Mini-Batches", ICLR 2018 (convolutional Flipout).
        Kingma, Salimans & Welling, "Variational Dropout and the Local
        Reparameterization Trick", NeurIPS 2015.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> from keras_smithing.layers import BayesianConv2D
    >>> layer = BayesianConv2D(4, 3, padding="same", kl_weight=1 / 1000)
    >>> x = np.random.rand(2, 8, 8, 3)
    >>> y = keras.ops.convert_to_numpy(layer(x))
    >>> y.shape
    (2, 8, 8, 4)
    >>> # Inference uses the posterior means; training samples a kernel.
    >>> bool(np.array_equal(y, keras.ops.convert_to_numpy(layer(x))))
    True
    >>> bool(np.array_equal(y, keras.ops.convert_to_numpy(layer(x, training=True))))
    False
    """

    rank = 2
