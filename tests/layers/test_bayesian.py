import warnings

import keras
import numpy as np
import pytest

from keras_smithing import mc_predict
from keras_smithing.layers import BayesianConv1D, BayesianConv2D, BayesianDense
from keras_smithing.layers.stochastic import is_stochastic, sampling_scope
from tests import harness

ESTIMATORS = ["flipout", "local_reparameterization", "reparameterization"]


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _softplus(x):
    return np.log1p(np.exp(x))


def _numpy_kl(mu, rho, prior_stddev):
    sigma = _softplus(rho)
    return np.sum(
        np.log(prior_stddev / sigma) + (sigma**2 + mu**2) / (2 * prior_stddev**2) - 0.5
    )


def _harness_kwargs(init_kwargs, input_shape, output_shape):
    return {
        "init_kwargs": {**init_kwargs, "kl_weight": 0.01, "seed": 1},
        "input_shape": input_shape,
        "expected_output_shape": output_shape,
        "expected_num_trainable_weights": 3,
        "expected_num_seed_generators": 1,
        "expected_num_losses": 1,
        "stochastic_training": True,
    }


def test_harness_dense():
    harness.check_layer(BayesianDense, **_harness_kwargs({"units": 3}, (4, 5), (4, 3)))


def test_harness_conv1d():
    harness.check_layer(
        BayesianConv1D,
        **_harness_kwargs(
            {"filters": 3, "kernel_size": 3, "estimator": "local_reparameterization"},
            (2, 8, 2),
            (2, 6, 3),
        ),
    )


def test_harness_conv2d():
    harness.check_layer(
        BayesianConv2D,
        **_harness_kwargs(
            {
                "filters": 2,
                "kernel_size": 3,
                "padding": "same",
                "estimator": "reparameterization",
                "prior_stddev": [1.0, 0.1],
            },
            (2, 5, 5, 2),
            (2, 5, 5, 2),
        ),
    )


@pytest.mark.distributed
def test_distributed_fit():
    x = np.abs(harness.random_data((32, 4)))
    y = harness.random_data((32, 2), seed=1)

    def model_fn():
        inputs = keras.Input((4,))
        hidden = BayesianDense(8, activation="relu", kl_weight=1 / 32, seed=0)(inputs)
        return keras.Model(inputs, BayesianDense(2, kl_weight=1 / 32, seed=1)(hidden))

    harness.check_distributed_fit(model_fn, x, y)


def _set_posterior(layer, x, stddev_scale=1.0, seed=0):
    """Builds `layer` on `x` and gives it random means and scales."""
    layer(x)
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 0.5, layer.kernel_loc.shape).astype("float32")
    rho = rng.normal(-1, 0.5, layer.kernel_rho.shape).astype("float32")
    layer.kernel_loc.assign(mu)
    layer.kernel_rho.assign(rho + np.log(stddev_scale))
    if layer.bias is not None:
        layer.bias.assign(rng.normal(0, 1, layer.bias.shape).astype("float32"))
    return mu, rho


@pytest.mark.parametrize("prior_stddev", [1.0, 0.3])
@pytest.mark.parametrize("dtype", ["float32", "mixed_float16"])
def test_kl_equals_closed_form(prior_stddev, dtype):
    layer = BayesianDense(4, prior_stddev=prior_stddev, kl_weight=0.25, dtype=dtype)
    x = harness.random_data((3, 6))
    mu, rho = _set_posterior(layer, x)
    layer(x, training=True)
    (loss,) = layer.losses
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    np.testing.assert_allclose(
        _np(loss), 0.25 * _numpy_kl(mu, rho, prior_stddev), rtol=1e-5
    )


def test_scale_mixture_kl_is_an_unbiased_estimate():
    # With equal components the mixture is the Gaussian prior: the one-sample
    # estimates must average to the closed form.
    x = harness.random_data((2, 5))
    mixture = BayesianDense(3, prior_stddev=(0.5, 0.5), kl_weight=1.0, seed=0)
    mu, rho = _set_posterior(mixture, x)
    estimates = []
    for _ in range(150):
        mixture(x)
        estimates.append(float(_np(mixture.losses[0])))
    exact = _numpy_kl(mu, rho, 0.5)
    standard_error = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - exact) < 4 * standard_error
    assert np.std(estimates) > 0, "the mixture KL must be a sampled estimate"


