"""Run settings: what must not change on resume, the check before training, and
what a rerun of a finished run does.

Killing real processes at random steps is in tests/training/resume_test.py.
"""

import os

import pytest

from keras_bigbatch.checkpoint import CheckpointError
from keras_bigbatch.checkpoint import CheckpointStore
from keras_bigbatch.checkpoint import check_settings
from keras_bigbatch.checkpoint import settings
from keras_bigbatch.checkpoint import settings_differences
from keras_bigbatch.training import resolve
from keras_bigbatch.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = os.path.join(os.path.dirname(HERE), "training", "digits_recipe.py")


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



def test_a_checkpoint_older_than_a_key_resumes_at_its_default():
    # Written before schedule.updates and schedule.convention existed: the
    # defaults are what it trained; another value is a difference.
    current = settings(resolve({"data": {"source": "digits"}}), 1)
    older = {k: v for k, v in current.items()
             if k not in ("schedule.updates", "schedule.convention")}
    assert settings_differences(older, current) == []
    changed = settings(resolve({"data": {"source": "digits"}, "schedule": {"updates": 50}}), 1)
    assert settings_differences(older, changed) == ["schedule.updates: checkpoint None, now 50"]


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


@pytest.mark.tensorflow  # a tf.distribute strategy
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
