import os

import keras
import numpy as np
import pytest

from keras_bigbatch.layers import GhostBatchNormalization


def reference(x, virtual_batch_size, gamma, beta, epsilon, channel_axis=-1):
    """Per-ghost-batch batch norm in plain numpy (float64).

    The last ghost batch holds the remainder when `virtual_batch_size` does not
    divide the batch; the returned statistics weight each ghost batch k by its
    rows n_k: sum_k n_k s_k / sum_k n_k (the plain mean when all n_k agree).
    """
    x = x.astype(np.float64)
    axes = tuple(i for i in range(x.ndim) if i != channel_axis % x.ndim)
    shape = [1] * x.ndim
    shape[channel_axis] = x.shape[channel_axis]
    out, means, variances, rows = [], [], [], []
    for start in range(0, len(x), virtual_batch_size):
        g = x[start:start + virtual_batch_size]
        mean = g.mean(axis=axes, keepdims=True)
        var = g.var(axis=axes, keepdims=True)
        out.append((g - mean) / np.sqrt(var + epsilon) * gamma.reshape(shape) + beta.reshape(shape))
        means.append(mean.reshape(-1))
        variances.append(var.reshape(-1))
        rows.append(len(g))
    return (np.concatenate(out), np.average(means, 0, weights=rows),
            np.average(variances, 0, weights=rows))


def numpy(tensor):
    """A layer output as numpy (torch outputs require grad: no np.asarray)."""
    return keras.ops.convert_to_numpy(tensor)


def randomized(layer, features, seed=0):
    rng = np.random.default_rng(seed)
    layer.gamma.assign(rng.uniform(0.5, 2.0, features).astype("float32"))
    layer.beta.assign(rng.normal(size=features).astype("float32"))
    return layer


# --- config and saving -----------------------------------------------------

def test_config_round_trip():
    layer = GhostBatchNormalization(
        16, axis=1, momentum=0.9, epsilon=1e-5, center=False,
        gamma_initializer="he_normal", gamma_regularizer="l2", name="gbn",
    )
    config = layer.get_config()
    clone = GhostBatchNormalization.from_config(config)
    assert clone.get_config() == config
    assert config["virtual_batch_size"] == 16 and config["axis"] == 1


def test_keras_file_round_trip(tmp_path):
    inputs = keras.Input((6,))
    model = keras.Model(inputs, GhostBatchNormalization(4, name="gbn")(inputs))
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    model(x, training=True)  # moves the moving statistics
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("gbn"), GhostBatchNormalization)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(loaded.get_layer("gbn").moving_mean.numpy(),
                               model.get_layer("gbn").moving_mean.numpy())


# --- against what it generalizes, and against numpy -------------------------

