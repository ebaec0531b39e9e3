"""The trainer on JAX, without TensorFlow: `keras.distribution` data parallelism.

What defines "right" is one device: a data-parallel run over 2 JAX CPU
devices must train the same weights as a one-device run of the same global
batch. Runs only on the JAX backend with 2 host devices, as
scripts/test_without_tensorflow.sh runs it (a venv without TensorFlow,
KERAS_BACKEND=jax, XLA_FLAGS=--xla_force_host_platform_device_count=2);
skipped elsewhere.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_bigbatch.distribute import KerasDistribution
from keras_bigbatch.distribute import get_strategy
from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.training import build
from keras_bigbatch.training import fit
from keras_bigbatch.training import train
from keras_bigbatch import cli
from keras_bigbatch.training.config import merge

from tests.layers.ghost_batch_normalization_test import reference
from tests.multi_process import free_ports

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax" and not os.environ.get("KERAS_BIGBATCH_REQUIRE_DEVICES"),
    reason="the JAX backend's trainer (KERAS_BACKEND=jax)")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RECIPE = os.path.join(HERE, "digits_recipe.py")


@pytest.fixture(scope="module")
def two_devices():
    import jax

    if len(jax.devices()) < 2:
        message = "needs 2 JAX devices: XLA_FLAGS=--xla_force_host_platform_device_count=2"
        if os.environ.get("KERAS_BIGBATCH_REQUIRE_DEVICES"):  # CI: never skip silently
            pytest.fail(message)
        pytest.skip(message)
    return get_strategy("data-parallel")


def digits_config(**changes):
    """21 updates per epoch on the digits (1348 // 64), momentum SGD with warm-up."""
    base = {
        "name": "digits", "seed": 1, "data": {"source": "digits"},
        "model": {"name": "mlp", "hidden_units": (32,), "normalization": "ghost",
                  "virtual_batch_size": 32},
        "optimizer": {"name": "sgd", "momentum": 0.9},
        "schedule": {"batch_size": 64, "epochs": 3, "learning_rate": 0.2, "warmup_epochs": 1,
                     "boundaries": (2,)},
        "evaluation": {"evaluations": 3},
    }
    return merge(base, changes)


def weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


@pytest.mark.parametrize("normalization", [
    # ghost batches of 32 = the per-device batch under 2 devices
    {"model.normalization": "ghost", "model.virtual_batch_size": 32},
    # plain BN: its statistics are the global batch's under data parallelism
    {"model.normalization": "batch", "model.virtual_batch_size": None},
    # LARS: layer-wise norms of the whole weights and the global batch's gradients
    {"optimizer": {"name": "lars", "momentum": 0.9}, "schedule.learning_rate": 5.0},
], ids=["ghost", "batch", "lars"])
def test_data_parallel_matches_one_device(two_devices, normalization):
    config = digits_config(**normalization)
    single = train(config, strategy=KerasDistribution(None), verbose=False)
    double = train(config, strategy=two_devices, verbose=False)
    assert single["num_replicas"] == 1
    assert double["num_replicas"] == 2 and double["per_replica_batch_size"] == 32
    assert single["updates"] == double["updates"] == 3 * (1348 // 64)
    kernel = double["model"].trainable_variables[0].value
    assert len(kernel.sharding.device_set) == 2  # really laid out over both devices
    for a, b in zip(weights(single["model"]), weights(double["model"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert single["history"]["loss"] == pytest.approx(double["history"]["loss"], rel=1e-5)
    assert single["test_accuracy"] == pytest.approx(double["test_accuracy"], abs=1e-9)
    assert single["test_accuracy"] > 0.7
    assert single["curve"]["updates"] == [21, 42, 63]


@pytest.mark.parametrize("optimizer", ["sgd", "lars"])
def test_micro_batches_data_parallel_match_one_device(two_devices, optimizer):
    # 32 rows per device in 2 passes of 16, ghost 8: each pass takes 16 rows
    # of each device's 32 (a wrong interleave changes the ghost statistics).
    config = digits_config(**{"model.virtual_batch_size": 8, "optimizer.name": optimizer})
    single = train(config, strategy=KerasDistribution(None), verbose=False)
    double = train(dict(config, micro_batch_size=16), strategy=two_devices, verbose=False)
    assert double["num_replicas"] == 2 and single["updates"] == double["updates"] == 63
    for a, b in zip(weights(single["model"]), weights(double["model"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert single["test_accuracy"] == pytest.approx(double["test_accuracy"], abs=1e-9)


def test_ghost_batches_are_cut_per_device_shard(two_devices):
    # Ghost batch = the per-device batch (8 of 16 rows): each device's output
    # must be its own rows normalized by their own statistics, not by the
    # global batch's (which one device's BN over all 16 rows would give).
    import jax

    x = np.random.default_rng(0).normal(2.0, 3.0, (16, 3)).astype("float32")
    x[8:] += 5.0  # the two shards' statistics differ
    layer = GhostBatchNormalization(8)
    with two_devices.scope():
        layer.build((16, 3))
        sharded = jax.device_put(x, two_devices.distribution.get_data_layout(x.shape).backend_layout)
        out = jax.jit(lambda v: layer(v, training=True))(sharded)
    assert len(out.addressable_shards) == 2
    for shard in out.addressable_shards:
        rows = x[shard.index[0]]
        assert len(rows) == 8
        want, _, _ = reference(rows, 8, np.ones(3), np.zeros(3), layer.epsilon)
        np.testing.assert_allclose(np.asarray(shard.data), want, rtol=1e-5, atol=1e-5)
        global_bn, _, _ = reference(x, 16, np.ones(3), np.zeros(3), layer.epsilon)
        assert np.abs(np.asarray(shard.data) - global_bn[shard.index[0]]).max() > 0.5


def test_ghost_batch_spanning_two_devices_is_refused(two_devices):
    config = digits_config(**{"model.virtual_batch_size": 64})
    with pytest.raises(ValueError, match=r"virtual_batch_size.*\(64\) must divide the per-replica "
                                         r"batch size \(32 = global batch 64 / 2 replicas\)"):
        build(config, two_devices)


def test_global_batch_the_devices_do_not_divide_is_refused(two_devices):
    config = digits_config(**{"schedule.batch_size": 63, "model.normalization": "batch",
                              "model.virtual_batch_size": None})
    with pytest.raises(ValueError, match="63"):
        build(config, two_devices)


def test_batch_growth_is_refused_off_tensorflow(two_devices):
    config = digits_config(**{"batch_growth.enabled": True, "schedule.batch_size": 32,
                              "model.virtual_batch_size": 16})
    with pytest.raises(ValueError, match="batch_growth.*TensorFlow backend"):
        build(config, two_devices)


class _Stop(Exception):
    pass


class _StopAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == self.step:
            raise _Stop()


def test_interrupted_data_parallel_run_resumes_exactly(two_devices, tmp_path, capsys):
    config = digits_config(**{"checkpoint.every_steps": 5})
    whole = train(config, strategy=two_devices, verbose=False)
    model = build(config, two_devices)
    with pytest.raises(_Stop):  # mid-epoch 2, two steps after the checkpoint at 25
        fit(config, model, two_devices, callbacks=[_StopAt(27)], verbose=False,
            checkpoint_dir=str(tmp_path))
    capsys.readouterr()
    resumed_model = build(config, two_devices)
    resumed = fit(config, resumed_model, two_devices, verbose=True, checkpoint_dir=str(tmp_path))
    assert "ckpt-00000025.json: step 25 (epoch 2, 4 of 21 steps done)" in capsys.readouterr().out
    assert resumed["updates"] == whole["updates"] == 63
    for a, b in zip(weights(whole["model"]), weights(resumed_model)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert resumed["test_accuracy"] == pytest.approx(whole["test_accuracy"], abs=1e-9)


def test_synthetic_source_trains(two_devices):
    config = {"name": "synthetic", "seed": 0,
              "data": {"source": "synthetic", "image_size": 8, "num_classes": 10,
                       "train_examples": 64, "test_examples": 20},
              "model": {"name": "mlp", "hidden_units": (16,), "normalization": "batch"},
              "schedule": {"batch_size": 16, "epochs": 2, "learning_rate": 0.1}}
    result = train(config, strategy=two_devices, verbose=False)
    assert result["updates"] == 8 and result["num_replicas"] == 2
    assert 0.0 <= result["test_accuracy"] <= 1.0


def test_command_trains_data_parallel_and_writes_the_model(two_devices, tmp_path, capsys):
    status = cli.main(["train", RECIPE, "--runs", "A", "--strategy", "data-parallel",
                       "--cpu-devices", "2", "--output", str(tmp_path)])
    assert status == 0, capsys.readouterr().err
    loaded = keras.models.load_model(tmp_path / "A" / "model.keras")
    assert loaded.count_params() > 0
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    assert results[0]["num_replicas"] == 2 and results[0]["updates"] == 63
    assert results[0]["test_accuracy"] > 0.8
    assert "tensorflow" not in sys.modules  # the whole run, command included


@pytest.mark.parametrize("name", ["mirrored", "multi-worker", "tpu"])
def test_tf_distribute_strategies_are_refused_with_the_alternative(name, tmp_path, capsys):
    status = cli.main(["train", RECIPE, "--runs", "A", "--strategy", name,
                       "--output", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err
    assert f"strategy={name!r}" in err and "'data-parallel'" in err and "TensorFlow" in err


def _command(output, strategy, extra_env, extra_args=()):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # one device per process
    env.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", **extra_env)
    return subprocess.Popen(
        [sys.executable, "-m", "keras_bigbatch.training", "train", RECIPE, "--runs", "A",
         "--strategy", strategy, "--output", str(output), *extra_args],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("extra_args", [(), ("--set", "micro_batch_size=16")],
                         ids=["whole", "micro-batches"])
def test_two_hosts_through_keras_distribution_initialize_match_one_device(tmp_path, extra_args):
    # Two processes of one device each on 127.0.0.1 (keras.distribution.initialize,
    # gloo collectives); the reference is this process on one device, without
    # micro-batching (with it: 32 rows per host in 2 passes of 16, ghost 16).
    from keras_bigbatch.training import recipes

    (port,) = free_ports(1)
    job = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port},127.0.0.1:{port}",
           "KERAS_DISTRIBUTION_NUM_PROCESSES": "2"}
    # process 1 says "auto": a multi-host job makes it data-parallel too
    processes = [_command(tmp_path / "hosts", strategy, dict(job, KERAS_DISTRIBUTION_PROCESS_ID=str(i)),
                          extra_args)
                 for i, strategy in enumerate(["data-parallel", "auto"])]
    (config,) = recipes.run_configs(recipes.load_recipe(RECIPE), ["A"])
    reference = train(config, strategy=KerasDistribution(None), verbose=False)
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]
    assert all("on 2 replica(s)" in output for output in outputs)
    if extra_args:
        assert all("in micro batches of 16 x 2 passes" in output for output in outputs)
    for folder in (tmp_path / "hosts", tmp_path / "hosts" / "worker-1"):
        model = keras.models.load_model(folder / "A" / "model.keras")
        for a, b in zip(weights(reference["model"]), weights(model)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    row = json.loads((tmp_path / "hosts" / "results.json").read_text())["results"][0]
    assert row["num_replicas"] == 2 and row["updates"] == reference["updates"] == 63
    assert row["test_accuracy"] == pytest.approx(reference["test_accuracy"], abs=1e-9)


def test_tune_command_searches_data_parallel(two_devices, tmp_path, capsys):
    status = cli.main(["tune", RECIPE, "--run", "A", "--tuner", "random", "--max-trials", "2",
                       "--strategy", "data-parallel", "--cpu-devices", "2",
                       "--knob", "batch_size=64", "--output", str(tmp_path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "on 2 replica(s)" in out and "2 trial(s) completed" in out
    summary = json.loads((tmp_path / "best_trials.json").read_text())
    assert len(summary["trials"]) == 2
    best = keras.models.load_model(tmp_path / "best" / "model.keras")
    from keras_bigbatch.data import get_source

    x, y = get_source("digits").arrays("test")
    measured = float(np.mean(np.argmax(best.predict(x, verbose=0), -1) == y))
    assert f"test accuracy {measured:.4f}" in out


def test_jit_compile_off_becomes_xla_over_several_devices(two_devices):
    # Op by op, every op over the mesh is its own program with its own all-reduce:
    # ResNet-50 over 2 host CPU devices deadlocked in XLA's rendezvous that way.
    from keras_bigbatch.distribute import compile_options

    with pytest.warns(UserWarning, match="jit_compile=False is ignored under data-parallel"):
        assert compile_options(two_devices, False) == {"jit_compile": True}
    assert compile_options(two_devices, "auto") == {"jit_compile": "auto"}
    assert compile_options(KerasDistribution(None), False) == {"jit_compile": False}


def test_checkpoints_record_the_backend():
    # numpy batches follow another data order than tf.data's: a TensorFlow
    # checkpoint (no key) must not resume here, nor the other way round
    from keras_bigbatch.checkpoint import settings
    from keras_bigbatch.checkpoint import settings_differences
    from keras_bigbatch.training.config import resolve

    here = settings(resolve(digits_config()), 2)
    assert here["keras_backend"] == "jax"
    tensorflow = {k: v for k, v in here.items() if k != "keras_backend"}
    assert settings_differences(tensorflow, here) == ["keras_backend: checkpoint '(absent)', now 'jax'"]


def test_a_tf_data_source_is_refused_by_name(tmp_path, capsys):
    status = cli.main(["train", "resnet50_imagenet_8k_sgd", "--size", "smoke",
                       "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "imagenet2012" in err and "TensorFlow" in err
