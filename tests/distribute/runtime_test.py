"""The engine seam: both `Runtime`s answer the same questions the same way.

Checked against what defines them: the wrapped strategy's own counts, a real
MirroredStrategy over 2 logical CPU devices (its all-gather really gathers
both replicas), and the one-device keras.distribution runtime.
"""

import numpy as np
import pytest

from keras_bigbatch.distribute import KerasDistribution
from keras_bigbatch.distribute.runtime import KerasDistributionRuntime
from keras_bigbatch.distribute.runtime import Runtime
from keras_bigbatch.distribute.runtime import runtime_for
from tests.conftest import ON_TENSORFLOW


def test_runtime_for_returns_a_runtime_unchanged_and_wraps_keras_distribution():
    runtime = runtime_for(KerasDistribution())
    assert isinstance(runtime, KerasDistributionRuntime)
    assert runtime_for(runtime) is runtime
    assert (runtime.num_replicas, runtime.num_workers, runtime.worker_index) == (1, 1, 0)
    assert not runtime.is_multi_worker
    assert runtime.tf_distribute_strategy is None  # Keras Tuner gets no strategy


def test_one_device_keras_distribution_agrees_with_itself_and_refuses_batch_growth():
    runtime = runtime_for(KerasDistribution())
    np.testing.assert_array_equal(runtime.all_gather([3, 4]), [[3, 4]])
    assert runtime.agree_any(True) and not runtime.agree_any(False)
    assert not runtime.supports("batch_growth")
    with pytest.raises(ValueError, match=r"batch_growth.enabled=true` needs the TensorFlow "
                                         r"backend"):
        runtime.check_supports("batch_growth")
    assert runtime.normalization("batch") == "batch"  # one program over the global batch


def test_unknown_feature_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"`feature` must be one of \('batch_growth',\)"):
        runtime_for(KerasDistribution()).supports("micro_batches")


def test_the_interface_names_what_an_engine_did_not_implement():
    class Partial(Runtime):
        pass

    with pytest.raises(NotImplementedError, match="Partial does not implement `num_workers`"):
        Partial(object()).num_workers


@pytest.mark.skipif(not ON_TENSORFLOW, reason="tf.distribute needs TensorFlow")
def test_default_strategy_runtime():
    import tensorflow as tf

    runtime = runtime_for(None)
    assert runtime.strategy is tf.distribute.get_strategy()
    assert (runtime.num_replicas, runtime.num_workers, runtime.worker_index) == (1, 1, 0)
    assert runtime.device_kind == "cpu" and runtime.supports("batch_growth")
    assert runtime.normalization("batch") == "batch"
    assert runtime.compile_options("auto") == {"jit_compile": "auto"}
    assert runtime.precision("auto") == "float32"


def test_mirrored_runtime_gathers_every_replica_and_synchronizes_batch_norm(mirrored):
    runtime = runtime_for(mirrored)
    assert runtime.num_replicas == 2 and runtime.num_workers == 1
    assert runtime.tf_distribute_strategy is mirrored
    assert not runtime.is_multi_worker
    gathered = runtime.all_gather([5, 7])
    np.testing.assert_array_equal(gathered, [[5, 7], [5, 7]])  # one row per replica
    assert runtime.agree_any(True) is True
    assert runtime.normalization("batch") == "sync_batch"
    assert runtime.normalization("ghost") == "ghost"
    assert runtime.compile_options("auto") == {"jit_compile": False}  # XLA fails on 2 CPUs


def test_mirrored_runtime_feeds_global_batches_split_per_replica(mirrored):
    from keras_bigbatch import data

    source = data.get_source("digits", train_examples=64)
    runtime = runtime_for(mirrored)
    batches = iter(runtime.training_data(source, 16, seed=0, start_step=0))
    x, y = next(batches)
    shares = mirrored.experimental_local_results(y)
    assert [len(s) for s in shares] == [8, 8]
    expected_x, expected_y = next(iter(source.dataset("train", 16, seed=0)))
    np.testing.assert_array_equal(np.concatenate([np.asarray(s) for s in shares]), expected_y)


def test_mirrored_runtime_resumes_a_scheduled_epoch_at_its_step(mirrored):
    # What the trainer feeds a run resumed k steps into an epoch of a batch-size
    # schedule (BatchSizeScheduler.resume_at): the uninterrupted epoch's global
    # batches from step k on, split per replica.
    from keras_bigbatch import data
    from keras_bigbatch.callbacks import BatchSizeScheduler

    source, runtime = data.get_source("digits", train_examples=64), runtime_for(mirrored)

    def epoch_batches(epoch, skip):
        scheduler = BatchSizeScheduler({0: 16, 1: 32})
        feed = runtime.scheduled_training_data(source, scheduler, seed=4)
        scheduler._feeds[-1].set_epoch(epoch, scheduler.schedule(epoch), skip)
        return [[np.concatenate([np.asarray(s) for s in mirrored.experimental_local_results(v)])
                 for v in step] for step in feed]

    for epoch, skip in ((0, 3), (1, 1)):                # B = 16: 4 steps; B = 32: 2 steps
        straight, resumed = epoch_batches(epoch, 0), epoch_batches(epoch, skip)
        assert len(straight) == 64 // (16 * (1 + epoch)) and len(resumed) == len(straight) - skip
        for (x, y), (x2, y2) in zip(resumed, straight[skip:]):
            np.testing.assert_array_equal(y, y2)
            np.testing.assert_array_equal(x, x2)


def test_mirrored_runtime_lists_each_replicas_value_and_tells_replica_local_ones(mirrored):
    import keras

    runtime = runtime_for(mirrored)
    with mirrored.scope():
        weight = keras.Variable(np.ones(3, "float32"))
        metric = keras.metrics.Mean()
    assert len(runtime.local_values(weight)) == 2  # mirrored: one copy per replica
    assert not runtime.is_replica_local(weight)
    assert all(runtime.is_replica_local(v) for v in metric.variables)  # per-replica totals
    one = runtime_for(KerasDistribution())
    assert one.local_values(weight) == [weight] and not one.is_replica_local(weight)
