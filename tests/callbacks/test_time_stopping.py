import keras
import numpy as np
import pytest

from keras_smithing.callbacks import TimeStopping, time_stopping
from tests import harness


class FakeTime:
    """A clock that only moves when `Tick` advances it."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now


class Tick(keras.callbacks.Callback):
    """Advances the fake clock before each batch and/or at each epoch end."""

    def __init__(self, clock, per_batch=0.0, per_epoch=0.0):
        super().__init__()
        self.clock, self.per_batch, self.per_epoch = clock, per_batch, per_epoch
        self.batches = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.clock.now += self.per_batch

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        self.clock.now += self.per_epoch


@pytest.fixture
def clock(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(time_stopping, "time", fake)
    return fake


def _data():
    return harness.random_data((32, 4)), harness.random_data((32, 1), seed=1)


def _model(learning_rate=0.01):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def test_harness_within_budget_trains_every_epoch():
    history = harness.check_callback(
        stop := TimeStopping(600, restore_best_weights=True, monitor="loss"), epochs=2
    )
    assert history.epoch == [0, 1]
    assert stop.stopped_epoch is None
    assert 0 <= stop.elapsed < 600


def test_stops_within_a_batch_of_the_budget(clock, capsys):
    x, y = _data()
    tick = Tick(clock, per_batch=1.0)  # Batch g (0-based) starts at time g + 1.
    stop = TimeStopping(10, verbose=1)
    history = _model().fit(
        x, y, batch_size=4, epochs=5, verbose=0, callbacks=[tick, stop]
    )
    # 8 batches per epoch: the 10th batch (epoch 2, batch 2) is the last one.
    assert tick.batches == 10
    assert history.epoch == [0, 1]
    assert (stop.stopped_epoch, stop.stopped_batch) == (1, 1)
    assert "training stopped at epoch 2, batch 2" in capsys.readouterr().out


def test_stops_at_an_epoch_end(clock):
    x, y = _data()
    tick = Tick(clock, per_epoch=3.0)
    stop = TimeStopping(7)
    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[tick, stop])
    assert history.epoch == [0, 1, 2]  # 9 s after the third epoch.
    assert (stop.stopped_epoch, stop.stopped_batch) == (2, None)
    assert stop.elapsed == 9.0
    # The budget restarts with every fit.
    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[tick, stop])
    assert len(history.epoch) == 3


class Sabotage(keras.callbacks.Callback):
    """Multiplies every weight by 10 at the end of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.set_weights([10 * w for w in self.model.get_weights()])


@pytest.mark.parametrize(
    "restore, mode, expected",
    [(True, "auto", 1), (True, "max", 10), (False, "min", 10)],
)
def test_restores_the_best_weights(clock, restore, mode, expected, capsys):
    x, y = _data()
    model = _model(learning_rate=0.0)  # Only Sabotage changes the weights.
    initial = model.get_weights()
    tick = Tick(clock, per_epoch=1.0)
    stop = TimeStopping(3, restore_best_weights=restore, mode=mode, verbose=1)
    history = model.fit(
        x,
        y,
        validation_data=(x, y),
        epochs=10,
        verbose=0,
        callbacks=[tick, stop, Sabotage(epoch=1)],
    )
    assert history.epoch == [0, 1, 2]
    losses = history.history["val_loss"]
    assert losses[0] == pytest.approx(losses[1]) and losses[2] > losses[1]
    for before, after in zip(initial, model.get_weights()):
        np.testing.assert_allclose(after, expected * before, rtol=1e-6)
    if restore:
        assert "Restoring model weights" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"seconds": 0}, "seconds"),
        ({"seconds": -5}, "seconds"),
        ({"seconds": float("nan")}, "seconds"),
        ({"seconds": "60"}, "seconds"),
        ({"seconds": 60, "mode": "lowest"}, "mode"),
        ({"seconds": 60, "verbose": 2}, "verbose"),
        ({"seconds": 60, "verbose": True}, "verbose"),
    ],
)
def test_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`.*Received: {argument}="):
        TimeStopping(**kwargs)


def test_tfa_defaults_and_positions():
    stop = TimeStopping()  # tfa: a day.
    assert stop.seconds == 86400 and stop.verbose == 0
    assert TimeStopping.from_config(stop.get_config()).seconds == 86400
    # tfa's second positional argument is `verbose`.
    stop = TimeStopping(3600, 1)
    assert (stop.seconds, stop.verbose, stop.restore_best_weights) == (3600, 1, False)
    # A `restore_best_weights` given by position fails instead of meaning verbose.
    with pytest.raises(ValueError, match="Received: verbose=True"):
        TimeStopping(3600, True)
