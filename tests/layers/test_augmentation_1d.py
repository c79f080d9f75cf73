import itertools

import keras
import numpy as np
import pytest

from keras_smithing import mc_predict
from keras_smithing.layers import (
    Pipeline,
    RandomFeatureMask,
    RandomJitter,
    RandomScale1D,
    RandomShift1D,
    RandomTimeWarp1D,
    augmentation_1d,
)
from tests import harness
from tests.support_matrix import record

SIGNAL_LAYERS = [
    (RandomShift1D, {"max_shift": 2, "seed": 1}),
    (RandomShift1D, {"max_shift": 2, "fill": "zeros", "seed": 1}),
    (RandomShift1D, {"max_shift": 2, "fill": "edge", "seed": 1}),
    (RandomScale1D, {"range": (0.5, 1.5), "seed": 1}),
    (RandomTimeWarp1D, {"max_warp": 0.4, "seed": 1}),
    (RandomJitter, {"stddev": 0.1, "seed": 1}),
]
ALL_LAYERS = [*SIGNAL_LAYERS, (RandomFeatureMask, {"rate": 0.3, "seed": 1})]


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _check(layer_cls, init_kwargs, input_shape):
    return {
        "layer_cls": layer_cls,
        "init_kwargs": init_kwargs,
        "input_shape": input_shape,
        "expected_output_shape": input_shape,
        "expected_num_trainable_weights": 0,
        "expected_num_seed_generators": 1,
    }


def test_harness_shift():
    harness.check_layer(
        **_check(RandomShift1D, {"max_shift": 2, "fill": "zeros", "seed": 1}, (4, 8, 2))
    )


def test_harness_scale():
    harness.check_layer(
        **_check(RandomScale1D, {"range": (0.5, 1.5), "seed": 1}, (4, 8))
    )


def test_harness_time_warp():
    harness.check_layer(
        **_check(RandomTimeWarp1D, {"max_warp": 0.4, "seed": 1}, (4, 8, 2))
    )


def test_harness_jitter():
    harness.check_layer(**_check(RandomJitter, {"stddev": 0.1, "seed": 1}, (4, 8)))


def test_harness_feature_mask():
    harness.check_layer(**_check(RandomFeatureMask, {"rate": 0.3, "seed": 1}, (4, 6)))


@pytest.mark.parametrize("layer_cls, init_kwargs", ALL_LAYERS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_identity_at_inference_and_shape_dtype_kept(layer_cls, init_kwargs, dtype):
    x = harness.random_data((6, 10)).astype(dtype)
    layer = layer_cls(**init_kwargs, dtype=dtype)
    np.testing.assert_array_equal(_np(layer(x)), x)
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)
    out = layer(x, training=True)
    assert tuple(out.shape) == x.shape
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    assert not np.array_equal(_np(out), x), "the layer did nothing in training"


def _shift_reference(row, shift, fill):
    steps = len(row)
    source = np.arange(steps) - shift
    if fill == "wrap":
        return row[source % steps]
    out = row[np.clip(source, 0, steps - 1)]
    if fill == "zeros":
        inside = (source >= 0) & (source < steps)
        out = np.where(inside.reshape((-1,) + (1,) * (row.ndim - 1)), out, 0.0)
    return out


@pytest.mark.parametrize("fill", ["wrap", "zeros", "edge"])
def test_shift_matches_numpy_and_covers_all_shifts(fill):
    max_shift, steps = 3, 12
    x = harness.random_data((200, steps, 2))
    out = _np(RandomShift1D(max_shift, fill=fill, seed=0)(x, training=True))
    seen = set()
    for row, got in zip(x, out):
        matches = [
            s
            for s in range(-max_shift, max_shift + 1)
            if np.allclose(got, _shift_reference(row, s, fill))
        ]
        assert len(matches) == 1, "output is not a shift of its input"
        seen.add(matches[0])
    assert seen == set(range(-max_shift, max_shift + 1))


def test_shift_wrap_is_a_permutation():
    x = harness.random_data((32, 15))
    out = _np(RandomShift1D(7, seed=2)(x, training=True))
    np.testing.assert_array_equal(np.sort(out, axis=1), np.sort(x, axis=1))


