import keras
import numpy as np
import pytest

from keras_bigbatch.schedules import Warmup


def values(schedule, steps):
    return [float(keras.ops.convert_to_numpy(schedule(s))) for s in steps]


def test_config_round_trip_with_nested_schedule():
    inner = keras.optimizers.schedules.PiecewiseConstantDecay([10], [0.4, 0.04])
    warm = Warmup(inner, warmup_steps=5, initial_learning_rate=0.01)
    clone = Warmup.from_config(warm.get_config())
    assert values(clone, range(20)) == pytest.approx(values(warm, range(20)))
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(warm))
    assert isinstance(restored, Warmup)


def test_ramp_then_wrapped_schedule_shifted():
    inner = keras.optimizers.schedules.PiecewiseConstantDecay([3], [0.4, 0.04])
    warm = Warmup(inner, warmup_steps=4)
    # ramp 0 -> 0.4 over 4 steps, then inner(step - 4): 0.4 until inner step 3, then 0.04
    assert values(warm, range(10)) == pytest.approx(
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.4, 0.04, 0.04])


def test_float_target_and_zero_warmup():
    assert values(Warmup(0.2, 2, initial_learning_rate=0.1), [0, 1, 2, 50]) == pytest.approx([0.1, 0.15, 0.2, 0.2])
    assert values(Warmup(0.3, 0), [0, 7]) == pytest.approx([0.3, 0.3])


def test_drives_an_optimizer():
    opt = keras.optimizers.SGD(Warmup(1.0, 4))
    var = keras.Variable(np.zeros(1, "float32"))
    for _ in range(3):
        opt.apply([keras.ops.ones(1)], [var])  # torch's SGD takes tensors, not numpy
    # lr 0.0 + 0.25 + 0.5 applied to gradient 1
    np.testing.assert_allclose(var.numpy(), [-0.75], rtol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(schedule=0.1, warmup_steps=-1), "warmup_steps"),
    (dict(schedule=0.1, warmup_steps=2.5), "warmup_steps"),
    (dict(schedule=-0.1, warmup_steps=2), "schedule"),
    (dict(schedule="fast", warmup_steps=2), "schedule"),
    (dict(schedule=0.1, warmup_steps=2, initial_learning_rate=-1), "initial_learning_rate"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Warmup(**kwargs)
