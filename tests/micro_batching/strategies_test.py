"""Micro-batching under real data parallelism equals one big batch on one device.

A global batch of 32 rows over 2 replicas is 16 rows per replica; with
`micro_batch(model, 8)` each replica runs k = 16 / 8 = 2 forward/backward
passes per update. What defines correctness is one device running Keras's
own step on the same global batches (no micro-batching):

```
micro-batched, R replicas:  w <- opt(w, mean over replicas r and passes j of g_rj)
one device:                 w <- opt(w, g of the whole batch of 32)
```

equal weights and moving statistics after 5 updates (rtol 1e-5, atol 1e-6:
the atol covers float32 round-off of weights near 0), `optimizer.iterations`
5. The model has `GhostBatchNormalization(4)`: a ghost batch is 4
consecutive rows of the global batch, so a split that puts other rows
together (a wrong interleave) changes the ghost statistics and fails.

* TensorFlow `MirroredStrategy` over 2 logical CPUs (the `mirrored`
  fixture), fed a tf.data dataset of the same arrays; SGD with momentum and
  LARS. `jit_compile=False`: XLA under a multi-device Mirrored fails on CPU.
* `MultiWorkerMirroredStrategy` of two real processes on 127.0.0.1, one CPU
  replica each (`_multi_worker_main.py`), LARS; about 25 s on 2 busy
  cores, most of it importing TensorFlow.
* JAX `keras.distribution.DataParallel` over 2 host CPUs (KERAS_BACKEND=jax,
  XLA_FLAGS=--xla_force_host_platform_device_count=2, as
  scripts/test_without_tensorflow.sh runs it); SGD and LARS. The step sees
  the global batch, device r holding rows [16 r, 16 r + 16); each pass must
  be 16 rows laid out 8 on each device (the probe records the layout the
  model sees). A split into contiguous blocks of 16 gives the same numbers
  but runs each pass on one device's rows, replicated: only the layout
  check sees it.

This module imports no TensorFlow at the top (the TF-free job runs the JAX
test), so `tests/distribute/fit_equality_test.py`'s helpers, which import
tf, are not imported here; the model and optimizers follow them.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.micro_batching import micro_batch
from keras_bigbatch.optimizers import LARS
from tests.multi_process import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GLOBAL_BATCH_SIZE = 32
REPLICAS = 2
MICRO_BATCH_SIZE = 8  # per replica: k = 32 / (2 * 8) = 2 passes per update
GHOST = 4
UPDATES = 5
FEATURES = 6
RTOL, ATOL = 1e-5, 1e-6
OPTIMIZERS = ("sgd", "lars")


class PassProbe(keras.layers.Layer):
    """Identity that counts training passes and records each pass's rows.

    `passes` and `rows` are int32, so micro-batching chains them (each pass
    continues from the last): after one update `passes` grew by k and `rows`
    holds the rows the model saw in one pass. On JAX, `shardings` gets the
    layout of the input the model sees (once per trace).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shardings = []

    def build(self, input_shape):
        kwargs = dict(shape=(), dtype="int32", initializer="zeros", trainable=False)
        self.passes = self.add_weight(name="passes", **kwargs)
        self.rows = self.add_weight(name="rows", **kwargs)

    def call(self, x, training=None):
        if training:
            self.passes.assign(self.passes + 1)
            self.rows.assign(ops.cast(ops.shape(x)[0], "int32"))
            if keras.backend.backend() == "jax":
                import jax

                jax.debug.inspect_array_sharding(x, callback=self.shardings.append)
        return x


def data():
    """5 global batches of 32 rows: inputs, and labels of a random teacher."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(GLOBAL_BATCH_SIZE * UPDATES, FEATURES)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(FEATURES, 3)), axis=1).astype("int32")
    return x, y


def make_optimizer(name):
    """fit_equality_test's two optimizers: momentum SGD, and LARS."""
    if name == "sgd":
        return keras.optimizers.SGD(0.1, momentum=0.9)
    return LARS(1.0, momentum=0.9, trust_coefficient=0.01, weight_decay=1e-4)