def test_scale_mixture_log_density():
    # Same seed, same posterior: the one-sample KL estimates of two priors differ
    # by exactly log p_gauss(w) - log p_mixture(w) at the shared sample w = 0.3.
    estimates = []
    for prior_stddev in [(1.0, 0.01), (1.0, 1.0)]:
        layer = BayesianDense(
            1, prior_stddev=prior_stddev, prior_mixture_weight=0.25, seed=0
        )
        layer(np.zeros((1, 1), "float32"))
        layer.kernel_loc.assign([[0.3]])
        layer.kernel_rho.assign([[-30.0]])  # sigma ~ 1e-13: w = 0.3.
        estimates.append(float(_np(layer.kl_divergence())))

    def normal(w, s):
        return np.exp(-0.5 * (w / s) ** 2) / (s * np.sqrt(2 * np.pi))

    mixture = np.log(0.25 * normal(0.3, 1.0) + 0.75 * normal(0.3, 0.01))
    gauss = np.log(normal(0.3, 1.0))
    np.testing.assert_allclose(estimates[0] - estimates[1], gauss - mixture, rtol=1e-4)


def test_inference_uses_posterior_mean():
    layer = BayesianDense(3, activation="tanh", kl_weight=0.1, seed=0)
    x = harness.random_data((5, 4))
    mu, _ = _set_posterior(layer, x)
    expected = np.tanh(x @ mu + _np(layer.bias))
    np.testing.assert_allclose(_np(layer(x)), expected, atol=1e-6)
    np.testing.assert_allclose(_np(layer(x, training=False)), expected, atol=1e-6)
    assert not np.allclose(_np(layer(x, training=True)), expected)


def _channels_first_conv_runs():
    try:
        keras.ops.conv(
            np.ones((1, 1, 3, 3), "float32"),
            np.ones((1, 1, 1, 1), "float32"),
            data_format="channels_first",
        )
    except Exception:  # TensorFlow's CPU kernels without oneDNN: NHWC only.
        return False
    return True


@pytest.mark.parametrize("layer_cls, rank", [(BayesianConv1D, 1), (BayesianConv2D, 2)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_mean_matches_keras_conv(layer_cls, rank, data_format):
    if data_format == "channels_first" and not _channels_first_conv_runs():
        pytest.skip(
            "this CPU's TensorFlow build runs channels_first convolutions only under "
            "XLA (Keras's own Conv layers fail the same way in eager mode)"
        )
    shape = (2, 3) + (7,) * rank if data_format == "channels_first" else None
    shape = shape or (2,) + (7,) * rank + (3,)
    x = harness.random_data(shape)
    kwargs = {"strides": 2, "padding": "same", "data_format": data_format}
    layer = layer_cls(5, 3, kl_weight=0.1, **kwargs)
    _set_posterior(layer, x)
    conv = getattr(keras.layers, f"Conv{rank}D")(5, 3, **kwargs)
    conv(x)
    conv.set_weights([_np(layer.kernel_loc), _np(layer.bias)])
    np.testing.assert_allclose(_np(layer(x)), _np(conv(x)), atol=1e-5)
    assert tuple(layer.compute_output_shape(shape)) == tuple(conv(x).shape)
    sampled = layer(x, training=True)
    assert sampled.shape == conv(x).shape


def _draws(estimator, x, num_draws=300, layer_cls=BayesianDense, **kwargs):
    """Posterior mean output and `num_draws` sampled outputs of a fixed batch.

    The draws come from one call in a `sampling_scope(num_draws)` (as in
    `mc_predict`): each copy of the batch gets its own weight draw, exactly as
    `num_draws` training calls would.
    """
    layer = layer_cls(**kwargs, estimator=estimator, kl_weight=0.0, seed=0)
    _set_posterior(layer, x, stddev_scale=3.0)
    mean = _np(layer(x))
    with sampling_scope(num_draws):
        draws = _np(layer(np.concatenate([x] * num_draws)))
    return layer, mean, draws.reshape((num_draws,) + mean.shape)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_estimators_unbiased_with_the_posterior_variance(estimator):
    x = np.abs(harness.random_data((8, 5))) + 0.5
    layer, mean, draws = _draws(estimator, x, units=3)
    standard_error = draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(0) - mean) < 4.5 * standard_error + 1e-6)
    # Every estimator has the exact marginal: Var(y_ij) = sum_k x_ik^2 sigma_kj^2.
    sigma = _softplus(_np(layer.kernel_rho))
    np.testing.assert_allclose(draws.var(0), (x**2) @ (sigma**2), rtol=0.3)


@pytest.mark.parametrize("layer_cls, shape", [(BayesianConv1D, (6, 9, 2))])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_conv_estimators_unbiased(layer_cls, shape, estimator):
    x = np.abs(harness.random_data(shape)) + 0.5
    _, mean, draws = _draws(
        estimator, x, 200, layer_cls, filters=2, kernel_size=3, padding="same"
    )
    standard_error = draws.std(0) / np.sqrt(len(draws))
    assert np.mean(np.abs(draws.mean(0) - mean) < 4.5 * standard_error) > 0.99