@pytest.mark.parametrize("shape", [(32, 7), (16, 5, 5, 3)])
def test_equals_batch_normalization_when_ghost_batch_is_the_batch(shape):
    x = np.random.default_rng(1).normal(2.0, 3.0, shape).astype("float32")
    gbn = GhostBatchNormalization(shape[0], momentum=0.9)
    bn = keras.layers.BatchNormalization(momentum=0.9)
    gbn.build(shape)
    bn.build(shape)
    randomized(gbn, shape[-1])
    bn.gamma.assign(gbn.gamma.numpy())
    bn.beta.assign(gbn.beta.numpy())
    for _ in range(3):
        np.testing.assert_allclose(numpy(gbn(x, training=True)), numpy(bn(x, training=True)), atol=2e-5)
    np.testing.assert_allclose(gbn.moving_mean.numpy(), bn.moving_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(gbn.moving_variance.numpy(), bn.moving_variance.numpy(), rtol=1e-5)
    np.testing.assert_allclose(numpy(gbn(x, training=False)), numpy(bn(x, training=False)), atol=2e-5)


@pytest.mark.parametrize("shape,virtual,axis", [
    ((64, 5), 16, -1),
    ((24, 4, 4, 3), 8, -1),
    ((12, 3, 4, 4), 4, 1),   # channels-first
])
def test_matches_numpy_per_ghost_batch(shape, virtual, axis):
    x = np.random.default_rng(2).normal(1.0, 2.0, shape).astype("float32")
    # Make ghost batches differ so that ghost and full-batch statistics differ.
    x += np.repeat(np.arange(shape[0] // virtual), virtual).reshape((-1,) + (1,) * (len(shape) - 1))
    layer = GhostBatchNormalization(virtual, axis=axis, momentum=0.75, epsilon=1e-3)
    layer.build(shape)
    randomized(layer, shape[axis])
    want, mean, var = reference(x, virtual, layer.gamma.numpy(), layer.beta.numpy(), 1e-3, axis)
    got = numpy(layer(x, training=True))
    np.testing.assert_allclose(got, want, atol=3e-5)
    # moving = 0.75 * init + 0.25 * mean over ghost batches of the ghost statistics
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.25 * mean, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.75 + 0.25 * var, rtol=1e-5)
    full = numpy(keras.layers.BatchNormalization(axis=axis)(x, training=True))
    assert np.abs(got - full).max() > 0.1


# --- a batch that virtual_batch_size does not divide ---------------------------

REMAINDERS = [
    ((10, 3), 4, -1),         # ghosts of 4, 4, 2
    ((3, 2), 4, -1),          # one ghost of 3: the batch is smaller than a ghost
    ((14, 3, 3, 2), 4, -1),   # 4, 4, 4, 2 over the spatial axes too
    ((10, 2, 3, 3), 4, 1),    # channels-first
]


def _shifted(shape, virtual, seed):
    """Inputs whose ghost batches differ (each ghost shifted by 3 x its index),
    so that a wrong cut or a wrong weighting of the ghosts shows."""
    x = np.random.default_rng(seed).normal(1.0, 2.0, shape).astype("float32")
    ghost = np.arange(shape[0]) // virtual
    return x + 3.0 * ghost.reshape((-1,) + (1,) * (len(shape) - 1)).astype("float32")


def _check_remainder(layer, x, got, virtual, axis):
    want, mean, var = reference(x, virtual, layer.gamma.numpy(), layer.beta.numpy(), 1e-3, axis)
    np.testing.assert_allclose(numpy(got), want, atol=3e-5)
    # moving = 0.75 * init + 0.25 * sum_k n_k s_k / sum_k n_k; for (10, 3)
    # and ghost 4: (4 mu_1 + 4 mu_2 + 2 mu_3) / 10, not (mu_1 + mu_2 + mu_3) / 3.
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.25 * mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.75 + 0.25 * var, rtol=1e-5)


@pytest.mark.parametrize("shape,virtual,axis", REMAINDERS)
def test_remainder_is_a_smaller_last_ghost_batch(shape, virtual, axis):
    x = _shifted(shape, virtual, seed=5)
    layer = GhostBatchNormalization(virtual, axis=axis, momentum=0.75)
    layer.build(shape)
    randomized(layer, shape[axis])
    _check_remainder(layer, x, layer(x, training=True), virtual, axis)


def test_remainder_weights_ghosts_by_their_rows():
    # Batch 10, ghost 4: rows 0..3 are 0, rows 4..7 are 0, rows 8..9 are 6.
    # Ghost means 0, 0, 6; weighted (4*0 + 4*0 + 2*6) / 10 = 1.2 (the plain
    # mean over ghosts would be 2.0). Momentum 0: the moving mean is 1.2.
    x = np.zeros((10, 1), "float32")
    x[8:] = 6.0
    layer = GhostBatchNormalization(4, momentum=0.0)
    out = numpy(layer(x, training=True))
    np.testing.assert_allclose(layer.moving_mean.numpy(), [1.2], rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), [0.0], atol=1e-6)
    np.testing.assert_allclose(out, np.zeros((10, 1)), atol=1e-6)  # each ghost is constant