def make_model(optimizer, jit_compile="auto"):
    """Probe -> Dense -> GhostBatchNormalization(4) -> ReLU -> Dense, seeded
    numpy weights (the same under every strategy); build under the scope."""
    model = keras.Sequential([
        keras.Input((FEATURES,)),
        PassProbe(),
        keras.layers.Dense(16, use_bias=False),
        GhostBatchNormalization(GHOST, momentum=0.9),
        keras.layers.ReLU(),
        keras.layers.Dense(3),
    ])
    rng = np.random.default_rng(0)
    model.set_weights([
        rng.normal(0.0, w.shape[0] ** -0.5, w.shape).astype("float32")
        if len(w.shape) == 2 else ops.convert_to_numpy(w)
        for w in model.weights
    ])
    model.compile(make_optimizer(optimizer),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    return model


def one_device(optimizer, jit_compile="auto"):
    """The reference: Keras's own step, batches of 32 in order, one device.

    Returns the model and its float weights before training."""
    x, y = data()
    model = make_model(optimizer, jit_compile)
    initial = float_weights(model)
    model.fit(x, y, batch_size=GLOBAL_BATCH_SIZE, shuffle=False, epochs=1, verbose=0)
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == UPDATES
    assert int(ops.convert_to_numpy(model.layers[0].passes)) == UPDATES  # one pass per update
    assert int(ops.convert_to_numpy(model.layers[0].rows)) == GLOBAL_BATCH_SIZE
    return model, initial


def float_weights(model):
    """`[(path, array)]` of the float weights, in order (the probe's counters
    left out)."""
    return [(w.path, ops.convert_to_numpy(w.value))
            for w in model.weights if keras.backend.is_float_dtype(w.dtype)]


def assert_same_weights(got, want, initial):
    """`got` (arrays) equals `want` (`[(path, array)]`), which trained away
    from `initial`; moving statistics included.

    Returns the largest |got - want| and the largest relative difference
    |got - want| / |want| over the entries with |want| > 100 atol.
    """
    assert sum("moving_" in path for path, _ in want) == 2
    assert len(got) == len(want) == len(initial)
    assert max(float(np.max(np.abs(w - w0))) for (_, w), (_, w0) in zip(want, initial)) > 0.05
    largest, relative = 0.0, 0.0
    for actual, (path, expected) in zip(got, want):
        np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=path)
        difference = np.abs(actual - expected)
        largest = max(largest, float(np.max(difference)))
        big = np.abs(expected) > 100 * ATOL
        if np.any(big):
            relative = max(relative, float(np.max(difference[big] / np.abs(expected[big]))))
    return largest, relative


# ---------------------------------------------------------------------------
# tf.distribute.MirroredStrategy, 2 logical CPUs in this process


@pytest.mark.tensorflow
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_mirrored_equals_one_device_big_batch(mirrored, optimizer):
    from keras_bigbatch.data import make_dataset

    assert mirrored.num_replicas_in_sync == REPLICAS
    want, initial = one_device(optimizer, jit_compile=False)
    with mirrored.scope():
        model = make_model(optimizer, jit_compile=False)
    micro_batch(model, MICRO_BATCH_SIZE)
    x, y = data()
    # Keras hands replica r rows [16 r, 16 r + 16) of every global batch. An
    # endless stream and steps_per_epoch, as the trainer feeds fit: at the end
    # of a finite dataset, Mirrored on CPU sometimes starts a 6th step (even
    # with Keras's own step: optimizer.iterations 6).
    dataset = make_dataset(x, y, GLOBAL_BATCH_SIZE, shuffle=False, repeat=True)
    model.fit(dataset, epochs=1, steps_per_epoch=UPDATES, verbose=0)
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == UPDATES
    probe = model.layers[0]
    for passes, rows in zip(mirrored.experimental_local_results(probe.passes.value),
                            mirrored.experimental_local_results(probe.rows.value)):
        # Each replica: 2 passes of 8 rows per update.
        assert (int(passes), int(rows)) == (2 * UPDATES, MICRO_BATCH_SIZE)
    # Measured: max |difference| 1.2e-7 (sgd), 2.4e-7 (lars); relative 1.0e-6, 6.0e-6
    # (LARS: a gamma of 0.02 off by 1.2e-7, float32 round-off of its update).
    assert_same_weights([a for _, a in float_weights(model)], float_weights(want), initial)


