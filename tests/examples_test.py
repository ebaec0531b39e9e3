"""The examples run: each `examples/` script at its tiny size, as a user runs
it (a real `python` or `keras-bigbatch` process from the repository root),
exits 0 and prints what it is about."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYTHON = sys.executable
COMMAND = str(pathlib.Path(PYTHON).with_name("keras-bigbatch"))


def _run(arguments, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    done = subprocess.run(arguments, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _accuracy(pattern, text):
    match = re.search(pattern, text)
    assert match, text[-3000:]
    return float(match.group(1))


@pytest.mark.tensorflow
def test_plain_fit_trains_the_regimes_updates():
    out = _run([PYTHON, "examples/plain_fit.py", "--tiny"])
    # tiny: batch 64 -> 512 on 2048 examples: 32 steps per epoch / 4 = 8 x 10 epochs x 1/16
    # of the updates = 20 updates (5 Keras epochs of 4 steps)
    assert "regime: batch 512, 5 epochs" in out
    assert 0.3 < _accuracy(r"updates: 20, test accuracy: ([\d.]+)", out) <= 1.0


@pytest.mark.tensorflow
def test_own_model_and_data_on_two_replicas_with_tensorboard(tmp_path):
    logs = tmp_path / "logs"
    out = _run([PYTHON, "examples/own_model_and_data.py", "--tiny", "--strategy", "mirrored",
                "--log-dir", str(logs)])
    # 2048 examples // 256 = 8 updates, each global batch 2 x 128
    accuracy = _accuracy(r"own_cnn: 8 updates of global batch 256 on 2 replica\(s\), "
                         r"test accuracy ([\d.]+)", out)
    assert 0.0 <= accuracy <= 1.0
    assert list(logs.rglob("events.out.tfevents.*"))


@pytest.mark.tensorflow
def test_my_recipe_through_the_command(tmp_path):
    recipe = (ROOT / "examples/my_recipe.py").read_text()
    command = "keras-bigbatch train examples/my_recipe.py --size smoke"
    assert command in recipe  # the docstring shows the command this test runs
    out = _run([COMMAND, "train", "examples/my_recipe.py", "--size", "smoke",
                "--output", str(tmp_path / "out")])
    assert re.search(r"^SB +[\d.]+% .* 32 +128 +2 ", out, flags=re.M), out
    assert re.search(r"^LB +[\d.]+% .* 256 +16 +2 ", out, flags=re.M), out
    assert "MISS" not in out  # the smoke size's expected accuracies hold
    assert (tmp_path / "out" / "results.json").exists()


@pytest.mark.tensorflow
def test_search_over_my_model(tmp_path):
    out = _run([PYTHON, "examples/search.py", "--tiny", "--output", str(tmp_path / "search")])
    assert "2 trials completed" in out
    assert 0.0 <= _accuracy(r"test accuracy ([\d.]+) \(measured once", out) <= 1.0
