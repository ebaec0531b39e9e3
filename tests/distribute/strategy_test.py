import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from keras_bigbatch.distribute import compile_options
from keras_bigbatch.distribute import configure_cpu_devices
from keras_bigbatch.distribute import device_kind
from keras_bigbatch.distribute import get_strategy
from tests.multi_process import free_ports


def test_unknown_strategy_lists_choices():
    with pytest.raises(ValueError, match=r"`strategy` must be one of \('default', 'mirrored', 'multi-worker', 'tpu', "
                       r"'data-parallel', 'auto'\)"):
        get_strategy("horovod")


def test_data_parallel_needs_the_jax_backend():
    # keras.distribution data parallelism is the JAX backend's strategy
    # (tests/training/trainer_jax_test.py runs it there)
    with pytest.raises(ValueError, match=r"strategy='data-parallel'.*JAX backend only.*'mirrored'"):
        get_strategy("data-parallel")


def test_cpu_devices_only_with_mirrored():
    with pytest.raises(ValueError, match="cpu_devices"):
        get_strategy("default", cpu_devices=2)


def test_mirrored_over_logical_cpus_turns_off_xla():
    strategy = get_strategy("mirrored", cpu_devices=2)
    assert strategy.num_replicas_in_sync == 2
    assert compile_options(strategy) == {"jit_compile": False}
    assert compile_options(get_strategy("default")) == {"jit_compile": "auto"}


def test_jit_compile_true_where_xla_fails_says_so(mirrored):
    with pytest.raises(ValueError, match="jit_compile=True.*2 CPU devices"):
        compile_options(mirrored, jit_compile=True)
    assert compile_options(mirrored, jit_compile=False) == {"jit_compile": False}
    assert compile_options(get_strategy("default"), jit_compile=True) == {"jit_compile": True}
    with pytest.raises(ValueError, match="jit_compile"):
        compile_options(mirrored, jit_compile="xla")


def test_device_kind(mirrored):
    assert device_kind(mirrored) == "cpu"
    assert device_kind(get_strategy("default")) == "cpu"


def test_auto_without_accelerators_is_default(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert get_strategy("auto").num_replicas_in_sync == 1


def test_auto_with_tf_config_is_multi_worker():
    # a fresh process: a MultiWorkerMirroredStrategy configures this process's collectives
    port = free_ports(1)[0]
    env = dict(os.environ, TF_CONFIG=json.dumps(
        {"cluster": {"worker": [f"127.0.0.1:{port}"]}, "task": {"type": "worker", "index": 0}}))
    code = ("import tensorflow as tf\n"
            "from keras_bigbatch.distribute import get_strategy\n"
            "s = get_strategy('auto')\n"
            "print(isinstance(s, tf.distribute.MultiWorkerMirroredStrategy), s.num_replicas_in_sync)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["True", "1"]


def test_tpu_without_tpu_says_so_in_one_line(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(ValueError, match="strategy='tpu'` needs a TPU") as raised:
        get_strategy("tpu")
    assert isinstance(raised.value, RuntimeError)  # what it raised before
    assert "\n" not in str(raised.value) and raised.value.__cause__ is None


def test_cpu_split_cannot_change_after_start():
    with pytest.raises(RuntimeError, match="already initialized with 2"):
        configure_cpu_devices(3)
    assert len(configure_cpu_devices(2)) == 2
    assert len(tf.config.list_logical_devices("CPU")) == 2


def test_one_mirrored_strategy_per_device_set(mirrored):
    # a second MirroredStrategy over the same devices would reuse the first's
    # collective keys ("Shape mismatch in the collective instance")
    assert get_strategy("mirrored", cpu_devices=2) is mirrored
    assert get_strategy("mirrored", cpu_devices=2) is get_strategy("mirrored", cpu_devices=2)
