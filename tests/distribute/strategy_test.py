import pytest
import tensorflow as tf

from keras_bigbatch.distribute import compile_options
from keras_bigbatch.distribute import configure_cpu_devices
from keras_bigbatch.distribute import get_strategy


def test_unknown_strategy_lists_choices():
    with pytest.raises(ValueError, match=r"`strategy` must be one of \('default', 'mirrored', 'multi-worker', 'tpu', 'auto'\)"):
        get_strategy("horovod")


def test_cpu_devices_only_with_mirrored():
    with pytest.raises(ValueError, match="cpu_devices"):
        get_strategy("default", cpu_devices=2)


def test_mirrored_over_logical_cpus_turns_off_xla():
    strategy = get_strategy("mirrored", cpu_devices=2)
    assert strategy.num_replicas_in_sync == 2
    assert compile_options(strategy) == {"jit_compile": False}
    assert compile_options(get_strategy("default")) == {"jit_compile": "auto"}


def test_auto_without_accelerators_is_default():
    assert get_strategy("auto").num_replicas_in_sync == 1


def test_tpu_without_tpu_says_so(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(RuntimeError, match="strategy='tpu' needs a TPU"):
        get_strategy("tpu")


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
