"""make_tuner + search with RandomSearch, BayesianOptimization and Hyperband."""

import keras_tuner
import numpy as np
import pytest

from keras_bigbatch.training import trainer
from keras_bigbatch.tuner import BigBatchHyperModel
from keras_bigbatch.tuner import format_table
from keras_bigbatch.tuner import make_tuner
from keras_bigbatch.tuner import search

DIGITS = {"name": "digits", "data": {"source": "digits"},
          "model": {"name": "mlp", "hidden_units": (32,), "normalization": "batch"},
          "optimizer": {"name": "sgd", "momentum": 0.9},
          "schedule": {"batch_size": 64, "epochs": 3, "learning_rate": 0.1}}
KNOBS = {"optimizer": ["sgd", "lars"], "ghost_batch_size": [0, 32]}


@pytest.mark.parametrize("name", ["random", "bayesian", "hyperband"])
def test_three_trials_and_the_best_trial_measured_once_on_test(name, tmp_path):
    hypermodel = BigBatchHyperModel(DIGITS, KNOBS, verbose=False)
    tuner = make_tuner(name, hypermodel, tmp_path, max_trials=3, seed=1)
    summary = search(tuner, hypermodel)
    assert summary["completed"] == 3
    scores = [row["score"] for row in summary["trials"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    if name == "hyperband":  # max_epochs = the run's 3 epochs; first bracket: 1-epoch budgets
        assert [row["values"]["tuner/epochs"] for row in summary["trials"]] == [1, 1, 1]
    best = tuner.get_best_models(1)[0]
    x_test, y_test = trainer.source(DIGITS).arrays("test")
    expected = float(np.mean(np.argmax(best.predict(x_test, verbose=0), -1) == y_test))
    assert summary["best_test_accuracy"] == pytest.approx(expected)
    table = format_table(summary)
    assert "val_accuracy" in table and "optimizer" in table and "test accuracy" in table


def test_a_search_resumes_in_its_directory(tmp_path):
    hypermodel = BigBatchHyperModel(DIGITS, KNOBS, verbose=False)
    first = search(make_tuner("random", hypermodel, tmp_path, max_trials=2, seed=1), hypermodel)
    again = make_tuner("random", hypermodel, tmp_path, max_trials=3, seed=1)
    assert len(again.oracle.trials) == 2  # reloaded, not rerun
    second = search(again, hypermodel)
    assert second["completed"] == 3
    before = {row["trial_id"]: row["score"] for row in first["trials"]}
    after = {row["trial_id"]: row["score"] for row in second["trials"]}
    assert all(after[trial] == score for trial, score in before.items() if trial in after)


def test_bad_tuner_arguments(tmp_path):
    hypermodel = BigBatchHyperModel(DIGITS, KNOBS, verbose=False)
    with pytest.raises(ValueError, match=r"one of \['random', 'bayesian', 'hyperband'\]"):
        make_tuner("grid", hypermodel, tmp_path)
    with pytest.raises(ValueError, match="`max_trials` must be an int >= 1"):
        make_tuner("random", hypermodel, tmp_path, max_trials=0)
    with pytest.raises(ValueError, match="must be a metric the trainer reports"):
        make_tuner("random", hypermodel, tmp_path, objective="test_accuracy")
    assert isinstance(make_tuner("random", hypermodel, tmp_path).oracle.objective,
                      keras_tuner.Objective)


def test_a_search_under_a_mirrored_strategy(tmp_path, mirrored):
    # Keras Tuner builds each trial inside distribution_strategy.scope(); the
    # hypermodel trains it there (2 replicas x 32 of the global batch 64)
    hypermodel = BigBatchHyperModel(DIGITS, {"optimizer": "lars", "ghost_batch_size": [0, 16, 32]},
                                    strategy=mirrored, verbose=False)
    tuner = make_tuner("random", hypermodel, tmp_path, max_trials=2, seed=3,
                       distribution_strategy=mirrored)
    summary = search(tuner, hypermodel)
    assert summary["completed"] == 2
    best = tuner.get_best_models(1)[0]
    assert best.distribute_strategy is mirrored
    x_test, y_test = trainer.source(DIGITS).arrays("test")
    expected = float(np.mean(np.argmax(best.predict(x_test, verbose=0), -1) == y_test))
    assert summary["best_test_accuracy"] == pytest.approx(expected)


def test_a_trial_cut_off_mid_write_is_replaced_and_the_search_resumes(tmp_path, capsys):
    # A kill while Keras Tuner rewrites a trial's trial.json leaves it empty:
    # resuming drops that trial (and its mentions in oracle.json), keeps the
    # finished ones, and the oracle makes a new trial in its place.
    import json
    import os

    hypermodel = BigBatchHyperModel(DIGITS, {"optimizer": ["sgd", "lars"]}, verbose=False)
    search(make_tuner("random", hypermodel, tmp_path, max_trials=1, seed=1), hypermodel)
    project = tmp_path / "search"
    (cut := project / "trial_1").mkdir()
    (cut / "trial.json").write_text("")  # the interrupted write
    oracle = json.loads((project / "oracle.json").read_text())
    oracle["ongoing_trials"] = {"tuner0": "1"}
    oracle["start_order"].append("1")
    (project / "oracle.json").write_text(json.dumps(oracle))
    finished = (project / "trial_0" / "trial.json").read_text()
    tuner = make_tuner("random", hypermodel, tmp_path, max_trials=2, seed=1)
    assert "trial 1: its trial.json was cut off by an interruption" in capsys.readouterr().out
    summary = search(tuner, hypermodel)
    assert summary["completed"] == 2
    assert (project / "trial_0" / "trial.json").read_text() == finished
    assert sorted(os.listdir(project)).count("trial_0") == 1


def test_an_oracle_cut_off_mid_write_is_named(tmp_path):
    hypermodel = BigBatchHyperModel(DIGITS, {"optimizer": ["sgd"]}, verbose=False)
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "oracle.json").write_text('{"ongoing_tri')
    with pytest.raises(ValueError, match=r"oracle.json was cut off by an interruption.*"
                                         r"--overwrite"):
        make_tuner("random", hypermodel, tmp_path, max_trials=1)
