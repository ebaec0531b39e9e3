"""`keras-bigbatch tune`: the 3-trial smoke search end to end, an interrupted
search resumed, and a clear error for every bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from keras_bigbatch.cli import main
from keras_bigbatch.cli.tune import parse_knob

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = os.path.join(HERE, "..", "training", "digits_recipe.py")
SMOKE = ["tune", "generalization_gap", "--size", "smoke", "--run", "LB+LR", "--tuner", "random",
         "--max-trials", "3", "--knob", "optimizer=sgd,lars"]


def _command(argv):
    return [sys.executable, "-m", "keras_bigbatch.cli", *argv]


def test_smoke_search_prints_and_writes_the_best_trials(tmp_path):
    out = tmp_path / "tune"
    done = subprocess.run(_command(SMOKE + ["--output", str(out)]), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank  trial  val_accuracy" in done.stdout
    payload = json.loads((out / "best_trials.json").read_text())
    assert payload["completed"] == 3 and len(payload["trials"]) == 3
    assert payload["objective"] == "val_accuracy"
    assert {row["values"]["optimizer"] for row in payload["trials"]} <= {"sgd", "lars"}
    assert 0 < payload["best_test_accuracy"] <= 1
    assert payload["settings"]["knobs"]["optimizer"] == ["sgd", "lars"]
    model = keras.saving.load_model(out / "best" / "model.keras")
    assert model.input_shape[1:] == (28, 28)


def test_an_interrupted_search_resumes_without_rerunning_finished_trials(tmp_path):
    out = tmp_path / "tune"
    argv = _command(SMOKE + ["--output", str(out)])
    first = out / "tuner" / "search" / "trial_0" / "trial.json"
    second = out / "tuner" / "search" / "trial_1"  # made once trial 0 and the oracle are saved
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None and not second.exists():
        time.sleep(0.05)
    assert process.poll() is None, "the search finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = first.read_text()
    assert '"COMPLETED"' in finished
    assert not (out / "best_trials.json").exists()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert first.read_text() == finished  # trial 0 was not trained again
    assert done.stdout.count("[trial]") <= 2  # only the trials it had not finished
    assert json.loads((out / "best_trials.json").read_text())["completed"] == 3


def test_set_seed_seeds_the_run_and_the_tuner(tmp_path):
    out = tmp_path / "out"
    assert main(["tune", RECIPE, "--output", str(out), "--max-trials", "1",
                 "--knob", "optimizer=sgd", "--knob", "ghost_batch_size=0", "--set", "schedule.epochs=1",
                 "--set", "seed=7"]) == 0
    settings = json.loads((out / "search.json").read_text())
    assert ["seed", "7"] in settings["overrides"]
    oracle = json.loads((out / "tuner" / "search" / "oracle.json").read_text())
    assert oracle["seed"] == 7


def test_knob_text():
    assert parse_knob("optimizer=lars") == ("optimizer", "lars")
    assert parse_knob("optimizer=sgd,lars") == ("optimizer", ["sgd", "lars"])
    assert parse_knob("base_learning_rate=0.1:10") == ("base_learning_rate", (0.1, 10.0))
    assert parse_knob("ghost_batch_size=0,32") == ("ghost_batch_size", [0, 32])
    assert parse_knob("regime_adaptation=false,true") == ("regime_adaptation", [False, True])


@pytest.mark.parametrize("extra,message", [
    (["--tuner", "grid"], "Argument `tuner` must be one of ['random', 'bayesian', 'hyperband']"),
    (["--objective", "val_loss"], "must be a metric the trainer reports"),
    (["--knob", "ghost_batch_size=48"], "must divide every per-replica batch [64]"),
    (["--knob", "optimizer"], "expected KNOB=SPEC"),
    (["--knob", "base_learning_rate=0.1:x"], "a range is LOW:HIGH with two numbers"),
    (["--knob", "momentum=0.5"], "Unknown knob(s) ['momentum']"),
    (["--max-trials", "0"], "`max_trials` must be an int >= 1"),
    (["--run", "C"], "Unknown run name(s) ['C']"),
    (["--validation-examples", "5000"], "must be smaller than the training split"),
])
def test_bad_input_exits_2_with_a_clear_message(extra, message, tmp_path, capsys):
    assert main(["tune", RECIPE, "--output", str(tmp_path / "out"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_rerun_with_other_settings_is_refused(tmp_path, capsys):
    out = str(tmp_path / "out")
    argv = ["tune", RECIPE, "--output", out, "--max-trials", "1", "--knob", "optimizer=sgd",
            "--knob", "ghost_batch_size=0", "--set", "schedule.epochs=1"]
    assert main(argv) == 0
    assert main(argv[:-1] + ["schedule.learning_rate=0.3"]) == 2
    assert "holds a search with other settings" in capsys.readouterr().err
    assert main(argv[:-1] + ["schedule.learning_rate=0.3", "--overwrite"]) == 0
