"""`main`: the module forms of the command, and usage errors exit 2."""

import os
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


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return env  # the command's own default, as a user's shell has it


@pytest.mark.parametrize("argv,status", [(["--help"], 0), (["tune"], 2), (["train"], 2)])
def test_help_and_usage_errors_import_neither_keras_nor_tensorflow(argv, status):
    code = ("import sys\n"
            "from keras_bigbatch.cli import main\n"
            "try:\n"
            f"    main({argv!r})\n"
            "except SystemExit as stop:\n"
            "    print('status', stop.code)\n"
            "print('loaded', sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch')\n"
            "                       if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=_clean_env())
    assert f"status {status}\nloaded []" in done.stdout, done.stderr[-2000:]


@pytest.mark.parametrize("argv,printed", [(["list"], "recipes:"),
                                          (["train", "--help"], "--max-micro-batch N")])
def test_tensorflow_start_up_lines_are_not_printed(argv, printed):
    # `list` and `train --help` import Keras, hence TensorFlow: its start-up lines stay off
    script = os.path.join(os.path.dirname(sys.executable), "keras-bigbatch")
    done = subprocess.run([script, *argv], capture_output=True, text=True, timeout=300,
                          env=_clean_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert printed in done.stdout
    for noise in ("oneDNN", "absl::InitializeLog", "cpu_feature_guard"):
        assert noise not in done.stderr, done.stderr[-2000:]
