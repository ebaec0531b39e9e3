"""GradientNoiseScale against the exact B_simple of a finite least-squares problem."""

import glob
import os
import tempfile

import keras
import numpy as np
import pytest

from keras_bigbatch.callbacks import BatchSizeScheduler
from keras_bigbatch.callbacks import GradientNoiseScale
from keras_bigbatch.callbacks.gradient_noise_scale import noise_scale_estimates

N = 20000


def problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 5)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + rng.normal(size=N)).astype("float32")[:, None]
    return x, y


def linear_model(kernel):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, use_bias=False)])
    model.layers[0].kernel.assign(np.asarray(kernel, "float32").reshape(5, 1))
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


def exact_b_simple(x, y, kernel):
    # per-sample gradient of (w.x - y)^2: 2 (w.x - y) x
    residual = x.astype(np.float64) @ kernel - y[:, 0]
    per_sample = 2 * residual[:, None] * x
    mean = per_sample.mean(axis=0)
    trace = ((per_sample - mean) ** 2).sum(axis=1).mean()
    return trace / (mean @ mean)


def test_estimator_formulas_recover_known_moments():
    # |G_b|^2 = |G|^2 + tr/b exactly in expectation: feed the expectations
    g2, trace, b, big = 2.0, 300.0, 16, 256
    got = noise_scale_estimates(g2 + trace / b, g2 + trace / big, b, big)
    assert got == pytest.approx((g2, trace))


def test_measures_the_exact_critical_batch_size():
    x, y = problem()
    kernel = np.array([0.8, -1.5, 0.0, 0.3, 2.0])
    want = exact_b_simple(x, y, kernel)  # about 50 for this kernel
    probe = GradientNoiseScale(x, y, batch_size=512, micro_batch_size=32, ema=0.98)
    probe.set_model(linear_model(kernel))
    for _ in range(200):
        got = probe.measure()
    assert got == pytest.approx(want, rel=0.1)


def test_logs_history_and_tensorboard():
    x, y = problem()
    model = linear_model(np.zeros(5))
    gns = GradientNoiseScale(x, y, batch_size=256, micro_batch_size=32, every=10)
    # Keras' TensorBoard callback writes with tf.summary: TensorFlow backend only
    tensorboard = keras.backend.backend() == "tensorflow"
    with tempfile.TemporaryDirectory() as folder:
        callbacks = [gns, keras.callbacks.TensorBoard(folder)] if tensorboard else [gns]
        history = model.fit(x, y, batch_size=200, epochs=2, verbose=0, callbacks=callbacks).history
        assert len(history["gradient_noise_scale"]) == 2
        assert np.isfinite(history["gradient_noise_scale"]).all()
        assert gns.history["step"] == list(range(10, 200, 10))  # after 10, 20, ... updates
        if not tensorboard:
            return
        import tensorflow as tf

        tags = set()
        for path in glob.glob(os.path.join(folder, "train", "*")):
            for event in tf.compat.v1.train.summary_iterator(path):
                tags.update(v.tag for v in event.summary.value)
        assert "epoch_gradient_noise_scale" in tags


@pytest.mark.tensorflow  # make_scheduled_dataset: tf.data
def test_adaptive_mode_grows_the_batch_within_bounds():
    from keras_bigbatch.data import make_scheduled_dataset

    x, y = problem()
    model = linear_model(np.zeros(5))
    scheduler = BatchSizeScheduler({0: 32})
    gns = GradientNoiseScale(x[:4000], y[:4000], batch_size=512, micro_batch_size=32, every=20, ema=0.5,
                             scheduler=scheduler, max_batch_size=256, multiple_of=32)
    data = make_scheduled_dataset(x[:4000], y[:4000], scheduler)
    history = model.fit(data, epochs=4, verbose=0, callbacks=[scheduler, gns]).history
    sizes = history["batch_size"]
    assert sizes[0] == 32 and sizes == sorted(sizes) and max(sizes) <= 256
    assert all(s % 32 == 0 for s in sizes) and sizes[-1] > 32
    # near the optimum the noise dominates: B_simple grows past the bound
    assert gns.history["b_simple"][-1] > gns.history["b_simple"][0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=64, micro_batch_size=64), "micro_batch_size"),
    (dict(batch_size=64, micro_batch_size=24), "micro_batch_size"),
    (dict(batch_size=64, every=0), "every"),
    (dict(batch_size=64, ema=1.0), "ema"),
    (dict(batch_size=N + 1), "batch_size"),
    (dict(batch_size=64, scheduler=BatchSizeScheduler(lambda e: 32)), "dict schedule"),
    (dict(batch_size=64, scheduler=BatchSizeScheduler({0: 32})), "max_batch_size"),
])
def test_bad_arguments(kwargs, match):
    x, y = problem()
    with pytest.raises(ValueError, match=match):
        GradientNoiseScale(x, y, **kwargs)
