import keras
import pytest

from keras_bigbatch.schedules import Regime
from keras_bigbatch.schedules import Warmup


def lr_at(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_config_round_trip_and_serialization():
    regime = Regime(128, 10, 0.1, boundaries=(6, 8), decay=0.5, warmup_epochs=1)
    assert Regime.from_config(regime.get_config()) == regime
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(regime))
    assert restored == regime


def test_adapt_keeps_updates_and_scales_rate():
    small = Regime(128, 10, 0.1, boundaries=(6, 8))
    large = small.adapt(4096, learning_rate_rule="sqrt")
    assert (large.epochs, large.boundaries) == (320.0, (192.0, 256.0))
    assert large.learning_rate == pytest.approx(0.1 * 32 ** 0.5)
    # With the data set size, whole steps match: 468 vs 14 steps per epoch.
    exact = small.adapt(4096, dataset_size=60000)
    assert exact.total_steps(60000) == small.total_steps(60000) == 4680
    assert small.adapt(4096, learning_rate_rule=None).learning_rate == 0.1
    half = small.adapt(4096, updates_fraction=0.25)
    assert half.epochs == 80.0


def test_to_schedule_decays_at_absolute_steps_after_warmup():
    regime = Regime(100, 10, 1.0, boundaries=(5,), decay=0.1, warmup_epochs=2)
    schedule = regime.to_schedule(1000)  # 10 steps per epoch
    assert isinstance(schedule, Warmup)
    assert lr_at(schedule, 10) == pytest.approx(0.5)   # mid warm-up
    assert lr_at(schedule, 49) == pytest.approx(1.0)
    assert lr_at(schedule, 51) == pytest.approx(0.1)   # decayed at epoch 5 = step 50
    assert Regime(100, 3, 0.2).to_schedule(1000) == 0.2


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=0, epochs=1, learning_rate=0.1), "batch_size"),
    (dict(batch_size=10, epochs=0, learning_rate=0.1), "epochs"),
    (dict(batch_size=10, epochs=1, learning_rate=-0.1), "learning_rate"),
    (dict(batch_size=10, epochs=5, learning_rate=0.1, boundaries=(3, 2)), "boundaries"),
    (dict(batch_size=10, epochs=5, learning_rate=0.1, boundaries=(7,)), "boundaries"),
    (dict(batch_size=10, epochs=5, learning_rate=0.1, decay=0), "decay"),
    (dict(batch_size=10, epochs=5, learning_rate=0.1, warmup_epochs=-1), "warmup_epochs"),
    (dict(batch_size=10, epochs=5, learning_rate=0.1, boundaries=(2,), warmup_epochs=3), "warmup_epochs"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Regime(**kwargs)


def test_bad_adapt_input():
    regime = Regime(10, 5, 0.1)
    with pytest.raises(ValueError, match="learning_rate_rule"):
        regime.adapt(20, learning_rate_rule="log")
    with pytest.raises(ValueError, match="updates_fraction"):
        regime.adapt(20, updates_fraction=0)
    with pytest.raises(ValueError, match="batch_size"):
        regime.adapt(-20)


def test_polynomial_decay_after_warmup():
    regime = Regime(batch_size=100, epochs=10, learning_rate=2.0, warmup_epochs=2, polynomial_power=2)
    schedule = regime.to_schedule(1000)  # 10 steps per epoch, 100 steps, 20 warm-up
    rate = lambda step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    assert rate(10) == pytest.approx(1.0)            # half-way up the warm-up
    assert rate(20) == pytest.approx(2.0)            # peak
    assert rate(60) == pytest.approx(2.0 * 0.5**2)   # (1 - 40/80)^2
    assert rate(100) == pytest.approx(0.0)
    assert Regime.from_config(regime.get_config()) == regime
    assert "poly(power 2)" in regime.describe()
    assert regime.adapt(200).polynomial_power == 2.0


@pytest.mark.parametrize("kwargs,match", [
    (dict(polynomial_power=0), "polynomial_power"),
    (dict(polynomial_power=2, boundaries=(5,)), "boundaries"),
])
def test_bad_polynomial_decay(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Regime(batch_size=100, epochs=10, learning_rate=1.0, **kwargs)