@pytest.mark.tensorflow  # a dynamic batch dimension: tf.function with a None batch
@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("shape,virtual,axis", REMAINDERS)
def test_remainder_with_a_dynamic_batch_in_graph(shape, virtual, axis, jit_compile):
    import tensorflow as tf

    x = _shifted(shape, virtual, seed=6)
    layer = GhostBatchNormalization(virtual, axis=axis, momentum=0.75)
    layer.build((None,) + shape[1:])
    randomized(layer, shape[axis])
    @tf.function(jit_compile=jit_compile, input_signature=[tf.TensorSpec((None,) + shape[1:])])
    def step(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            out = layer(t, training=True)
            loss = tf.reduce_sum(tf.square(out - 1.0))
        return out, tape.gradient(loss, [t, layer.gamma, layer.beta])

    out, grads = step(x)
    _check_remainder(layer, x, out, virtual, axis)
    assert all(np.isfinite(numpy(g)).all() for g in grads)
    # XLA compiles the graph for each batch it sees: a divisible one too,
    # gradients included (a `cond` on the remainder fails to compile there).
    divisible = _shifted((2 * virtual,) + shape[1:], virtual, seed=7)
    assert all(np.isfinite(numpy(g)).all() for g in step(divisible)[1])


def _whole_ghost_formula(layer, x):
    """The layer's training computation as it was before remainders were
    allowed (whole ghost batches only), in the same keras.ops: the divisible
    case must stay bit-identical to it."""
    ops = keras.ops
    grouped = ops.reshape(x, (-1, layer.virtual_batch_size) + tuple(ops.shape(x)[1:]))
    mean, variance = ops.moments(grouped, axes=layer._grouped_reduction_axes, keepdims=True)
    shape = layer._grouped_param_shape
    inv = ops.rsqrt(variance + layer.epsilon) * ops.reshape(layer.gamma, shape)
    out = grouped * inv + (-mean * inv + ops.reshape(layer.beta, shape))
    features = layer.moving_mean.shape
    moving = [v + (ops.reshape(ops.mean(s, axis=0), features) - v) * (1.0 - layer.momentum)
              for v, s in ((layer.moving_mean, mean), (layer.moving_variance, variance))]
    return [numpy(t) for t in [ops.reshape(out, ops.shape(x))] + moving]


@pytest.mark.parametrize("shape,virtual,axis", [((64, 5), 16, -1), ((24, 4, 4, 3), 8, -1),
                                                ((12, 3, 4, 4), 4, 1), ((32, 6), 32, -1)])
def test_divisible_batch_is_bit_identical_to_whole_ghost_formula(shape, virtual, axis):
    x = np.random.default_rng(7).normal(1.0, 2.0, shape).astype("float32")
    layer = GhostBatchNormalization(virtual, axis=axis, momentum=0.75)
    layer.build(shape)
    randomized(layer, shape[axis])
    want = _whole_ghost_formula(layer, x)
    got = [numpy(layer(x, training=True)), layer.moving_mean.numpy(), layer.moving_variance.numpy()]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.tensorflow  # the None-batch graph picks the whole-ghost branch at run time
def test_divisible_batch_is_bit_identical_with_a_dynamic_batch_in_graph():
    import tensorflow as tf

    x = np.random.default_rng(8).normal(1.0, 2.0, (24, 4, 4, 3)).astype("float32")
    layer = GhostBatchNormalization(8, momentum=0.75)
    layer.build((None, 4, 4, 3))
    randomized(layer, 3)
    want = _whole_ghost_formula(layer, x)
    step = tf.function(lambda t: layer(t, training=True),
                       input_signature=[tf.TensorSpec((None, 4, 4, 3))])
    got = [numpy(step(x)), layer.moving_mean.numpy(), layer.moving_variance.numpy()]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_fit_with_a_partial_last_batch():
    # 1000 examples, batch 256: batches of 256, 256, 256 and 232; ghost 64:
    # the last batch's ghosts hold 64, 64, 64 and 40 rows. GBN sees the
    # inputs themselves, so its moving statistics replay in numpy.
    rng = np.random.default_rng(9)
    x = (rng.normal(size=(1000, 4)) * [1.0, 2.0, 3.0, 4.0] + np.arange(1000)[:, None] / 100.0)
    x, y = x.astype("float32"), rng.integers(0, 2, 1000)
    gbn = GhostBatchNormalization(64, momentum=0.5)
    model = keras.Sequential([keras.Input((4,)), gbn, keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=256, epochs=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert int(model.optimizer.iterations) == 8
    mean, var = np.zeros(4), np.ones(4)
    for _ in range(2):
        for start in range(0, 1000, 256):
            _, m, v = reference(x[start:start + 256], 64, np.ones(4), np.zeros(4), 1e-3)
            mean, var = 0.5 * mean + 0.5 * m, 0.5 * var + 0.5 * v
    np.testing.assert_allclose(gbn.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gbn.moving_variance.numpy(), var, rtol=1e-5)
    # Inference (a partial last batch of 232 as well) uses the moving statistics.
    normalized = ((x - gbn.moving_mean.numpy()) / np.sqrt(gbn.moving_variance.numpy() + 1e-3)
                  * gbn.gamma.numpy() + gbn.beta.numpy())
    dense = model.layers[-1]
    want = normalized @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(model.predict(x, batch_size=256, verbose=0), want, rtol=1e-4, atol=1e-4)
    assert np.isfinite(model.evaluate(x, y, batch_size=256, verbose=0))


def test_inference_uses_moving_statistics_for_any_batch_size():
    layer = GhostBatchNormalization(4)
    layer.build((None, 2))
    layer.moving_mean.assign([1.0, -1.0])
    layer.moving_variance.assign([4.0, 1.0])
    x = np.array([[3.0, 0.0], [1.0, -1.0], [5.0, 1.0]], "float32")  # 3: not a multiple of 4
    want = (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 1.0]) + 1e-3)
    np.testing.assert_allclose(numpy(layer(x, training=False)), want, atol=1e-6)
    np.testing.assert_allclose(numpy(layer(x)), want, atol=1e-6)


def test_not_trainable_behaves_as_inference():
    layer = GhostBatchNormalization(2)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    layer.build(x.shape)
    layer.trainable = False
    np.testing.assert_allclose(numpy(layer(x, training=True)), numpy(layer(x, training=False)))
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))


