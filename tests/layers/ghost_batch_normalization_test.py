import os

import keras
import numpy as np
import pytest

from keras_bigbatch.layers import GhostBatchNormalization


def reference(x, virtual_batch_size, gamma, beta, epsilon, channel_axis=-1):
    """Per-ghost-batch batch norm in plain numpy (float64)."""
    x = x.astype(np.float64)
    axes = tuple(i for i in range(x.ndim) if i != channel_axis % x.ndim)
    shape = [1] * x.ndim
    shape[channel_axis] = x.shape[channel_axis]
    out, means, variances = [], [], []
    for start in range(0, len(x), virtual_batch_size):
        g = x[start:start + virtual_batch_size]
        mean = g.mean(axis=axes, keepdims=True)
        var = g.var(axis=axes, keepdims=True)
        out.append((g - mean) / np.sqrt(var + epsilon) * gamma.reshape(shape) + beta.reshape(shape))
        means.append(mean.reshape(-1))
        variances.append(var.reshape(-1))
    return np.concatenate(out), np.mean(means, 0), np.mean(variances, 0)


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

def test_batch_not_divisible_static():
    layer = GhostBatchNormalization(8)
    with pytest.raises(ValueError, match=r"per-replica batch size \(12\) must be divisible by `virtual_batch_size` \(8\)"):
        layer(np.zeros((12, 3), "float32"), training=True)


@pytest.mark.tensorflow  # a dynamic batch dimension: tf.function with a None batch
def test_batch_not_divisible_dynamic_in_graph():
    import tensorflow as tf

    layer = GhostBatchNormalization(8)
    layer.build((None, 3))

    @tf.function(input_signature=[tf.TensorSpec((None, 3))])
    def step(x):
        return layer(x, training=True)

    step(tf.zeros((16, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="virtual_batch_size"):
        step(tf.zeros((12, 3)))


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