# ---------------------------------------------------------------------------
# tf.distribute.MultiWorkerMirroredStrategy, 2 processes on 127.0.0.1


def run_workers(out_dir):
    """Runs `_multi_worker_main.py` as workers 0 and 1; their saved results."""
    ports = ",".join(str(p) for p in free_ports(2))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.micro_batching._multi_worker_main", str(i), ports,
             str(out_dir / f"w{i}.npz")],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(2)
    ]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=180)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output[-4000:]
    return [dict(np.load(out_dir / f"w{i}.npz")) for i in range(2)]


@pytest.mark.tensorflow
def test_two_workers_equal_one_device_big_batch(tmp_path):
    workers = run_workers(tmp_path)
    want, initial = one_device("lars", jit_compile=False)
    want = float_weights(want)
    for got in workers:
        weights = [got[f"w{k}"] for k in range(len(want))]
        assert int(got["replicas"]) == REPLICAS
        assert int(got["iterations"]) == UPDATES
        assert (int(got["passes"]), int(got["rows"])) == (2 * UPDATES, MICRO_BATCH_SIZE)
        for k, (path, _) in enumerate(want):
            # The all-reduce keeps the workers bit-identical.
            np.testing.assert_array_equal(got[f"w{k}"], workers[0][f"w{k}"], err_msg=path)
        # Measured: max |difference| 2.4e-7, relative 6.0e-6 (as on Mirrored).
        assert_same_weights(weights, want, initial)


# ---------------------------------------------------------------------------
# JAX keras.distribution.DataParallel, 2 host CPU devices in this process


@pytest.fixture
def two_jax_devices():
    if keras.backend.backend() != "jax":
        pytest.skip(f"keras.distribution data parallelism on JAX; the Keras backend is "
                    f"{keras.backend.backend()!r} (KERAS_BACKEND=jax)")
    import jax

    if len(jax.devices()) < REPLICAS:
        pytest.skip("needs 2 JAX devices: XLA_FLAGS=--xla_force_host_platform_device_count=2")
    return jax.devices()[:REPLICAS]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_data_parallel_equals_one_device_big_batch(two_jax_devices, optimizer):
    assert keras.distribution.distribution() is None  # the reference: the default device
    want, initial = one_device(optimizer)
    assert len(want.layers[0].shardings[-1].device_set) == 1
    x, y = data()
    distribution = keras.distribution.DataParallel(devices=two_jax_devices)
    with distribution.scope():
        model = make_model(optimizer)
        micro_batch(model, MICRO_BATCH_SIZE)
        # The step sees the global batch: device r holds rows [16 r, 16 r + 16).
        model.fit(x, y, batch_size=GLOBAL_BATCH_SIZE, shuffle=False, epochs=1, verbose=0)
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == UPDATES
    probe = model.layers[0]
    # 2 passes per update, each of 16 rows: 8 of every device's 16.
    assert int(ops.convert_to_numpy(probe.passes)) == 2 * UPDATES
    assert int(ops.convert_to_numpy(probe.rows)) == REPLICAS * MICRO_BATCH_SIZE
    assert probe.shardings
    pass_shape = (REPLICAS * MICRO_BATCH_SIZE, FEATURES)
    for sharding in probe.shardings:  # the pass's 16 rows: 8 on each device
        assert len(sharding.device_set) == REPLICAS
        assert sharding.shard_shape(pass_shape) == (MICRO_BATCH_SIZE, FEATURES)
    assert len(model.trainable_variables[0].value.sharding.device_set) == REPLICAS
    # Measured: max |difference| 6.0e-8 (sgd), 1.2e-7 (lars); relative 1.2e-6, 6.0e-6.
    assert_same_weights([a for _, a in float_weights(model)], float_weights(want), initial)