# --- dtypes and compilation -------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_inputs_keep_float32_statistics(dtype):
    layer = GhostBatchNormalization(8, dtype=f"mixed_{dtype}")
    x = np.random.default_rng(3).normal(300.0, 50.0, (16, 4)).astype("float32")
    out = layer(keras.ops.cast(x, dtype), training=True)
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    assert layer.moving_mean.dtype == "float32"
    got = keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))
    assert np.isfinite(got).all()
    seen = keras.ops.convert_to_numpy(keras.ops.cast(keras.ops.cast(x, dtype), "float32"))
    want, _, _ = reference(seen, 8, np.ones(4), np.zeros(4), 1e-3)
    np.testing.assert_allclose(got, want, atol=0.05)


@pytest.mark.parametrize("policy", ["float32", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16"])
def test_moving_statistics_are_float32_under_every_dtype_policy(policy):
    layer = GhostBatchNormalization(4, momentum=0.5, dtype=policy)
    x = np.random.default_rng(4).normal(3.0, 2.0, (8, 3)).astype("float32")
    out = layer(x, training=True)
    assert layer.moving_mean.dtype == "float32"
    assert layer.moving_variance.dtype == "float32"
    assert keras.backend.standardize_dtype(out.dtype) == layer.compute_dtype
    # One update with momentum 0.5 from (0, 1), on the inputs as the layer
    # sees them (cast to its compute dtype), statistics in float32:
    # moving = 0.5 * init + 0.5 * mean over ghost batches of the ghost statistics.
    seen = np.asarray(keras.ops.convert_to_numpy(
        keras.ops.cast(keras.ops.cast(x, layer.compute_dtype), "float32")))
    _, mean, var = reference(seen, 4, np.ones(3), np.zeros(3), 1e-3)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 + 0.5 * var, rtol=1e-5)
    inference = layer(x, training=False)
    assert keras.backend.standardize_dtype(inference.dtype) == layer.compute_dtype
    assert np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(inference, "float32"))).all()


