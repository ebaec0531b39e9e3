"""Keras's own `model.fit` on 2 replicas equals `model.fit` on one device.

The distributed run is fed like the trainer feeds it: a
`distribute_datasets_from_function` dataset whose replicas, together, see
exactly the global batch a single device sees at every step. Equality is
the property that large-batch training needs: `fit` on R replicas with a
global batch B takes the same steps as `fit` on one device with batch B.

What "equal" means for batch normalization:

* `keras.layers.BatchNormalization(synchronized=True)` all-reduces the
  batch statistics, so on R replicas it normalizes over the global batch and
  updates the moving statistics from them: equal to one-device
  `BatchNormalization` (moving statistics included). With the default
  `synchronized=False` each replica normalizes its own per-replica batch.
* `GhostBatchNormalization(v)` with `v` dividing the per-replica batch cuts
  the same consecutive examples into the same ghost batches on R replicas
  and on one device, and all-reduces its moving statistics: equal.

Helpers here are shared with the two-process test
(`multi_worker_fit_test.py`).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bigbatch.data import load_digits
from keras_bigbatch.data import make_dataset
from keras_bigbatch.distribute import enable_multi_worker_fit
from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.optimizers import LARS

GLOBAL_BATCH_SIZE = 64
STEPS = 5
SEED = 3
NORMALIZATIONS = ("batch_norm", "ghost_batch_norm")
OPTIMIZERS = ("sgd", "lars")


def digits():
    (x, y), _ = load_digits()
    return x[:512], y[:512]


def make_optimizer(name):
    if name == "sgd":
        return keras.optimizers.SGD(0.1, momentum=0.9)
    return LARS(1.0, momentum=0.9, trust_coefficient=0.01, weight_decay=1e-4)


def make_normalization(name, distributed):
    if name == "batch_norm":
        return keras.layers.BatchNormalization(momentum=0.9, synchronized=distributed)
    if name == "unsynchronized_batch_norm":  # Keras's default
        return keras.layers.BatchNormalization(momentum=0.9)
    # Both divide the per-replica batch (64 / 2 = 32).
    sizes = {"ghost_batch_norm": 16, "ghost_batch_norm_32": 32}
    return GhostBatchNormalization(sizes[name], momentum=0.9)


def make_model(normalization, optimizer, distributed, seed=0):
    """Digits MLP with seeded numpy initial weights; build under the scope."""
    model = keras.Sequential([
        keras.Input((8, 8)),
        keras.layers.Flatten(),
        keras.layers.Dense(32, use_bias=False),
        make_normalization(normalization, distributed),
        keras.layers.Activation("relu"),
        keras.layers.Dense(10),
    ])
    rng = np.random.default_rng(seed)
    model.set_weights([
        rng.normal(0.0, w.shape[0] ** -0.5, w.shape).astype("float32")
        if len(w.shape) == 2 else keras.ops.convert_to_numpy(w)
        for w in model.weights
    ])
    model.compile(
        make_optimizer(optimizer),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


def dataset_fn(x, y, seed=SEED):
    """This worker's per-replica batches of every global batch, in order."""

    def fn(context):
        dataset = make_dataset(
            x, y, GLOBAL_BATCH_SIZE, seed=seed, repeat=True,
            shard=(context.input_pipeline_id, context.num_input_pipelines),
        )
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.OFF
        )
        per_replica = context.get_per_replica_batch_size(GLOBAL_BATCH_SIZE)
        return dataset.rebatch(per_replica).with_options(options)

    return fn


def fit(strategy, normalization, optimizer, steps=STEPS):
    """`model.fit` for `steps` steps; `strategy=None` means one device.

    Returns (model, History dict, initial weights).
    """
    x, y = digits()
    if strategy is None:
        model = make_model(normalization, optimizer, distributed=False)
        data = make_dataset(x, y, GLOBAL_BATCH_SIZE, seed=SEED, repeat=True)
    else:
        with strategy.scope():
            model = make_model(normalization, optimizer, distributed=True)
        data = strategy.distribute_datasets_from_function(dataset_fn(x, y))
    initial = model.get_weights()
    history = model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    return model, history.history, initial


def max_abs_difference(a, b):
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))


@pytest.fixture(autouse=True, scope="module")
def _fix():
    # Process-wide and a no-op under MirroredStrategy; enabled here to show
    # it changes nothing there (the trainer enables it under multi-worker).
    enable_multi_worker_fit()


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_two_replicas_equal_one_device(mirrored, normalization, optimizer):
    single, single_logs, initial = fit(None, normalization, optimizer)
    dist, dist_logs, _ = fit(mirrored, normalization, optimizer)
    assert max_abs_difference(single.get_weights(), initial) > 0.1  # it trained
    names = [w.path for w in single.weights]
    assert any("moving_mean" in n for n in names)
    for name, a, b in zip(names, single.get_weights(), dist.get_weights()):
        # Measured max |difference| <= 2.4e-7 over all four cases.
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(dist_logs["loss"], single_logs["loss"], rtol=1e-5)
    np.testing.assert_allclose(dist_logs["accuracy"], single_logs["accuracy"], rtol=1e-6)


def test_unsynchronized_batch_norm_normalizes_each_replica_batch(mirrored):
    # Keras's default BatchNormalization on 2 replicas trains like one-device
    # ghost batch norm over the per-replica batches (ghost size 32), but each
    # replica keeps and updates its own moving statistics.
    single, _, _ = fit(None, "ghost_batch_norm_32", "sgd")
    dist, _, _ = fit(mirrored, "unsynchronized_batch_norm", "sgd")
    for a, b in zip(single.trainable_weights, dist.trainable_weights):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(b), keras.ops.convert_to_numpy(a), rtol=1e-5, atol=1e-6)
    moving_mean = dist.layers[2].moving_mean.value
    first, second = mirrored.experimental_local_results(moving_mean)
    assert np.max(np.abs(first.numpy() - second.numpy())) > 1e-3


def test_first_update_is_the_full_single_device_update(mirrored):
    # The hand loop this replaces divided the loss by the replicas twice:
    # its first update was 0.5x the one-device update (1/R of the rate).
    single, _, start = fit(None, "batch_norm", "sgd", steps=1)
    dist, _, _ = fit(mirrored, "batch_norm", "sgd", steps=1)
    for a, b, w0 in zip(single.get_weights(), dist.get_weights(), start):
        single_step, dist_step = a - w0, b - w0
        if np.any(single_step):
            ratio = np.vdot(dist_step, single_step) / np.vdot(single_step, single_step)
            assert abs(ratio - 1.0) < 1e-4, ratio


def test_mixed_float16_stays_finite_and_close(mirrored):
    reference, _, _ = fit(mirrored, "ghost_batch_norm", "sgd")
    keras.config.set_dtype_policy("mixed_float16")
    try:
        half, logs, _ = fit(mirrored, "ghost_batch_norm", "sgd")
    finally:
        keras.config.set_dtype_policy("float32")
    assert isinstance(half.optimizer, keras.optimizers.LossScaleOptimizer)
    assert np.all(np.isfinite(logs["loss"]))
    for a, b in zip(reference.get_weights(), half.get_weights()):
        assert np.all(np.isfinite(b))
        # Measured max |difference| 2.3e-4 after 5 steps (loss scale 2**15
        # throughout, no skipped step).
        np.testing.assert_allclose(b, a, atol=2e-3)
