"""MLPerfPolynomialDecay against the reference it transcribes, at every update.

The reference is Google's MLPerf ResNet-50 LARS code, written out here in
numpy as the TensorFlow graph computes it (float32):
mlcommons/training_results_v1.0@50619b5d, Google/benchmarks/resnet/
implementations/resnet-preview-TF-tpu-v4-4096/lars_util.py
(`compute_lars_hp`, `poly_rate_schedule`) and resnet_main.py
(`current_epoch`), and tf.compat.v1.train.polynomial_decay (cycle=False);
the v0.7 TPU v3-8192 run (training_results_v0.7@0a8a85a2) has the same code.
"""

import keras
import numpy as np
import pytest

from keras_bigbatch.schedules import MLPerfPolynomialDecay
from keras_bigbatch.schedules import Regime

N = 1_281_167


def lars_util_rate(step, base_lr, w_epochs, train_steps, batch_size, end_lr=1e-4, power=2.0):
    """poly_rate_schedule(current_epoch, lars_hp) at global_step `step` (float32)."""
    f = np.float32
    step = np.asarray(step, np.int64)
    w_steps = w_epochs * N // batch_size                       # compute_lars_hp
    current_epoch = step.astype(f) / f(N / batch_size)         # resnet_main.py
    wrate = f(base_lr) * current_epoch / f(w_epochs)
    decay_steps = np.maximum(np.int64(1), step - np.int64(w_steps))
    length = f(train_steps - w_steps + 1)
    p = np.minimum(decay_steps.astype(f), length) / length     # polynomial_decay, cycle=False
    poly = (f(base_lr) - f(end_lr)) * np.power(f(1) - p, f(power)) + f(end_lr)
    return np.where(current_epoch <= f(w_epochs), wrate, poly)


RUNS = {  # run_and_time.sh flags: train_batch_size, lars_base_learning_rate,
    # lars_warmup_epochs, train_steps
    "v1.0 TPU v4-4096": (32768, 29.0, 18, 2355),
    "v0.7 TPU v3-8192": (65536, 24.699, 31, 1738),
}


def _rates(schedule, steps):
    return np.array([float(keras.ops.convert_to_numpy(schedule(t))) for t in steps])


@pytest.mark.parametrize("run", sorted(RUNS))
def test_every_update_equals_the_reference(run):
    batch, base, warmup, train_steps = RUNS[run]
    schedule = Regime(batch, 60, base, warmup_epochs=warmup, polynomial_power=2,
                      end_learning_rate=1e-4, updates=train_steps,
                      convention="mlperf").to_schedule(N)
    steps = np.arange(train_steps)
    ours, reference = _rates(schedule, steps), lars_util_rate(steps, base, warmup, train_steps,
                                                              batch)
    assert ours[0] == reference[0] == 0.0
    np.testing.assert_allclose(ours[1:], reference[1:], rtol=1e-6, atol=0)


def test_the_boundary_updates_themselves():
    lr = MLPerfPolynomialDecay(29.0, 2355, 18, N, 32768)
    assert (lr.warmup_steps, lr.decay_steps) == (703, 1653)
    spe = N / 32768
    rates = _rates(lr, [702, 703, 704, 2354])
    # t = 703 is epoch 17.98 <= 18: still warm-up, below the peak
    assert rates[0] == pytest.approx(29.0 * 702 / spe / 18, rel=1e-6)
    assert rates[1] == pytest.approx(29.0 * 703 / spe / 18, rel=1e-6) and rates[1] < 29.0
    # t = 704, the first decayed update, uses counter max(1, 704 - 703) = 1 of 1653
    assert rates[2] == pytest.approx((29.0 - 1e-4) * (1 - 1 / 1653) ** 2 + 1e-4, rel=1e-6)
    # the last update, t = 2354, is counter 1651: two short of 1653, above end_lr
    assert rates[3] == pytest.approx((29.0 - 1e-4) * (2 / 1653) ** 2 + 1e-4, rel=1e-5)


def test_the_package_convention_differs_from_the_reference():
    # What the recipe trained before it followed its source: 60 x 39 = 2340
    # updates, warm-up over round(18 x 39) = 702, decay from counter 0.
    ours = Regime(32768, 60, 29.0, warmup_epochs=18, polynomial_power=2,
                  end_learning_rate=1e-4).to_schedule(N)
    assert _rates(ours, [1, 1500]) == pytest.approx([29.0 / 702, 7.6266], rel=1e-4)
    assert lars_util_rate(np.array([1, 1500]), 29.0, 18, 2355, 32768) == pytest.approx(
        [0.0412069, 7.776854], rel=1e-6)


def test_serialization_round_trip():
    lr = MLPerfPolynomialDecay(24.699, 1738, 31, N, 65536)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lr))
    assert restored.get_config() == lr.get_config()
    assert _rates(restored, [0, 606, 607, 1737]) == pytest.approx(_rates(lr, [0, 606, 607, 1737]))


@pytest.mark.parametrize("kwargs, match", [
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"total_steps": 0}, "total_steps"),
    ({"warmup_epochs": 61}, r"`warmup_epochs` must end before the last update: 61 epochs are "
                            r"2384 updates of total_steps=2355"),
    ({"end_learning_rate": 30.0}, "end_learning_rate"),
])
def test_bad_arguments_are_named(kwargs, match):
    arguments = dict(learning_rate=29.0, total_steps=2355, warmup_epochs=18, dataset_size=N,
                     batch_size=32768)
    with pytest.raises(ValueError, match=match):
        MLPerfPolynomialDecay(**{**arguments, **kwargs})


def test_regime_refuses_the_convention_without_its_schedule():
    with pytest.raises(ValueError, match=r"`convention`='mlperf' is MLPerf's LARS schedule"):
        Regime(32768, 60, 29.0, boundaries=(30,), convention="mlperf")
    with pytest.raises(ValueError, match=r"length in `updates` \(--train_steps\)"):
        Regime(32768, 60, 29.0, warmup_epochs=18, polynomial_power=2, convention="mlperf")
    with pytest.raises(ValueError, match=r"convention.*whole_steps.*mlperf"):
        Regime(32768, 60, 29.0, convention="tpu")
    with pytest.raises(ValueError, match="updates"):
        Regime(32768, 60, 29.0, updates=0)