def test_shift_per_channel_alike():
    x = np.repeat(harness.random_data((16, 9, 1)), 3, axis=-1)
    out = _np(RandomShift1D(3, seed=0)(x, training=True))
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_scale_is_one_factor_per_example_in_range():
    x = np.abs(harness.random_data((64, 10, 2))) + 0.5
    out = _np(RandomScale1D((0.8, 1.2), seed=0)(x, training=True))
    factors = out / x
    np.testing.assert_allclose(factors, factors[:, :1, :1] * np.ones_like(x), 1e-5)
    assert factors.min() >= 0.8 - 1e-6 and factors.max() <= 1.2 + 1e-6
    assert factors[:, 0, 0].std() > 0.05


def test_time_warp_is_monotone_resampling_with_fixed_ends():
    steps = 30
    x = np.tile(np.arange(steps, dtype="float32"), (64, 1))
    out = _np(RandomTimeWarp1D(0.5, seed=0)(x, training=True))
    np.testing.assert_allclose(out[:, 0], 0.0, atol=1e-5)
    np.testing.assert_allclose(out[:, -1], steps - 1, atol=1e-3)
    assert np.all(np.diff(out, axis=1) > 0), "the warp must be monotone"
    # Local speeds stay in [1 - max_warp, 1 + max_warp] up to the end rescaling.
    speeds = np.diff(out, axis=1)
    assert speeds.min() > 0.5 / 1.5 - 1e-3 and speeds.max() < 1.5 / 0.5 + 1e-3
    assert np.abs(out - x).max() > 0.5, "no warp happened"


def test_time_warp_zero_is_identity_in_training():
    x = harness.random_data((4, 20, 3))
    out = _np(RandomTimeWarp1D(0.0, seed=0)(x, training=True))
    np.testing.assert_allclose(out, x, atol=1e-5)


def test_jitter_noise_statistics():
    x = np.zeros((200, 50), "float32")
    noise = _np(RandomJitter(0.2, seed=0)(x, training=True))
    assert abs(noise.mean()) < 0.01
    assert abs(noise.std() - 0.2) < 0.01


