import keras
import numpy as np
import pytest

from keras_smithing.optimizers import AdaptiveGradientClipping, adaptive_clipping
from tests import harness


def unitwise_norm(x):
    """The paper's reference `unitwise_norm`, with Keras's kernel layout."""
    if np.squeeze(x).ndim <= 1:
        return np.sqrt(np.sum(x**2))
    return np.sqrt(np.sum(x**2, axis=tuple(range(x.ndim - 1)), keepdims=True))


def clip_reference(g, w, clip_factor, epsilon):
    max_norm = np.maximum(unitwise_norm(w), epsilon) * clip_factor
    g_norm = unitwise_norm(g)
    return np.where(g_norm > max_norm, g * max_norm / np.maximum(g_norm, 1e-6), g)


# A conv kernel, a Dense kernel, a bias, a Dense kernel with one input unit (one
# norm for the whole tensor), a zero bias (norm floored at epsilon) and a scalar.
SHAPES = [(3, 3, 2, 4), (5, 3), (3,), (1, 4), (6,), ()]


def weights_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s).astype("float32") for s in SHAPES]
    weights[4][:] = 0.0
    # Gradient scales spread around the bound, so some units clip and some don't.
    grads = [
        (rng.standard_normal(s) * rng.choice([1e-4, 1e-2, 1.0], s)).astype("float32")
        for s in SHAPES
    ]
    return weights, grads


def test_harness():
    harness.check_optimizer(
        lambda: AdaptiveGradientClipping(
            keras.optimizers.SGD(0.1, momentum=0.9), clip_factor=0.05
        )
    )


class LinearLoss(keras.layers.Layer):
    """Outputs `x * sum_i <G_i, W_i>`: the gradient of `W_i` is `x * G_i`."""

    def __init__(self, grads):
        super().__init__()
        self.grads = grads

    def build(self, input_shape):
        self.ws = [self.add_weight(g.shape, initializer="zeros") for g in self.grads]

    def call(self, x):
        total = sum(
            keras.ops.sum(keras.ops.multiply(g, w)) for g, w in zip(self.grads, self.ws)
        )
        return x * total


def linear_loss_model(optimizer, weights, grads, jit_compile=False):
    """A model whose one fit step on `x=1` gets exactly the gradients `grads`."""
    layer = LinearLoss(grads)
    model = keras.Sequential([keras.Input((1,)), layer])
    layer.set_weights(weights)
    model.compile(
        optimizer=optimizer,
        loss=lambda y_true, y_pred: keras.ops.mean(y_pred),
        jit_compile=jit_compile,
    )
    return model


def fit_step(model, x=1.0):
    x = np.full((1, 1), x, "float32")
    model.fit(x, np.zeros_like(x), verbose=0)
    return model.layers[0].get_weights()


@pytest.mark.parametrize(
    "clip_factor, epsilon, jit_compile",
    [(0.01, 1e-3, False), (0.1, 0.5, harness.jit_modes()[-1])],
)
def test_fit_step_matches_numpy_reference(clip_factor, epsilon, jit_compile):
    """With SGD(lr=1), one fit step moves each weight by minus its clipped gradient."""
    weights, grads = weights_and_grads()
    optimizer = AdaptiveGradientClipping(
        keras.optimizers.SGD(1.0), clip_factor, epsilon
    )
    new = fit_step(linear_loss_model(optimizer, weights, grads, jit_compile))
    clipped_any = kept_any = False
    for w, g, w_new in zip(weights, grads, new):
        expected = clip_reference(g, w, clip_factor, epsilon)
        np.testing.assert_allclose(w - w_new, expected, rtol=1e-5, atol=1e-7)
        clipped_any |= not np.allclose(expected, g)
        kept_any |= bool(np.any(expected == g))
    assert clipped_any and kept_any


