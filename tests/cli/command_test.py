"""`main`: the module forms of the command, and usage errors exit 2."""

import subprocess
import sys

import pytest

from keras_bigbatch.cli import main


@pytest.mark.parametrize("module", ["keras_bigbatch.cli", "keras_bigbatch.training"])
def test_module_forms_are_the_command(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage: keras-bigbatch [-h] COMMAND ...")
    assert "train" in done.stdout and "tune" in done.stdout and "list" in done.stdout


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err
