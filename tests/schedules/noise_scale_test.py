"""Noise scale g = lr N / (B (1 - m)) and Smith's equivalent schedules."""

import keras
import pytest

from keras_bigbatch.schedules import Regime
from keras_bigbatch.schedules import momentum_scaled_batch_size
from keras_bigbatch.schedules import noise_scale
from keras_bigbatch.schedules import plan_batch_growth

N = 60000
REGIME = Regime(batch_size=128, epochs=10, learning_rate=0.1, boundaries=(3, 6, 8), decay=0.2)


def test_noise_scale_formula():
    # 0.1 * 50000 / (128 * 0.1) = 390.625
    assert noise_scale(0.1, 50000, 128, momentum=0.9) == pytest.approx(390.625)
    assert noise_scale(0.1, 50000, 128) == pytest.approx(39.0625)


def test_momentum_scaling_keeps_noise():
    bigger = momentum_scaled_batch_size(128, 0.9, 0.98)  # 128 * 0.1 / 0.02 = 640
    assert bigger == 640
    assert noise_scale(0.1, N, bigger, 0.98) == pytest.approx(noise_scale(0.1, N, 128, 0.9))


@pytest.mark.parametrize("max_batch_size", [None, 3200, 128])
def test_plans_keep_the_noise_scale_of_the_regime(max_batch_size):
    decay = plan_batch_growth(REGIME, REGIME.batch_size)
    plan = plan_batch_growth(REGIME, max_batch_size)
    for epoch in range(10):
        assert plan.noise_scale(epoch, N, 0.9) == pytest.approx(decay.noise_scale(epoch, N, 0.9))


def test_increase_and_hybrid_shapes_and_updates():
    decay = plan_batch_growth(REGIME, 128)
    assert decay.batch_size.boundaries == {0: 128}
    assert decay.learning_rates == pytest.approx({0: 0.1, 3: 0.02, 6: 0.004, 8: 0.0008})
    increase = plan_batch_growth(REGIME)
    assert increase.batch_size.boundaries == {0: 128, 3: 640, 6: 3200, 8: 16000}
    assert increase.learning_rates == {0: 0.1}
    hybrid = plan_batch_growth(REGIME, 3200)
    assert hybrid.batch_size.boundaries == {0: 128, 3: 640, 6: 3200}
    assert hybrid.learning_rates == pytest.approx({0: 0.1, 8: 0.02})
    # 468 steps/epoch at 128, 93 at 640, 18 at 3200, 3 at 16000
    assert decay.updates(N) == 4680
    assert increase.updates(N) == 3 * 468 + 3 * 93 + 2 * 18 + 2 * 3
    assert hybrid.updates(N) == 3 * 468 + 3 * 93 + 4 * 18


def test_learning_rate_schedule_in_steps_follows_the_batch_sizes():
    hybrid = plan_batch_growth(REGIME.replace(warmup_epochs=1), 3200)
    schedule = hybrid.to_learning_rate_schedule(N)
    decay_step = 3 * 468 + 3 * 93 + 2 * 18  # epoch 8 starts here
    rate = lambda step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    assert rate(234) == pytest.approx(0.05)  # half-way through the 468-step warm-up
    assert rate(467) == pytest.approx(0.1 * 467 / 468)  # last warm-up update
    assert rate(468) == pytest.approx(0.1)
    assert rate(decay_step - 1) == pytest.approx(0.1)
    assert rate(decay_step) == pytest.approx(0.02)   # first update of epoch 8
    assert rate(decay_step + 1) == pytest.approx(0.02)


@pytest.mark.parametrize("warmup_epochs", [0, 1])
def test_decay_plan_and_regime_switch_on_the_same_update(warmup_epochs):
    # The first update of epoch e (0-based index e * 468) uses the new rate
    # in both; a plan that only decays the rate is the regime itself.
    regime = REGIME.replace(warmup_epochs=warmup_epochs)
    from_regime = regime.to_schedule(N)
    from_plan = plan_batch_growth(regime, regime.batch_size).to_learning_rate_schedule(N)
    rate = lambda schedule, step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    for epoch, want in [(3, 0.02), (6, 0.004), (8, 0.0008)]:
        step = epoch * 468
        for t in (step - 1, step, step + 1):
            assert rate(from_regime, t) == pytest.approx(rate(from_plan, t)), (epoch, t)
        assert rate(from_regime, step) == pytest.approx(want)
        assert rate(from_regime, step - 1) == pytest.approx(want / 0.2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(learning_rate=-1, dataset_size=N, batch_size=128), "learning_rate"),
    (dict(learning_rate=0.1, dataset_size=0, batch_size=128), "dataset_size"),
    (dict(learning_rate=0.1, dataset_size=N, batch_size=12.5), "batch_size"),
    (dict(learning_rate=0.1, dataset_size=N, batch_size=128, momentum=1.0), "momentum"),
])
def test_noise_scale_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        noise_scale(**kwargs)


def test_plan_bad_input():
    with pytest.raises(ValueError, match="max_batch_size"):
        plan_batch_growth(REGIME, 64)
    with pytest.raises(ValueError, match="polynomial_power"):
        plan_batch_growth(Regime(128, 10, 0.1, polynomial_power=2))
    with pytest.raises(ValueError, match="whole epochs"):
        plan_batch_growth(Regime(128, 10, 0.1, boundaries=(2.5,)))
    with pytest.raises(ValueError, match="new_momentum"):
        momentum_scaled_batch_size(128, 0.9, 1.0)
