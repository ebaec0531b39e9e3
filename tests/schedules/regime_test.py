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


# Convention: a change "at epoch e" applies from the update with 0-based
# index t = e * steps_per_epoch, the first update of epoch e (its learning
# rate is read while optimizer.iterations == t).


def test_to_schedule_decays_on_the_first_update_of_the_boundary_epoch():
    regime = Regime(100, 10, 1.0, boundaries=(5, 8), decay=0.1)
    schedule = regime.to_schedule(1000)  # 10 steps per epoch: epochs 5, 8 start at 50, 80
    assert lr_at(schedule, 0) == pytest.approx(1.0)
    assert lr_at(schedule, 49) == pytest.approx(1.0)    # last update of epoch 4
    assert lr_at(schedule, 50) == pytest.approx(0.1)    # first update of epoch 5
    assert lr_at(schedule, 51) == pytest.approx(0.1)
    assert lr_at(schedule, 79) == pytest.approx(0.1)
    assert lr_at(schedule, 80) == pytest.approx(0.01)
    assert lr_at(schedule, 81) == pytest.approx(0.01)


def test_to_schedule_decays_at_absolute_steps_after_warmup():
    regime = Regime(100, 10, 1.0, boundaries=(5,), decay=0.1, warmup_epochs=2)
    schedule = regime.to_schedule(1000)  # 10 steps per epoch
    assert isinstance(schedule, Warmup)
    assert lr_at(schedule, 10) == pytest.approx(0.5)   # mid warm-up
    assert lr_at(schedule, 19) == pytest.approx(0.95)  # last warm-up update
    assert lr_at(schedule, 20) == pytest.approx(1.0)   # first update of epoch 2
    assert lr_at(schedule, 49) == pytest.approx(1.0)
    assert lr_at(schedule, 50) == pytest.approx(0.1)   # decayed at epoch 5 = step 50
    assert lr_at(schedule, 51) == pytest.approx(0.1)
    assert Regime(100, 3, 0.2).to_schedule(1000) == 0.2


@pytest.mark.parametrize("warmup_epochs", [0, 2])
def test_the_update_of_index_boundary_step_uses_the_decayed_rate(warmup_epochs):
    # SGD on w with gradient 1: update t moves w by -lr(t), read with
    # optimizer.iterations == t.
    regime = Regime(100, 10, 1.0, boundaries=(5,), decay=0.1, warmup_epochs=warmup_epochs)
    optimizer = keras.optimizers.SGD(regime.to_schedule(1000))
    w = keras.Variable([0.0])
    moves = []
    for _ in range(52):
        w.assign([0.0])
        optimizer.apply([keras.ops.ones((1,))], [w])
        moves.append(-float(w.numpy()[0]))
    assert moves[49] == pytest.approx(1.0)
    assert moves[50] == pytest.approx(0.1)  # update t = 5 * 10
    assert moves[51] == pytest.approx(0.1)


def test_to_schedule_round_trips_through_keras_serialization():
    for regime in (Regime(100, 10, 1.0, boundaries=(5, 8)),
                   Regime(100, 10, 1.0, boundaries=(5,), warmup_epochs=2)):
        schedule = regime.to_schedule(1000)
        restored = keras.optimizers.schedules.deserialize(
            keras.optimizers.schedules.serialize(schedule))
        steps = [0, 19, 20, 49, 50, 51, 79, 80, 99]
        assert [lr_at(restored, s) for s in steps] == pytest.approx(
            [lr_at(schedule, s) for s in steps])


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
    assert rate(19) == pytest.approx(1.9)            # last warm-up update
    assert rate(20) == pytest.approx(2.0)            # peak: first update of epoch 2
    assert rate(21) == pytest.approx(2.0 * (79 / 80) ** 2)
    assert rate(60) == pytest.approx(2.0 * 0.5**2)   # (1 - 40/80)^2
    assert rate(99) == pytest.approx(2.0 * (1 / 80) ** 2, rel=1e-4)  # the last update still moves
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