def test_feature_mask_rate_and_values():
    x = np.abs(harness.random_data((400, 25))) + 1.0
    out = _np(RandomFeatureMask(0.3, mask_value=-1.0, seed=0)(x, training=True))
    masked = out == -1.0
    assert abs(masked.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(out[~masked], x[~masked])


def test_pipeline_in_fit_and_saved_model():
    x = harness.random_data((32, 16))
    y = harness.random_data((32, 1), seed=1)
    inputs = keras.Input((16,))
    augmented = Pipeline(
        [
            RandomShift1D(3, seed=0),
            RandomScale1D((0.9, 1.1), seed=1),
            RandomTimeWarp1D(0.2, seed=2),
            RandomJitter(0.05, seed=3),
        ]
    )(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(augmented))
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    record(model, "jit")
    # Predictions match after reload: the augmentation is off at inference.
    harness.check_saved_model(model, x)


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: RandomShift1D(-1), "max_shift"),
        (lambda: RandomShift1D(1.5), "max_shift"),
        (lambda: RandomShift1D(2, fill="reflect"), "fill"),
        (lambda: RandomScale1D((1.2, 0.8)), "range"),
        (lambda: RandomScale1D(1.2), "range"),
        (lambda: RandomTimeWarp1D(1.0), "max_warp"),
        (lambda: RandomTimeWarp1D(-0.1), "max_warp"),
        (lambda: RandomTimeWarp1D(0.2, num_knots=1), "num_knots"),
        (lambda: RandomJitter(-0.1), "stddev"),
        (lambda: RandomFeatureMask(1.0), "rate"),
    ],
)
def test_bad_arguments(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received: {argument}="):
        make()


@pytest.mark.parametrize("max_shift", [8, 9])
def test_max_shift_not_below_steps(max_shift):
    with pytest.raises(ValueError, match="`max_shift`.*steps \\(8\\)"):
        RandomShift1D(max_shift)(np.zeros((2, 8), "float32"))


@pytest.mark.parametrize("layer_cls, init_kwargs", SIGNAL_LAYERS)
def test_signal_layers_reject_wrong_rank(layer_cls, init_kwargs):
    for shape in [(4,), (2, 5, 3, 1)]:
        with pytest.raises(
            ValueError, match="`inputs` has rank .*Received: inputs.shape="
        ):
            layer_cls(**init_kwargs)(np.zeros(shape, "float32"))


def test_feature_mask_rejects_wrong_rank():
    with pytest.raises(ValueError, match="`inputs` has rank .*Received: inputs.shape="):
        RandomFeatureMask(0.2)(np.zeros((2, 5, 3), "float32"))


def test_mc_predict_does_not_augment():
    inputs = keras.Input((16,))
    augmented = Pipeline(
        [
            RandomShift1D(3, seed=0),
            RandomScale1D((0.5, 1.5), seed=1),
            RandomTimeWarp1D(0.3, seed=2),
            RandomJitter(0.5, seed=3),
            RandomFeatureMask(0.5, seed=4),
        ]
    )(inputs)
    hidden = keras.layers.Dense(3)(augmented)
    model = keras.Model(inputs, keras.layers.Dropout(0.5, seed=5)(hidden))
    x = harness.random_data((5, 16))
    result = mc_predict(model, x, num_samples=4)
    # Only the dropout samples: kept units are the unaugmented prediction times 2.
    expected = np.broadcast_to(2 * model.predict(x, verbose=0), result.samples.shape)
    kept = result.samples != 0
    assert 0.25 < kept.mean() < 0.75
    np.testing.assert_allclose(result.samples[kept], expected[kept], rtol=1e-5)


def test_jitter_draws_keras_random_normal_values():
    # On TensorFlow the noise is drawn with the Philox algorithm named, so that
    # XLA compiles a fast generator; the values stay keras.random.normal's, in
    # eager mode and under XLA alike, on every backend.
    x = np.zeros((4, 10, 2), "float32")
    modes = [lambda fn: fn()]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        modes.append(lambda fn: tf.function(fn, jit_compile=True)())
    for run in modes:
        generator, layer = keras.random.SeedGenerator(7), RandomJitter(0.3, seed=7)
        expected = run(lambda g=generator: keras.random.normal(x.shape, 0, 0.3, seed=g))
        noise = run(lambda layer=layer: layer(x, training=True))
        np.testing.assert_allclose(_np(noise), _np(expected), atol=1e-6)


def _eager_and_jit_compiled():
    modes = [lambda fn: fn()]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        modes.append(lambda fn: tf.function(fn, jit_compile=True)())
    return modes


def test_random_uniform_and_randint_equal_keras_draws():
    # utils.backend's twins name Philox on TensorFlow (XLA's default generator is
    # slow on CPU); their values are keras.random's, eagerly and under XLA.
    from keras_smithing.utils.backend import random_randint, random_uniform

    for run in _eager_and_jit_compiled():
        # [0, 1) as the RBM draws it (PyTorch skips the identity scaling).
        for args, dtype in itertools.product(
            [((6, 7), -0.5, 2.0), ((6, 7), 0.0, 1.0)], ["float32", "float16"]
        ):
            ours, theirs = keras.random.SeedGenerator(3), keras.random.SeedGenerator(3)
            got = run(lambda g=ours, a=args, d=dtype: random_uniform(*a, d, g))
            want = run(lambda g=theirs, a=args, d=dtype: keras.random.uniform(*a, d, g))
            assert _np(got).dtype == _np(want).dtype
            np.testing.assert_array_equal(_np(got), _np(want))
        for dtype in ["int32", "int64", "int16"]:
            ours, theirs = keras.random.SeedGenerator(4), keras.random.SeedGenerator(4)
            got = run(lambda g=ours, d=dtype: random_randint((50,), -3, 9, d, g))
            want = run(
                lambda g=theirs, d=dtype: keras.random.randint((50,), -3, 9, d, g)
            )
            assert _np(got).dtype == _np(want).dtype
            np.testing.assert_array_equal(_np(got), _np(want))


def test_draws_move_the_seed_generator_on_as_keras_does():
    # On PyTorch the draws seed their torch.Generator without Keras's per-op
    # dispatch; the values and the seed generator's state stay keras.random's,
    # draw after draw, and a stateless scope records the new state as Keras does.
    from keras_smithing.utils.backend import (
        random_normal,
        random_randint,
        random_uniform,
    )

    draws = [
        (
            lambda g: random_normal((3, 5), 0.5, "float32", g),
            lambda g: keras.random.normal((3, 5), stddev=0.5, dtype="float32", seed=g),
        ),
        (
            lambda g: random_uniform((), -1.0, 3.0, "float32", g),
            lambda g: keras.random.uniform((), -1.0, 3.0, "float32", g),
        ),
        (
            lambda g: random_randint((7, 1), -4, 5, "int32", g),
            lambda g: keras.random.randint((7, 1), -4, 5, "int32", g),
        ),
    ]
    for ours_draw, keras_draw in draws:
        ours, theirs = keras.random.SeedGenerator(11), keras.random.SeedGenerator(11)
        for _ in range(3):
            got, want = _np(ours_draw(ours)), _np(keras_draw(theirs))
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(_np(ours.state.value), _np(theirs.state.value))
        before = _np(ours.state.value)
        scopes = []
        for generator, draw in [(ours, ours_draw), (theirs, keras_draw)]:
            mapped = keras.ops.convert_to_tensor(before)
            with keras.StatelessScope(
                state_mapping=[(generator.state, mapped)]
            ) as scope:
                values = _np(draw(generator))
            scopes.append((values, _np(scope.get_current_value(generator.state))))
            np.testing.assert_array_equal(_np(mapped), before)
        np.testing.assert_array_equal(scopes[0][0], scopes[1][0])
        np.testing.assert_array_equal(scopes[0][1], scopes[1][1])
        np.testing.assert_array_equal(_np(ours.state.value), before)


def test_augmentations_draw_keras_random_values(monkeypatch):
    x = np.ones((4, 10, 2), "float32")
    signal = np.tile(np.arange(10, dtype="float32")[None, :, None], (4, 1, 2))
    for run in _eager_and_jit_compiled():
        layer, generator = (
            RandomScale1D((0.5, 1.5), seed=7),
            keras.random.SeedGenerator(7),
        )
        got = run(lambda layer=layer: layer(x, training=True))
        want = run(
            lambda g=generator: keras.random.uniform((4, 1, 1), 0.5, 1.5, seed=g) * x
        )
        np.testing.assert_array_equal(_np(got), _np(want))

        layer, generator = RandomFeatureMask(0.5, seed=7), keras.random.SeedGenerator(7)
        got = run(lambda layer=layer: layer(x[:, :, 0], training=True))
        mask = run(lambda g=generator: keras.random.uniform((4, 10), seed=g) < 0.5)
        np.testing.assert_array_equal(_np(got), np.where(_np(mask), 0.0, x[:, :, 0]))

        layer, generator = RandomShift1D(3, seed=7), keras.random.SeedGenerator(7)
        got = run(lambda layer=layer: layer(signal, training=True))
        shifts = run(lambda g=generator: keras.random.randint((4, 1), -3, 4, seed=g))
        source = np.arange(10)[None, :] - _np(shifts)
        np.testing.assert_array_equal(_np(got)[:, :, 0], np.mod(source, 10))

        # Time warping: the same output as with keras.random.uniform's speeds.
        layer = RandomTimeWarp1D(0.4, seed=7)
        got = run(lambda layer=layer: layer(signal, training=True))
        with monkeypatch.context() as patch:
            patch.setattr(
                augmentation_1d,
                "random_uniform",
                lambda shape, low, high, dtype, g: keras.random.uniform(
                    shape, low, high, dtype, seed=g
                ),
            )
            layer = RandomTimeWarp1D(0.4, seed=7)
            want = run(lambda layer=layer: layer(signal, training=True))
        np.testing.assert_array_equal(_np(got), _np(want))
