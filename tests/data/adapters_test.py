"""Your own data as a source: the batches every adapter yields, against the
global batches it was given (the definition of step t), and its errors."""

import numpy as np
import pytest

import keras_bigbatch as kb

ROWS, FEATURES = 64, 3


def _arrays():
    x = np.arange(ROWS * FEATURES, dtype="float32").reshape(ROWS, FEATURES)
    return x, np.arange(ROWS, dtype="int64") % 4


def _generator(split, global_batch_size, epoch=0):
    """One pass in an epoch-dependent order, as a user's generator would."""
    x, y = _arrays()
    order = np.random.default_rng(epoch).permutation(ROWS)
    for start in range(0, ROWS, global_batch_size):
        rows = order[start:start + global_batch_size]
        yield x[rows], y[rows]


def _global_batches(count, batch):
    """What step 0, 1, ... must see: epoch e's full batches, epoch after epoch."""
    steps, out = ROWS // batch, []
    for epoch in range(count // steps + 1):
        out += list(_generator("train", batch, epoch))[:steps]
    return out[:count]


def test_generator_yields_each_epochs_full_batches_and_resumes_at_the_step():
    data = kb.data.from_generator(_generator, ROWS, num_classes=4)
    expected = _global_batches(9, 24)  # 2 full batches of 24 per epoch; the 16 dropped
    stream = data.batches("train", 24)
    for want in expected:
        got = next(stream)
        np.testing.assert_array_equal(got[0], want[0])
    resumed = data.batches("train", 24, start_step=5)
    for want in expected[5:]:
        np.testing.assert_array_equal(next(resumed)[1], want[1])
    worker = data.batches("train", 24, shard=(1, 2), start_step=3)
    np.testing.assert_array_equal(next(worker)[0], expected[3][0][12:])


def test_generator_that_runs_short_is_an_error_naming_the_counts():
    def short(split, global_batch_size):
        x, y = _arrays()
        yield x[:global_batch_size], y[:global_batch_size]

    stream = kb.data.from_generator(short, ROWS, name="mine").batches("train", 16)
    next(stream)
    with pytest.raises(ValueError, match=r"'mine' ran short: in epoch 0 it ended after 1 "
                                         r"full batches of 16.*needs 4 per epoch"):
        next(stream)


def test_example_counts_and_classes_are_checked():
    with pytest.raises(ValueError, match="`num_examples`.*'train' required"):
        kb.data.from_generator(_generator, {"test": 4})
    with pytest.raises(ValueError, match="`generator_fn` must be a function"):
        kb.data.from_generator([1, 2], ROWS)
    with pytest.raises(ValueError, match="does not know its number of classes"):
        kb.data.from_generator(_generator, ROWS).num_classes
    assert kb.data.from_generator(_generator, ROWS).example_shape() == (FEATURES,)


@pytest.mark.tensorflow
def test_dataset_fn_without_input_context_feeds_each_replica_its_slice_of_global_batch_t():
    import tensorflow as tf

    calls = []

    def dataset_fn(split, global_batch_size, seed=0):
        calls.append((split, global_batch_size, seed))
        x, y = _arrays()
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch_size)

    data = kb.data.from_dataset_fn(dataset_fn, {"train": ROWS, "test": ROWS})
    assert data.example_shape() == (FEATURES,)
    x, _ = _arrays()
    steps = ROWS // 24
    want = [x[(t % steps) * 24:(t % steps + 1) * 24] for t in range(6)]  # repeated, 16 dropped
    # worker 1 of 2, 3 replicas per worker: rows [12, 24) of each global batch, in 3 batches of 4
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1,
                                         num_replicas_in_sync=6)
    got = [b[0].numpy() for b in data.dataset("train", 24, context, start_step=2).take(9)]
    for t in range(3):
        np.testing.assert_array_equal(np.concatenate(got[3 * t:3 * t + 3]), want[2 + t][12:])
    assert calls[-1] == ("train", 24, 0)
    test = list(data.dataset("test", 24))
    assert [len(b[1]) for b in test] == [24, 24, 16]  # one pass, the last partial


@pytest.mark.tensorflow
def test_dataset_fn_with_input_context_and_start_step_is_called_with_them():
    import tensorflow as tf

    seen = []

    def dataset_fn(split, global_batch_size, input_context=None, start_step=0):
        seen.append((input_context.num_replicas_in_sync, input_context.input_pipeline_id,
                     start_step))
        batch = input_context.get_per_replica_batch_size(global_batch_size)
        x, y = _arrays()
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)

    data = kb.data.from_dataset_fn(dataset_fn, ROWS)
    context = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0,
                                         num_replicas_in_sync=2)
    batches = list(data.dataset("train", 16, context, start_step=3).take(2))
    assert seen[-1] == (2, 0, 3) and [len(b[1]) for b in batches] == [8, 8]