def test_fit_with_jit_compile():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8),
                              GhostBatchNormalization(8), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert np.abs(model.layers[1].moving_mean.numpy()).sum() > 0


# --- bad input ----------------------------------------------------------------

def _replica_step(strategy, layer, dataset):
    import tensorflow as tf

    distributed = strategy.experimental_distribute_dataset(dataset)

    # The signature keeps a None batch when the dataset has one.
    @tf.function(input_signature=[distributed.element_spec])
    def step(batch):
        return strategy.run(lambda b: layer(b, training=True), args=(batch,))

    for batch in distributed:
        step(batch)


@pytest.mark.tensorflow
def test_per_replica_batch_not_divisible_static_under_a_strategy(mirrored):
    import tensorflow as tf

    with mirrored.scope():
        layer = GhostBatchNormalization(8)
        layer.build((None, 3))
    data = tf.data.Dataset.from_tensor_slices(np.zeros((24, 3), "float32")).batch(24, drop_remainder=True)
    with pytest.raises(ValueError, match=r"2 replicas, the per-replica batch size \(12\) must be "
                                         r"divisible by `virtual_batch_size` \(8\)"):
        _replica_step(mirrored, layer, data)


@pytest.mark.tensorflow  # a dynamic batch dimension: a dataset without drop_remainder
def test_per_replica_batch_not_divisible_dynamic_under_a_strategy(mirrored):
    import tensorflow as tf

    with mirrored.scope():
        layer = GhostBatchNormalization(8)
        layer.build((None, 3))
    # Batches of 32 (16 per replica) then 24 (12 per replica).
    data = tf.data.Dataset.from_tensor_slices(np.zeros((56, 3), "float32")).batch(32)
    assert data.element_spec.shape[0] is None
    with pytest.raises(tf.errors.InvalidArgumentError, match="virtual_batch_size"):
        _replica_step(mirrored, layer, data)


@pytest.mark.parametrize("kwargs,match", [
    (dict(virtual_batch_size=0), "virtual_batch_size"),
    (dict(virtual_batch_size=2.5), "virtual_batch_size"),
    (dict(virtual_batch_size=8, momentum=1.0), "momentum"),
    (dict(virtual_batch_size=8, epsilon=0.0), "epsilon"),
    (dict(virtual_batch_size=8, axis=0), "axis"),
    (dict(virtual_batch_size=8, axis=[1, 2]), "axis"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GhostBatchNormalization(**kwargs)


def test_axis_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        GhostBatchNormalization(2, axis=3).build((4, 3))


# --- distribution ---------------------------------------------------------------

def _moving_means_per_replica(strategy, layer_cls, **kwargs):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    # Replica 0 sees data centred at 0, replica 1 at 10: unsynchronized
    # statistics would drift apart at once.
    x = np.concatenate([rng.normal(0, 1, (16, 4)), rng.normal(10, 1, (16, 4))]).astype("float32")
    with strategy.scope():
        layer = layer_cls(momentum=0.5, **kwargs)
        layer.build((None, 4))
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(x).batch(32))

    @tf.function
    def step(batch):
        strategy.run(lambda b: layer(b, training=True), args=(batch,))

    for _ in range(3):
        for batch in ds:
            step(batch)
    return [v.numpy() for v in strategy.experimental_local_results(layer.moving_mean.value)]


@pytest.mark.tensorflow
def test_moving_statistics_identical_across_replicas(mirrored):
    ghost = _moving_means_per_replica(mirrored, GhostBatchNormalization, virtual_batch_size=8)
    np.testing.assert_array_equal(ghost[0], ghost[1])
    # The synchronized value is the mean of both replicas: ~ (0 + 10) / 2 * (1 - 0.5**3).
    np.testing.assert_allclose(ghost[0], 5.0 * (1 - 0.5 ** 3), atol=0.6)


@pytest.mark.tensorflow
def test_keras_batch_normalization_drifts_for_contrast(mirrored):
    plain = _moving_means_per_replica(mirrored, keras.layers.BatchNormalization)
    assert np.abs(plain[0] - plain[1]).max() > 1.0
