"""`schedule.updates`: a run of T updates trains exactly T, its last epoch shorter.

What defines it: the same updates as a run of whole epochs stopped at update
T (same data order, same rates), and a run resumed inside the short last
epoch equal to the uninterrupted one. Digits, 1348 training examples at
batch 64: 21 updates per epoch, so T = 50 is 21 + 21 + 8.
"""

import keras
import numpy as np
import pytest

from keras_bigbatch.training import build
from keras_bigbatch.training import fit
from keras_bigbatch.training import train
from keras_bigbatch.training.plan import plan
from tests.training.trainer_test import digits_config
from tests.training.trainer_test import weights

UPDATES = 50


class _StopAt(keras.callbacks.Callback):
    """Keeps the weights after update `step`, then raises (an interruption)."""

    def __init__(self, step):
        super().__init__()
        self.step, self.weights = step, None

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == self.step:
            self.weights = weights(self.model)
            raise RuntimeError("stopped")


def _config(**changes):
    # A constant rate: the first T updates of a longer run are the same updates.
    return digits_config(**{"schedule.epochs": 3, "evaluation.evaluations": 3, **changes})


def test_the_plan_ends_the_last_epoch_at_the_updates():
    run = plan(_config(**{"schedule.updates": UPDATES}))
    assert (run.steps_per_epoch, run.epochs, run.updates_before) == (21, 3, (0, 21, 42, 50))
    assert run.describe().endswith("; 50 updates")


def test_the_updates_equal_a_longer_run_stopped_there():
    result = train(_config(**{"schedule.updates": UPDATES}), verbose=False)
    assert result["updates"] == UPDATES == int(result["model"].optimizer.iterations)
    assert (result["epochs"], result["steps_per_epoch"]) == (3, 21)
    assert result["curve"]["updates"][-1] == UPDATES
    longer = _config()
    stop = _StopAt(UPDATES)
    with pytest.raises(RuntimeError, match="stopped"):
        fit(longer, build(longer), callbacks=[stop], verbose=False)
    for a, b in zip(weights(result["model"]), stop.weights):
        np.testing.assert_array_equal(a, b)


def test_a_run_stopped_in_the_short_last_epoch_resumes_exactly(tmp_path, capsys):
    config = _config(**{"schedule.updates": UPDATES, "checkpoint.every_steps": 5})
    whole = train(config, verbose=False)
    with pytest.raises(RuntimeError, match="stopped"):
        fit(config, build(config), callbacks=[_StopAt(47)], verbose=False,
            checkpoint_dir=tmp_path)
    model = build(config)
    capsys.readouterr()
    resumed = fit(config, model, verbose=True, checkpoint_dir=tmp_path)
    assert "step 45 (epoch 3, 3 of 8 steps done)" in capsys.readouterr().out
    assert resumed["updates"] == UPDATES
    for a, b in zip(weights(model), weights(whole["model"])):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert resumed["test_accuracy"] == pytest.approx(whole["test_accuracy"], abs=1e-9)


def test_batch_growth_refuses_a_length_in_updates():
    with pytest.raises(ValueError, match=r"count its length in epochs \(updates=None\)"):
        plan(_config(**{"schedule.updates": UPDATES, "schedule.boundaries": (2,),
                        "batch_growth.enabled": True}))


def test_updates_and_epochs_that_disagree_are_named():
    # e.g. `--set schedule.epochs=1` on a recipe that counts updates
    with pytest.raises(ValueError, match=r"`schedule.updates`=50 is 2.38 epochs of 21 updates at "
                                         r"batch 64, but `schedule.epochs`=1: give the length "
                                         r"once \(schedule.updates=None to train 1 epochs, or "
                                         r"schedule.updates=21\)"):
        plan(_config(**{"schedule.updates": UPDATES, "schedule.epochs": 1}))
