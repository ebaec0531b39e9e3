"""`checkpoint.files`: one interface over local folders and tf.io.gfile URLs."""

import os

import pytest

from keras_bigbatch.checkpoint import files


def test_write_atomically_creates_the_folder_and_replaces_whole(tmp_path):
    path = tmp_path / "new" / "results.json"
    files.write_atomically(path, b"first")
    files.write_atomically(path, b"second")
    assert path.read_bytes() == b"second"
    assert os.listdir(path.parent) == ["results.json"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    files.write_atomically(path, b"old")
    with pytest.raises(TypeError):
        files.write_atomically(path, "not bytes")  # fails inside the write
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["results.json"]


def test_local_paths_need_no_tensorflow():
    assert files.filesystem("/tmp/x") is files.LocalFiles
    assert files.filesystem("relative/x") is files.LocalFiles


@pytest.mark.tensorflow
def test_urls_go_through_gfile():
    import tensorflow as tf

    assert files.filesystem("ram://bucket/x") is tf.io.gfile
    files.write_atomically("ram://files-test/a/b.json", b"{}")
    with tf.io.gfile.GFile("ram://files-test/a/b.json", "rb") as stream:
        assert stream.read() == b"{}"


def test_a_url_without_tensorflow_is_a_clear_error():
    try:
        import tensorflow  # noqa: F401
    except ModuleNotFoundError:
        pass
    else:
        pytest.skip("TensorFlow is installed here (the TF-free CI job runs this)")
    with pytest.raises(ValueError, match="'gs://bucket/x' is a URL, which needs tf.io.gfile"):
        files.filesystem("gs://bucket/x")
