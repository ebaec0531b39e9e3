"""RunCheckpointer in-process: settings checks, what a rerun of a finished run does,
the callbacks' checkpointed state, and SIGTERM as a flag.

Killing real processes at random steps is in resume_test.py.
"""

import os
import signal

import numpy as np
import pytest

from keras_bigbatch.callbacks import BatchSizeScheduler
from keras_bigbatch.callbacks import GradientNoiseScale
from keras_bigbatch.callbacks import WeightDistance
from keras_bigbatch.training import resolve
from keras_bigbatch.training.checkpoint import CheckpointError
from keras_bigbatch.training.checkpoint import CheckpointStore
from keras_bigbatch.training.checkpointing import check_settings
from keras_bigbatch.training.checkpointing import settings
from keras_bigbatch.training.checkpointing import settings_differences
from keras_bigbatch.training.cli import main
from keras_bigbatch.training.preemption import PreemptionWatch

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = os.path.join(HERE, "digits_recipe.py")


def test_settings_leave_out_the_checkpoint_section_and_list_differences():
    config = resolve({"data": {"source": "digits"}})
    flat = settings(config, 2, 2)
    assert flat["num_replicas"] == 2 and flat["schedule.batch_size"] == 128
    assert not any(key.startswith("checkpoint.") for key in flat)
    other = settings(resolve({"data": {"source": "digits"}, "schedule": {"batch_size": 64},
                              "checkpoint": {"every_steps": 3}}), 2, 1)
    assert settings_differences(flat, other) == [
        "num_workers: checkpoint 2, now 1", "schedule.batch_size: checkpoint 128, now 64"]
    # downloading missing files does not change the data
    fashion = settings(resolve({"data": {"source": "fashion_mnist", "download": True}}), 1)
    assert "data.download" not in fashion and fashion["data.source"] == "fashion_mnist"


def test_rerun_skips_a_finished_run_and_changed_settings_stop_with_the_keys(tmp_path, capsys):
    out = str(tmp_path / "out")
    args = ["train", RECIPE, "--runs", "A", "--size", "smoke", "--output", out]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "resumed" not in first
    assert sorted(os.listdir(tmp_path / "out" / "A" / "checkpoints")) == [
        "ckpt-00000042.json", "ckpt-00000042.npz"]  # only the final one at 300 s intervals

    assert main(args) == 0  # the same command again: nothing to train
    again = capsys.readouterr().out
    assert "resumed from" in again and "step 42 (finished)" in again
    assert "epoch 1/2" not in again
    rows = [line for line in first.splitlines() + again.splitlines() if line.startswith("A  ")]
    assert rows[0].split()[:6] == rows[1].split()[:6]  # same results, wall time aside

    assert main(args + ["--set", "schedule.learning_rate=0.3", "--set", "seed=2"]) == 2
    error = capsys.readouterr().err
    assert "holds run 'A' trained with other settings; differing keys:" in error
    assert "schedule.learning_rate: checkpoint 0.2, now 0.3" in error
    assert "seed: checkpoint 1, now 2" in error
    assert "or give another --output" in error
    # how often to save may change
    assert main(args + ["--set", "checkpoint.every_steps=7"]) == 0


def test_check_settings_reads_only_the_newest_readable_manifest(tmp_path):
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    config = resolve({"name": "A", "data": {"source": "digits"}})
    folder = str(tmp_path / "checkpoints")
    check_settings(folder, config, strategy)  # nothing there: fine
    store = CheckpointStore(folder)
    store.save(5, {}, {"settings": settings(config, 1)})
    store.save(9, {}, {"settings": settings(resolve(dict(config, seed=4)), 1)})
    (tmp_path / "checkpoints" / "ckpt-00000009.npz").write_bytes(b"")  # arrays: not read
    with pytest.raises(CheckpointError, match="seed: checkpoint 4, now 0"):
        check_settings(folder, config, strategy)
    (tmp_path / "checkpoints" / "ckpt-00000009.json").write_text("{")  # unreadable: skipped
    check_settings(folder, config, strategy)


@pytest.mark.parametrize("key,value,message", [
    ("checkpoint.every_steps", 0, "Argument `checkpoint.every_steps` must be a positive integer"),
    ("checkpoint.every_seconds", -1, "Argument `checkpoint.every_seconds` must be a number > 0"),
    ("checkpoint.keep", 0, "Argument `checkpoint.keep` must be a positive integer"),
])
def test_bad_checkpoint_settings(key, value, message):
    with pytest.raises(ValueError, match=message):
        resolve({key: value})


def test_preemption_watch_turns_sigterm_into_a_flag():
    previous = signal.getsignal(signal.SIGTERM)
    with PreemptionWatch() as watch:
        assert not watch.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert watch.requested
    assert signal.getsignal(signal.SIGTERM) is previous


def test_callback_states_round_trip():
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = np.zeros(64, "int32")
    scheduler = BatchSizeScheduler({0: 8, 2: 16})
    noise = GradientNoiseScale(x, y, batch_size=16, scheduler=scheduler, max_batch_size=32)
    noise._rng.integers(10)  # advance the sampler
    noise._sums, noise._weight = np.array([1.5, 2.5]), 0.19
    scheduler.set_schedule({0: 8, 2: 16, 3: 32})
    state_n, state_s = noise.get_state(), scheduler.get_state()
    other_s = BatchSizeScheduler({0: 8})
    other_n = GradientNoiseScale(x, y, batch_size=16, scheduler=other_s, max_batch_size=32)
    other_n.set_state(state_n)
    other_s.set_state(state_s)
    assert other_s.schedule(3) == 32 and other_s.schedule(2) == 16
    assert other_n._weight == 0.19 and list(other_n._sums) == [1.5, 2.5]
    assert other_n._rng.integers(1 << 30) == noise._rng.integers(1 << 30)

    distance = WeightDistance(10)
    distance._initial = [np.ones(3)]
    distance.history = {"step": [0, 1], "distance": [0.0, 0.5]}
    restored = WeightDistance(10)
    restored.set_state(distance.get_state())
    assert restored.history == distance.history
    np.testing.assert_array_equal(restored._initial[0], np.ones(3))