@pytest.mark.parametrize(
    "layer_cls, shape, kwargs",
    [
        (BayesianDense, (32, 6), {"units": 3}),
        (BayesianConv2D, (16, 4, 4, 2), {"filters": 2, "kernel_size": 3}),
    ],
)
def test_flipout_has_lower_batch_variance_than_reparameterization(
    layer_cls, shape, kwargs
):
    # The point of Flipout: examples of one batch are perturbed almost
    # independently, so the batch average (hence the gradient) varies less.
    x = np.abs(harness.random_data(shape)) + 0.5
    batch_variance = {}
    for estimator in ("flipout", "reparameterization"):
        _, _, draws = _draws(estimator, x, 200, layer_cls, **kwargs)
        batch_variance[estimator] = draws.mean(axis=1).var(axis=0).mean()
    assert batch_variance["flipout"] < 0.3 * batch_variance["reparameterization"]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_samples_in_sampling_scope_with_independent_groups(estimator):
    assert is_stochastic(BayesianDense(2, kl_weight=0.0))
    layer = BayesianDense(2, estimator=estimator, kl_weight=0.0, seed=0)
    x = np.ones((4, 3), "float32")
    _set_posterior(layer, x, stddev_scale=3.0)
    mean = _np(layer(x))
    with sampling_scope(groups=2):
        out = _np(layer(np.concatenate([x, x]), training=False))
    assert not np.allclose(out, np.concatenate([mean, mean]))
    groups = out.reshape(2, 4, 2)
    assert not np.allclose(groups[0], groups[1]), "groups must draw independently"
    if estimator == "reparameterization":  # One weight draw per group.
        np.testing.assert_allclose(np.broadcast_to(groups[:, :1], groups.shape), groups)


