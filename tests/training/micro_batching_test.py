"""`micro_batch_size` through `plan`, `build` and `fit`: the same run as without it.

The run without micro-batching defines correctness: weights, updates,
curves and accuracies equal it (rtol 1e-5) when the ghost size divides the
micro batch, under the default strategy, MirroredStrategy over 2 logical
CPUs, with batch growth, and across a resume that switches micro-batching on.
"""

import keras
import numpy as np
import pytest

from keras_bigbatch.checkpoint import settings
from keras_bigbatch.training import build
from keras_bigbatch.training import fit
from keras_bigbatch.training import train
from keras_bigbatch.training.plan import choose_micro_batch_size
from keras_bigbatch.training.plan import plan
from tests.training.trainer_test import digits_config
from tests.training.trainer_test import weights

# digits: 1348 training rows; batch 64 = 21 updates per epoch. Ghost 8,
# micro 16: k = 4 passes of 16 rows on one replica, 2 per replica on two.
GHOST = {"model.virtual_batch_size": 8, "evaluation.train_accuracy": False}


def _assert_same_run(a, b):
    assert a["updates"] == b["updates"]
    assert a["curve"]["updates"] == b["curve"]["updates"]
    for u, v in zip(weights(a["model"]), weights(b["model"])):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=1e-9)


@pytest.mark.parametrize("optimizer", ["sgd", "lars"])
def test_micro_batches_equal_the_whole_batch(optimizer):
    config = digits_config(**GHOST, **{"optimizer.name": optimizer,
                                       "schedule.warmup_epochs": 1})
    whole = train(config, verbose=False)
    micro = train(dict(config, micro_batch_size=16), verbose=False)
    assert micro["updates"] == 2 * 21 == int(micro["model"].optimizer.iterations)
    _assert_same_run(micro, whole)


@pytest.mark.tensorflow
def test_mirrored_micro_batches_equal_one_device(mirrored):
    config = digits_config(**GHOST, jit_compile=False)
    one = train(config, verbose=False)
    two = train(dict(config, micro_batch_size=16), strategy=mirrored, verbose=False)
    assert two["num_replicas"] == 2
    _assert_same_run(two, one)


def test_batch_growth_grows_the_passes_at_a_fixed_micro_batch(capsys):
    # Smith et al.'s growth: batch 64 -> 320 at epoch 1 (decay 0.2); micro 16
    # gives k = 4 -> 20 passes, the memory of 16 rows throughout.
    growth = {"batch_growth.enabled": True, "schedule.boundaries": (1,), "schedule.decay": 0.2}
    config = digits_config(**GHOST, **growth)
    whole = train(config, verbose=False)
    micro = train(dict(config, micro_batch_size=16))
    assert "micro batches of 16 x 4 passes (up to 20 as the batch grows)" in capsys.readouterr().out
    _assert_same_run(micro, whole)


class _StopAt(keras.callbacks.Callback):
    """Raises after update `step` (an interruption, as a crash would)."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == self.step:
            raise RuntimeError("stopped")


@pytest.mark.parametrize("first, then", [(None, 16), (16, None)])
def test_a_checkpoint_resumes_with_or_without_micro_batches(tmp_path, capsys, first, then):
    # The update is the same either way, so `micro_batch_size` may change on
    # resume: stopped at update 25 (checkpoint at 20), resumed the other way,
    # the run equals the uninterrupted one.
    config = digits_config(**GHOST, **{"checkpoint.every_steps": 10, "schedule.epochs": 3})
    whole = train(config, verbose=False)
    stopped = dict(config, micro_batch_size=first)
    with pytest.raises(RuntimeError, match="stopped"):
        fit(stopped, build(stopped), callbacks=[_StopAt(25)], verbose=False,
            checkpoint_dir=tmp_path)
    assert "micro_batch_size" not in settings(stopped, 1)
    resumed = dict(config, micro_batch_size=then)
    model = build(resumed)
    capsys.readouterr()
    result = fit(resumed, model, verbose=True, checkpoint_dir=tmp_path)
    assert "step 20 (epoch 1, 20 of 21 steps done)" in capsys.readouterr().out
    _assert_same_run(result.with_model(model), whole)


def test_header_says_what_plain_batch_normalization_normalizes():
    config = digits_config(**{"model.normalization": "batch", "model.virtual_batch_size": None,
                              "micro_batch_size": 16})
    header = plan(config).describe()
    assert "in micro batches of 16 x 4 passes" in header
    assert "batch normalization over each micro batch's 16 rows (ghost BN with ghost 16)" in header


def test_bad_micro_batch_sizes_are_named():
    with pytest.raises(ValueError, match=r"`micro_batch_size` \(5\) must divide the per-replica "
                                         r"batch size \(64\).*Valid: \[1, 2, 4, 8, 16, 32, 64\]"):
        plan(digits_config(micro_batch_size=5))
    with pytest.raises(ValueError, match=r"`model.virtual_batch_size` \(32\) must divide "
                                         r"`micro_batch_size` \(16\).*Valid micro batch sizes: "
                                         r"\[32, 64\]"):
        plan(digits_config(micro_batch_size=16))
    with pytest.raises(ValueError, match="not supported with optimizer 'cblr'"):
        plan(digits_config(micro_batch_size=32, **{"optimizer.name": "cblr"}))
    with pytest.raises(ValueError, match="`optimizer.gradient_accumulation_steps` is not "
                                         "supported.*--set micro_batch_size=N"):
        plan(digits_config(**{"optimizer.gradient_accumulation_steps": 4}))
    with pytest.raises(ValueError, match="`micro_batch_size` must be"):
        plan(digits_config(micro_batch_size=0))
    if keras.backend.backend() == "tensorflow":  # Grappler and nested loops; XLA is fine
        with pytest.raises(ValueError, match=r"`steps_per_execution` \(3\) > 1 with "
                                             "`micro_batch_size` needs XLA on TensorFlow"):
            plan(digits_config(**GHOST, micro_batch_size=16, steps_per_execution=3,
                               jit_compile=False))
        plan(digits_config(**GHOST, micro_batch_size=16, steps_per_execution=3,
                           jit_compile=True))


def test_choose_micro_batch_size_takes_the_largest_that_fits():
    config = digits_config(**GHOST)  # per-replica 64, ghost 8
    assert choose_micro_batch_size(config, 1, 64) is None  # the whole batch fits
    assert choose_micro_batch_size(config, 1, 40) == 32
    assert choose_micro_batch_size(config, 2, 20) == 16  # per-replica 32
    with pytest.raises(ValueError, match="smallest valid one is 8"):
        choose_micro_batch_size(config, 1, 5)
