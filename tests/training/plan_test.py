"""`plan(config, strategy) -> Run`: durations and checks, made once, before training."""

import pytest

from keras_bigbatch.distribute import KerasDistribution
from keras_bigbatch.training.config import merge
from keras_bigbatch.training.plan import plan

DIGITS = {  # 1348 training examples
    "name": "digits", "seed": 1, "data": {"source": "digits"},
    "model": {"name": "mlp", "hidden_units": (8,), "normalization": "ghost",
              "virtual_batch_size": 16},
    "schedule": {"batch_size": 64, "epochs": 3, "learning_rate": 0.1},
}
ONE_DEVICE = KerasDistribution()  # any backend, no TensorFlow needed


def test_a_plan_holds_the_durations_of_the_schedule():
    run = plan(DIGITS, ONE_DEVICE)
    assert run.steps_per_epoch == 1348 // 64 == 21
    assert run.epochs == 3 and run.updates_before == (0, 21, 42, 63)
    assert [run.epoch_steps(e) for e in range(3)] == [21, 21, 21]
    assert (run.global_batch_size, run.per_replica_batch_size, run.num_replicas) == (64, 64, 1)
    assert run.describe().endswith("1 replica(s) x 64 = global batch 64; 63 updates")
    assert run.describe(1).endswith("; 21 updates")


@pytest.mark.tensorflow  # batch growth feeds tf.data
def test_batch_growth_counts_every_phase_by_its_own_batch():
    config = merge(DIGITS, {"schedule": {"batch_size": 64, "epochs": 3, "learning_rate": 0.2,
                                         "boundaries": (1, 2), "decay": 0.5},
                            "batch_growth": {"enabled": True, "max_batch_size": 128}})
    run = plan(config, None)
    # batch 64 for epoch 0, then 128 (max 128: the second decay halves the rate)
    assert run.steps_per_epoch is None
    assert run.updates_before == (0, 1348 // 64, 1348 // 64 + 1348 // 128,
                                  1348 // 64 + 2 * (1348 // 128))


def test_steps_per_execution_must_divide_every_epoch_before_anything_is_built():
    with pytest.raises(ValueError, match=r"`steps_per_execution` \(4\) must divide the steps of "
                                         r"every epoch \(\[21\]\).*Valid: \[1, 3, 7, 21\]"):
        plan(merge(DIGITS, {"steps_per_execution": 4}), ONE_DEVICE)


def test_a_batch_larger_than_the_data_is_refused_by_the_plan():
    with pytest.raises(ValueError, match="batch"):
        plan(merge(DIGITS, {"schedule.batch_size": 4096, "model.normalization": "none"}),
             ONE_DEVICE)


def test_a_ghost_batch_that_does_not_divide_the_batch_is_refused():
    with pytest.raises(ValueError, match=r"virtual_batch_size` \(24\) must divide"):
        plan(merge(DIGITS, {"model.virtual_batch_size": 24}), ONE_DEVICE)