def test_warns_without_kl_weight():
    with pytest.warns(UserWarning, match="kl_weight=1 / num_training_examples"):
        BayesianDense(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BayesianConv1D(2, 3, kl_weight=0.01)


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: BayesianDense(2, prior_stddev=0.0), "prior_stddev"),
        (lambda: BayesianDense(2, prior_stddev=-1.0), "prior_stddev"),
        (lambda: BayesianDense(2, prior_stddev=(1.0, 0.0)), "prior_stddev"),
        (lambda: BayesianDense(2, prior_stddev="wide"), "prior_stddev"),
        (lambda: BayesianDense(2, kl_weight=-0.1), "kl_weight"),
        (lambda: BayesianDense(2, estimator="bbb"), "estimator"),
        (lambda: BayesianDense(2, posterior_init_stddev=0.0), "posterior_init_stddev"),
        (lambda: BayesianDense(2, prior_mixture_weight=1.5), "prior_mixture_weight"),
        (lambda: BayesianDense(0), "units"),
        (lambda: BayesianConv1D(2, (3, 3)), "kernel_size"),
        (lambda: BayesianConv2D(2, 3, padding="causal"), "padding"),
        (lambda: BayesianConv2D(2, 3, strides=0), "strides"),
    ],
)
def test_bad_arguments(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received: {argument}="):
        make()


@pytest.mark.parametrize(
    "layer, shape",
    [
        (lambda: BayesianDense(2, kl_weight=0.1), (4,)),
        (lambda: BayesianConv1D(2, 3, kl_weight=0.1), (2, 8, 8, 1)),
        (lambda: BayesianConv2D(2, 3, kl_weight=0.1), (2, 8, 1)),
    ],
)
def test_wrong_input_rank(layer, shape):
    with pytest.raises(ValueError, match="`inputs` has rank .*Received: inputs.shape="):
        layer()(np.zeros(shape, "float32"))


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_mc_predict_draws_independent_posterior_samples(estimator):
    x = np.abs(harness.random_data((4, 5))) + 0.5
    inputs = keras.Input((5,))
    layer = BayesianDense(3, estimator=estimator, kl_weight=0.0, seed=0)
    model = keras.Model(inputs, layer(inputs))
    _set_posterior(layer, x, stddev_scale=3.0)
    result = mc_predict(model, x, num_samples=200)
    assert result.samples.shape == (200, 4, 3)
    mean = model.predict(x, verbose=0)
    standard_error = result.std / np.sqrt(200)
    assert np.all(np.abs(result.mean - mean) < 4.5 * standard_error)
    sigma = _softplus(_np(layer.kernel_rho))
    np.testing.assert_allclose(result.std**2, (x**2) @ (sigma**2), rtol=0.3)


@pytest.mark.parametrize("layer_cls", [BayesianConv1D, BayesianConv2D])
@pytest.mark.parametrize("estimator", ["flipout", "reparameterization"])
def test_mc_predict_on_conv_layers(layer_cls, estimator):
    shape = (3,) + (6,) * layer_cls.rank + (2,)
    x = harness.random_data(shape)
    inputs = keras.Input(shape[1:])
    layer = layer_cls(4, 3, estimator=estimator, kl_weight=0.0, seed=0)
    model = keras.Model(inputs, layer(inputs))
    samples = mc_predict(model, x, num_samples=6).samples
    assert samples.shape == (6, 3, *model.output_shape[1:])
    assert len({s.tobytes() for s in samples}) == 6  # Every sample differs.


def _eager_and_jit_compiled():
    # Every backend runs eagerly; on TensorFlow also under XLA, where the layers
    # name the Philox algorithm (utils.backend.random_normal / random_randint).
    modes = [lambda fn: fn()]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        modes.append(lambda fn: tf.function(fn, jit_compile=True)())
    return modes


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_draws_keras_random_values(estimator):
    # The noise and the Flipout signs are keras.random's values, drawn in order
    # from the layer's seed generator, eagerly and jit-compiled alike.
    ops = keras.ops
    x = harness.random_data((4, 3))
    for run in _eager_and_jit_compiled():
        layer = BayesianDense(
            5, estimator=estimator, kl_weight=0.01, posterior_init_stddev=0.5, seed=3
        )
        layer.build(x.shape)
        layer.bias.assign(np.arange(5, dtype="float32"))
        generator = keras.random.SeedGenerator(3)

        def expected(layer=layer, generator=generator):
            mu, sigma = layer.kernel_loc, layer.kernel_stddev()
            mean = ops.matmul(x, mu)
            if estimator == "local_reparameterization":
                variance = ops.matmul(ops.square(x), ops.square(sigma))
                noise = keras.random.normal(mean.shape, seed=generator)
                outputs = mean + ops.sqrt(variance + keras.config.epsilon()) * noise
                return outputs + layer.bias
            eps = keras.random.normal((1, 3, 5), seed=generator)[0]
            if estimator == "reparameterization":
                return ops.matmul(x, mu + sigma * eps) + layer.bias
            signs = [
                ops.cast(
                    2 * keras.random.randint(s, 0, 2, seed=generator) - 1, "float32"
                )
                for s in [(4, 3), (4, 5)]
            ]
            perturbation = ops.matmul(ops.multiply(x, signs[0]), sigma * eps) * signs[1]
            return mean + perturbation + layer.bias

        outputs = run(lambda layer=layer: layer(x, training=True))
        np.testing.assert_allclose(_np(outputs), _np(run(expected)), atol=1e-5)


def test_scale_mixture_kl_draws_keras_random_values():
    for run in _eager_and_jit_compiled():
        layer = BayesianDense(4, prior_stddev=(1.0, 0.1), kl_weight=1.0, seed=5)
        layer.build((2, 3))
        generator = keras.random.SeedGenerator(5)

        def expected(layer=layer, generator=generator):
            mu, sigma = layer.kernel_loc, layer.kernel_stddev()
            eps = keras.random.normal((3, 4), seed=generator)
            w = mu + sigma * eps
            log_q = -0.5 * eps**2 - keras.ops.log(sigma * np.sqrt(2 * np.pi))
            log_p = keras.ops.logsumexp(
                keras.ops.stack(
                    [
                        -0.5 * (w / s) ** 2
                        - np.log(s * np.sqrt(2 * np.pi))
                        + np.log(0.5)
                        for s in (1.0, 0.1)
                    ]
                ),
                axis=0,
            )
            return keras.ops.sum(log_q - log_p)

        kl = run(lambda layer=layer: layer.kl_divergence())
        np.testing.assert_allclose(_np(kl), _np(run(expected)), rtol=1e-5)


def test_gaussian_kl_skips_dividing_by_a_unit_prior_bit_for_bit():
    from keras_smithing.layers.bayesian import gaussian_kl

    ops = keras.ops
    rng = np.random.default_rng(0)
    mu = ops.convert_to_tensor(rng.normal(0, 1, (7, 5)).astype("float32"))
    sigma = ops.convert_to_tensor(rng.uniform(0.01, 2, (7, 5)).astype("float32"))
    for prior in [1.0, 0.3]:
        ratio = ops.square(sigma / prior)
        divided = 0.5 * ops.sum(ratio + ops.square(mu / prior) - 1.0 - ops.log(ratio))
        assert _np(gaussian_kl(mu, sigma, prior)) == _np(divided)