def test_polynomial_decay_to_an_end_rate_with_warmup_from_a_start_rate():
    # MLPerf's LARS: poly(2) to 1e-4; Goyal et al.: warm-up from the small-batch rate.
    regime = Regime(batch_size=100, epochs=10, learning_rate=2.0, warmup_epochs=2,
                    polynomial_power=2, end_learning_rate=0.5, warmup_learning_rate=0.2)
    schedule = regime.to_schedule(1000)  # 10 steps per epoch, 100 steps, 20 warm-up
    assert lr_at(schedule, 0) == pytest.approx(0.2)                 # warm-up starts at 0.2
    assert lr_at(schedule, 10) == pytest.approx(0.2 + 1.8 * 10 / 20)
    assert lr_at(schedule, 20) == pytest.approx(2.0)                # peak at the boundary step
    assert lr_at(schedule, 60) == pytest.approx(1.5 * 0.5**2 + 0.5)  # (2-0.5)(1-40/80)^2 + 0.5
    assert lr_at(schedule, 100) == pytest.approx(0.5)               # ends at end_learning_rate
    assert Regime.from_config(regime.get_config()) == regime
    assert "to 0.5" in regime.describe() and "from 0.2" in regime.describe()
    adapted = regime.adapt(200)
    assert (adapted.end_learning_rate, adapted.warmup_learning_rate) == (0.5, 0.2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(end_learning_rate=0.1), "end_learning_rate.*polynomial"),
    (dict(polynomial_power=2, end_learning_rate=3.0), "end_learning_rate.*<= learning_rate"),
    (dict(polynomial_power=2, end_learning_rate=-1.0), "end_learning_rate"),
    (dict(warmup_learning_rate=0.1), "warmup_learning_rate.*warmup_epochs"),
    (dict(warmup_epochs=1, warmup_learning_rate=-0.1), "warmup_learning_rate"),
])
def test_bad_end_and_warmup_rates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Regime(batch_size=100, epochs=10, learning_rate=1.0, **kwargs)


# fit_arguments: whole epochs of S = N // B steps when S divides T = total_steps,
# else steps_per_epoch = the divisor of T nearest S; always epochs * steps_per_epoch == T.
@pytest.mark.parametrize("regime, dataset_size, want", [
    (Regime(1024, 60, 0.1, boundaries=(30, 45)), 2000, (60, 1)),   # S = 1
    (Regime(512, 6, 0.1), 2000, (6, 3)),                            # S = 3, T = 18
    # adapt: 10 * 468 / 14 = 334.29 epochs, T = 4680 = 13 * 360 = 15 * 312: tie -> 13
    (Regime(128, 10, 0.1, boundaries=(6, 8)).adapt(4096, dataset_size=60000), 60000, (360, 13)),
    (Regime(100, 2.5, 0.1), 1000, (5, 5)),                          # T = 25, S = 10: 5 not 25
    (Regime(100, 2.3, 0.1), 1000, (23, 1)),                         # T = 23 prime, S = 10: 1
    (Regime(100, 1.3, 0.1), 1000, (1, 13)),                         # T = 13 prime, S = 10: 13
])
def test_fit_arguments_multiply_to_the_total_steps(regime, dataset_size, want):
    arguments = regime.fit_arguments(dataset_size)
    assert (arguments["epochs"], arguments["steps_per_epoch"]) == want
    assert want[0] * want[1] == regime.total_steps(dataset_size)
    assert all(type(v) is int for v in arguments.values())


def test_fit_arguments_check_the_dataset_size():
    for bad in (0, -5, 2.5, None):
        with pytest.raises(ValueError, match="dataset_size"):
            Regime(100, 2, 0.1).fit_arguments(bad)


def test_docstring_examples():
    import doctest

    from keras_bigbatch.schedules import regime

    result = doctest.testmod(regime, verbose=False)
    assert result.attempted >= 3 and result.failed == 0