def test_every_gradient_at_once_matches_clip_unitwise(monkeypatch):
    """On PyTorch the clipping runs as multi-tensor ops: bit-identical to
    `clip_unitwise` gradient by gradient (elsewhere both are `clip_unitwise`)."""
    finals = []
    for batched in (True, False):
        if not batched:
            monkeypatch.setattr(
                adaptive_clipping, "multi_tensor_optimizers", lambda: False
            )
        weights, grads = weights_and_grads()
        variables = [keras.Variable(w) for w in weights]
        optimizer = AdaptiveGradientClipping(keras.optimizers.SGD(1.0, momentum=0.5))
        for step in range(3):
            tensors = [keras.ops.convert_to_tensor(g * (step + 1)) for g in grads]
            tensors[2] = None if step == 1 else tensors[2]  # A variable left out.
            optimizer.apply(tensors, variables)
        finals.append([harness.to_numpy(v) for v in variables + optimizer.variables])
    for batched, generic in zip(*finals):
        np.testing.assert_array_equal(batched, generic)


def test_under_loss_scaling_clips_unscaled_gradients():
    """LossScaleOptimizer(AGC(SGD)) takes the step of AGC on the unscaled gradient."""
    weights, grads = weights_and_grads(seed=1)
    optimizer = keras.optimizers.LossScaleOptimizer(
        AdaptiveGradientClipping(keras.optimizers.SGD(1.0), 0.02), initial_scale=1024
    )
    model = linear_loss_model(optimizer, weights, grads)
    new = fit_step(model)
    for w, g, w_new in zip(weights, grads, new):
        expected = clip_reference(g, w, 0.02, 1e-3)
        np.testing.assert_allclose(w - w_new, expected, rtol=1e-5, atol=1e-7)
    # A non-finite gradient skips the step and halves the scale, as without AGC.
    after_inf = fit_step(model, x=np.inf)
    for w_new, w_inf in zip(new, after_inf):
        np.testing.assert_array_equal(w_new, w_inf)
    assert float(harness.to_numpy(optimizer.dynamic_scale)) == 512.0


def test_mixed_precision_fit_matches_float32_fit():
    """Under mixed_float16 compile wraps AGC in a LossScaleOptimizer; steps agree."""
    x, y = harness.random_data((64, 6)), harness.random_data((64, 3), seed=1)

    def fit(policy):
        keras.mixed_precision.set_dtype_policy(policy)
        try:
            keras.utils.set_random_seed(0)
            model = keras.Sequential(
                [keras.Input((6,)), keras.layers.Dense(8), keras.layers.Dense(3)]
            )
            model.compile(
                optimizer=AdaptiveGradientClipping(keras.optimizers.SGD(0.5), 0.01),
                loss="mse",
            )
            model.fit(x, y, batch_size=64, epochs=3, verbose=0)
            return model
        finally:
            keras.mixed_precision.set_dtype_policy("float32")

    mixed, full = fit("mixed_float16"), fit("float32")
    assert isinstance(mixed.optimizer, keras.optimizers.LossScaleOptimizer)
    for a, b in zip(mixed.get_weights(), full.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-3)


def test_keras_round_trip_keeps_inner_optimizer_and_state(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(
        optimizer=AdaptiveGradientClipping(
            keras.optimizers.Adam(0.01), clip_factor=0.02, epsilon=0.01
        ),
        loss="mse",
    )
    x, y = harness.random_data((16, 4)), harness.random_data((16, 2), seed=1)
    model.fit(x, y, epochs=2, verbose=0)
    path = str(tmp_path / "agc.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    optimizer = loaded.optimizer
    assert isinstance(optimizer, AdaptiveGradientClipping)
    assert isinstance(optimizer.inner_optimizer, keras.optimizers.Adam)
    assert (optimizer.clip_factor, optimizer.epsilon) == (0.02, 0.01)
    assert int(optimizer.iterations) == 2
    for a, b in zip(model.optimizer.variables, optimizer.variables):
        np.testing.assert_array_equal(harness.to_numpy(a), harness.to_numpy(b))


def test_bad_arguments():
    for name in ("clip_factor", "epsilon"):
        for value in (0.0, -0.1, float("nan"), "0.1"):
            with pytest.raises(ValueError, match=f"`{name}`.*Received: {name}="):
                AdaptiveGradientClipping("sgd", **{name: value})
    for value in ("not_an_optimizer", 3, keras.layers.Dense(2)):
        with pytest.raises(ValueError, match="`optimizer`.*Received"):
            AdaptiveGradientClipping(value)
    with pytest.raises(ValueError, match="`optimizer`.*LossScaleOptimizer"):
        AdaptiveGradientClipping(
            keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD())
        )
