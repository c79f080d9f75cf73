import keras
import numpy as np
import pytest

from keras_smithing import tta_predict
from keras_smithing.layers import MCDropout, Pipeline, RandomShift1D
from keras_smithing.layers.training_mode import is_augmentation
from tests import harness

STEPS = 8


def _shift_model(seed=1, max_shift=2, dropout=0.5):
    """RandomShift1D -> Dense -> BatchNorm (far moving stats) -> Dropout -> softmax."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((STEPS,))
    hidden = RandomShift1D(max_shift, seed=seed)(inputs)
    hidden = keras.layers.Dense(5)(hidden)
    bn = keras.layers.BatchNormalization()
    hidden = keras.layers.Dropout(dropout, seed=seed)(bn(hidden))
    model = keras.Model(inputs, keras.layers.Softmax()(hidden))
    bn.moving_mean.assign(np.full(5, 2.0, "float32"))
    bn.moving_variance.assign(np.full(5, 4.0, "float32"))
    return model


def _predict(model, x):
    """Eager inference call (no compiled predict function to build)."""
    return harness.to_numpy(model(np.ascontiguousarray(x), training=False))


def _shifted_predictions(model, x, max_shift):
    """Explicit loop: inference predictions on every circular shift, (shifts, n, c)."""
    shifts = range(-max_shift, max_shift + 1)
    return np.stack([_predict(model, np.roll(x, k, axis=1)) for k in shifts])


def test_samples_the_models_augmentation_with_the_rest_in_inference_mode():
    model = _shift_model()
    x = harness.random_data((6, STEPS))
    result = tta_predict(model, x, num_samples=12)
    assert result.samples.shape == (12, 6, 5)
    reference = _shifted_predictions(model, x, 2)
    # Every sample is the inference prediction (BN moving statistics, no dropout)
    # on one of the shifted inputs; together they use several shifts.
    distance = np.abs(result.samples[:, None] - reference[None]).max(axis=-1)
    assert np.all(distance.min(axis=1) < 1e-5)
    assert len(np.unique(distance.argmin(axis=1))) >= 3
    assert np.all(result.std.max(axis=-1) > 0)
    np.testing.assert_allclose(result.mean.sum(axis=-1), 1, rtol=1e-5)


@pytest.mark.parametrize("batch_size", [None, 8])
def test_deterministic_transforms_give_the_mean_over_the_transformed_inputs(
    batch_size,
):
    model = _shift_model()
    x = harness.random_data((4, STEPS))
    transforms = [
        lambda t: t,
        lambda t: keras.ops.roll(t, 1, axis=1),
        lambda t: keras.ops.flip(t, axis=1),
    ]
    # batch_size 8: two copies per pass, so passes start at transforms 0, 2, 1.
    result = tta_predict(
        model, x, num_samples=6, transforms=transforms, batch_size=batch_size
    )
    reference = np.stack(
        [_predict(model, a) for a in (x, np.roll(x, 1, axis=1), np.flip(x, axis=1))]
    )
    np.testing.assert_allclose(result.samples, np.tile(reference, (2, 1, 1)), atol=1e-6)
    np.testing.assert_allclose(result.mean, reference.mean(axis=0), atol=1e-6)


def test_transform_layers_draw_per_copy_and_are_reproducible():
    inputs = keras.Input((STEPS,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    x = harness.random_data((5, STEPS))

    def run(seed):
        return tta_predict(
            model, x, num_samples=8, transforms=[RandomShift1D(3, seed=seed)]
        ).samples

    first = run(seed=4)
    np.testing.assert_array_equal(first, run(seed=4))
    assert not np.array_equal(first, run(seed=5))
    reference = _shifted_predictions(model, x, 3)
    distance = np.abs(first[:, None] - reference[None]).max(axis=-1)
    assert np.all(distance.min(axis=1) < 1e-5)
    assert len(np.unique(distance.argmin(axis=1))) >= 3


def test_same_seed_same_result_and_fresh_copies_each_call():
    x = harness.random_data((6, STEPS))
    first, twin = _shift_model(seed=3), _shift_model(seed=3)
    a = tta_predict(first, x, num_samples=6).samples
    np.testing.assert_array_equal(a, tta_predict(twin, x, num_samples=6).samples)
    assert not np.array_equal(a, tta_predict(first, x, num_samples=6).samples)


def test_mc_dropout_composes():
    model = _shift_model(max_shift=1)
    x = harness.random_data((6, STEPS))
    reference = _shifted_predictions(model, x, 1)
    both = tta_predict(model, x, num_samples=8, mc_dropout=True).samples
    # Dropout samples too: not the inference prediction on any shift.
    distance = np.abs(both[:, None] - reference[None]).max(axis=-1)
    assert np.all(distance.min(axis=1) > 1e-3)
    # An MCDropout layer samples in any case.
    inputs = keras.Input((STEPS,))
    hidden = MCDropout(0.5, seed=0)(keras.layers.Dense(8)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    flips = [lambda t: t, lambda t: keras.ops.flip(t, axis=1)]
    samples = tta_predict(model, x, num_samples=4, transforms=flips).samples
    assert not np.allclose(samples[0], samples[2])


def test_samples_keras_image_augmentation():
    inputs = keras.Input((4, 4, 1))
    flipped = keras.layers.RandomFlip("horizontal", seed=0)(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(flipped))
    model = keras.Model(inputs, keras.layers.Dropout(0.5)(outputs))
    x = harness.random_data((5, 4, 4, 1))
    result = tta_predict(model, x, num_samples=10)
    plain = _predict(model, x)
    mirrored = _predict(model, x[:, :, ::-1])
    is_plain = np.abs(result.samples - plain).max(axis=-1) < 1e-5
    is_mirrored = np.abs(result.samples - mirrored).max(axis=-1) < 1e-5
    assert np.all(is_plain | is_mirrored)
    assert is_plain.any() and is_mirrored.any()


def test_is_augmentation():
    assert is_augmentation(RandomShift1D(1))
    assert is_augmentation(keras.layers.GaussianNoise(0.1))
    assert is_augmentation(Pipeline([keras.layers.RandomFlip()]))
    assert not is_augmentation(Pipeline([keras.layers.Dense(2)]))
    assert not is_augmentation(keras.layers.Dropout(0.5))
    assert not is_augmentation(keras.layers.MixUp())


class ShiftingModel(keras.Model):
    """RandomShift1D -> Dense -> (optionally) another layer, as a subclassed model."""

    def __init__(self, after=None):
        super().__init__()
        self.shift = RandomShift1D(1, seed=0)
        self.dense = keras.layers.Dense(2)
        self.after = after

    def call(self, inputs, training=None):
        outputs = self.dense(self.shift(inputs, training=training))
        if self.after is not None:
            outputs = self.after(outputs, training=training)
        return outputs


def test_samples_the_augmentation_of_a_subclassed_model():
    x = harness.random_data((6, STEPS))
    model = ShiftingModel()
    model(x)
    result = tta_predict(model, x, num_samples=12)
    reference = _shifted_predictions(model, x, 1)
    distance = np.abs(result.samples[:, None] - reference[None]).max(axis=-1)
    assert np.all(distance.min(axis=1) < 1e-5)
    assert len(np.unique(distance.argmin(axis=1))) == 3


@pytest.mark.parametrize(
    "after, name",
    [
        (keras.layers.BatchNormalization, "batch_normalization"),
        (lambda: keras.layers.Dropout(0.5), "dropout"),
    ],
)
def test_subclassed_model_that_cannot_augment_alone_needs_transforms(after, name):
    x = harness.random_data((3, STEPS))
    model = ShiftingModel(after())
    model(x)
    with pytest.raises(ValueError, match=f"`training=True`.*{name}.*`transforms`"):
        tta_predict(model, x)
    flips = [lambda t: t, lambda t: keras.ops.flip(t, axis=1)]
    result = tta_predict(model, x, num_samples=2, transforms=flips)
    expected = [_predict(model, a) for a in (x, x[:, ::-1])]
    np.testing.assert_allclose(result.samples, np.stack(expected), atol=1e-6)


class _DropoutModel(keras.Model):
    """Dense -> Dropout -> (optionally) BatchNormalization, as a subclassed model."""

    def __init__(self, batch_norm=False):
        super().__init__()
        self.dense = keras.layers.Dense(16)
        self.dropout = keras.layers.Dropout(0.5, seed=2)
        self.norm = keras.layers.BatchNormalization() if batch_norm else None

    def call(self, inputs, training=None):
        outputs = self.dropout(self.dense(inputs), training=training)
        if self.norm is not None:
            outputs = self.norm(outputs, training=training)
        return outputs


def test_mc_dropout_samples_the_dropout_of_a_subclassed_model():
    x = harness.random_data((5, STEPS))
    flips = [lambda t: t, lambda t: keras.ops.flip(t, axis=1)]
    model = _DropoutModel()
    model(x)
    samples = tta_predict(
        model, x, num_samples=8, transforms=flips, mc_dropout=True
    ).samples
    # Copies 0, 2, 4, 6 see the same input: only dropout tells them apart, and
    # each is dropout on the Dense output (kept units scaled by 2).
    dense = harness.to_numpy(model.dense(x))
    kept = samples[::2] != 0
    assert 0.35 < kept.mean() < 0.65
    np.testing.assert_allclose(
        samples[::2][kept], (2 * np.broadcast_to(dense, kept.shape))[kept], rtol=1e-5
    )
    model = _DropoutModel(batch_norm=True)
    model(x)
    with pytest.raises(ValueError, match="`training=True`.*batch_normalization"):
        tta_predict(model, x, num_samples=2, transforms=flips, mc_dropout=True)


def test_mc_dropout_needs_a_stochastic_layer():
    inputs = keras.Input((STEPS,))
    hidden = RandomShift1D(1, seed=0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    x = harness.random_data((3, STEPS))
    with pytest.raises(ValueError, match="no stochastic layer.*`mc_dropout=False`"):
        tta_predict(model, x, num_samples=2, mc_dropout=True)


def _plain_model():
    inputs = keras.Input((STEPS,))
    return keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "`transforms`.*no training-only augmentation layer"),
        ({"num_samples": 0}, "`num_samples`"),
        ({"batch_size": 0}, "`batch_size`"),
        ({"x": None}, "`x`"),
        ({"x": np.zeros((0, STEPS), "float32")}, "`x`"),
        ({"transforms": []}, "`transforms`"),
        ({"transforms": abs}, "`transforms`"),
        ({"transforms": [abs], "mc_dropout": 1}, "`mc_dropout`"),
        ({"model": "model"}, "`model`"),
    ],
)
def test_bad_arguments(kwargs, message):
    arguments = {"model": _plain_model(), "x": np.ones((2, STEPS), "float32")}
    with pytest.raises(ValueError, match=message):
        tta_predict(**{**arguments, **kwargs})
