"""The command's output folders: defaults per size, and the writability check."""

import os

import pytest

from keras_bigbatch.cli import UsageError
from keras_bigbatch.cli.output import check_writable
from keras_bigbatch.cli.output import default_output
from keras_bigbatch.cli.output import worker_output


def test_default_output_per_size():
    assert default_output("digits", "default") == os.path.join("results", "digits")
    assert default_output("digits", "smoke") == os.path.join("results", "digits-smoke")
    assert default_output("digits", "smoke", "-tune") == os.path.join("results", "digits-tune-smoke")


def test_check_writable_creates_the_folder_and_leaves_no_probe(tmp_path):
    folder = tmp_path / "a" / "b"
    check_writable(str(folder))
    assert folder.is_dir() and not list(folder.iterdir())


def test_an_unwritable_folder_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError, match="cannot be written: .*Give a folder you can write to"):
        check_writable(str(blocker / "out"))


def test_the_chief_writes_into_the_output_itself(tmp_path):
    assert worker_output(str(tmp_path), None) == str(tmp_path)
