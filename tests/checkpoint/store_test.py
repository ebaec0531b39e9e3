"""CheckpointStore: complete-or-absent checkpoints, the last K kept, damaged ones skipped."""

import os
import warnings

import numpy as np
import pytest

from keras_bigbatch.checkpoint.store import CheckpointError
from keras_bigbatch.checkpoint.store import CheckpointStore
from keras_bigbatch.checkpoint.store import pack
from keras_bigbatch.checkpoint.store import unpack


def _save(store, step):
    return store.save(step, {"w": np.full(4, step, np.float32)},
                      {"epoch": step // 10, "nested": {"x0": np.arange(step + 1)}})


def test_pack_moves_arrays_out_and_unpack_puts_them_back():
    state = {"a": [np.ones(2), {"b": np.zeros((2, 3))}], "c": 1.5, "d": np.float32(2.0)}
    json_state, arrays = pack(state)
    assert sorted(arrays) == ["state//a/0", "state//a/1/b"]
    assert json_state["a"][0] == {"__array__": "state//a/0"} and json_state["d"] == 2.0
    back = unpack(json_state, arrays)
    np.testing.assert_array_equal(back["a"][1]["b"], np.zeros((2, 3)))
    assert back["c"] == 1.5


def test_save_then_latest_round_trips_arrays_and_state(tmp_path):
    store = CheckpointStore(tmp_path / "ckpt")
    path = _save(store, 12)
    assert path == f"{tmp_path}/ckpt/ckpt-00000012.json"
    checkpoint = store.latest()
    assert checkpoint.step == 12 and checkpoint.state["epoch"] == 1
    np.testing.assert_array_equal(checkpoint.arrays["w"], np.full(4, 12, np.float32))
    np.testing.assert_array_equal(checkpoint.state["nested"]["x0"], np.arange(13))


def test_no_folder_means_no_checkpoint(tmp_path):
    assert CheckpointStore(tmp_path / "none").latest() is None


def test_keeps_the_newest_k_and_removes_stray_temporary_files(tmp_path):
    store = CheckpointStore(tmp_path, keep=2)
    (tmp_path / "ckpt-00000003.npz.tmp-999999").write_bytes(b"half")  # a killed writer's
    for step in (5, 10, 15):
        _save(store, step)
    assert store.steps() == [10, 15]
    assert sorted(os.listdir(tmp_path)) == [
        "ckpt-00000010.json", "ckpt-00000010.npz", "ckpt-00000015.json", "ckpt-00000015.npz"]


def test_arrays_without_a_manifest_are_not_a_checkpoint_and_go_at_the_next_save(tmp_path):
    # A process killed between the arrays file and the manifest.
    store = CheckpointStore(tmp_path)
    _save(store, 5)
    store.save_arrays(10, {"w": np.zeros(4)})
    assert store.steps() == [5] and store.latest().step == 5
    _save(store, 15)  # the restarted run's next save
    assert sorted(os.listdir(tmp_path)) == [
        "ckpt-00000005.json", "ckpt-00000005.npz", "ckpt-00000015.json", "ckpt-00000015.npz"]


def test_saving_a_step_again_keeps_the_old_one_whole_until_the_new_manifest(tmp_path):
    store = CheckpointStore(tmp_path, keep=1)
    _save(store, 8)
    old = store.latest()
    # killed after the new arrays, before the new manifest: the old one still reads
    store.save_arrays(8, {"w": np.zeros(4)}, ".r1.npz")
    assert store.latest().state["epoch"] == old.state["epoch"] == 0
    store.save(8, {"w": np.zeros(4, np.float32)}, {"final": True})
    assert store.latest().state == {"final": True}
    assert sorted(os.listdir(tmp_path)) == ["ckpt-00000008.json", "ckpt-00000008.r2.npz"]


def test_after_a_fallback_new_checkpoints_replace_the_damaged_newer_ones(tmp_path):
    store = CheckpointStore(tmp_path, keep=2)
    _save(store, 5)
    _save(store, 10)
    (tmp_path / "ckpt-00000010.npz").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="ckpt-00000010"):
        assert store.latest().step == 5
    store.discard_newer(5)
    _save(store, 7)
    assert store.steps() == [5, 7]  # without discard_newer, 10 would have pushed 5 out


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "manifest"])
def test_a_damaged_latest_falls_back_to_the_previous_with_a_warning(tmp_path, damage):
    store = CheckpointStore(tmp_path)
    _save(store, 5)
    _save(store, 10)
    arrays, manifest = tmp_path / "ckpt-00000010.npz", tmp_path / "ckpt-00000010.json"
    data = arrays.read_bytes()
    if damage == "truncate":
        arrays.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # same size, one bit changed
        arrays.write_bytes(data[:200] + bytes([data[200] ^ 1]) + data[201:])
    elif damage == "delete":
        arrays.unlink()
    else:
        manifest.write_text('{"step": 10, "fil')
    with pytest.warns(UserWarning, match="Skipping a damaged checkpoint: .*ckpt-00000010"):
        checkpoint = store.latest()
    assert checkpoint.step == 5


def test_no_usable_checkpoint_names_every_file(tmp_path):
    store = CheckpointStore(tmp_path)
    _save(store, 5)
    _save(store, 10)
    for step in (5, 10):
        (tmp_path / f"ckpt-{step:08d}.npz").write_bytes(b"garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CheckpointError, match=r"No usable checkpoint in .*ckpt-00000010.npz "
                           r"is damaged.*ckpt-00000005.npz is damaged.*Remove the folder"):
            store.latest()


@pytest.mark.tensorflow  # ram:// is a tf.io.gfile file system
def test_gfile_paths_work(tmp_path):
    store = CheckpointStore("ram://keras_bigbatch_checkpoint_test/run", keep=1)
    _save(store, 1)
    _save(store, 2)
    assert store.steps() == [2] and store.latest().state["epoch"] == 0


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="Argument `keep` must be an integer >= 1. Received: keep=0"):
        CheckpointStore(tmp_path, keep=0)
