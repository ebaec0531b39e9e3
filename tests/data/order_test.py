"""`order.py`: which rows make global batch t, in its numpy and tf forms.

The two forms differ by design in the permutation (numpy's `default_rng`
vs `index_shuffle`, each kept bit for bit for resume and recorded results);
they agree in everything else: the same positions of the epoch's
permutation for the same (seed, step, shard). The pipelines and `batches`
follow the module exactly.
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_bigbatch.callbacks import BatchSizeScheduler
from keras_bigbatch.data import ArraySource
from keras_bigbatch.data import make_dataset
from keras_bigbatch.data import make_scheduled_dataset
from keras_bigbatch.data import order


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: the order builds no Keras state."""
    yield


N, B = 50, 8                  # 6 steps per epoch, 2 examples dropped
STEPS = N // B


def ids_source():
    """Example i has x = [i, -i] and label i: a batch's labels are its rows."""
    ids = np.arange(N)
    test = np.arange(1000, 1007)
    return ArraySource("ids", (np.stack([ids, -ids], 1).astype(np.float32), ids),
                       (np.stack([test, -test], 1).astype(np.float32), test), num_classes=3)


def tf_epoch(seed, epoch, count):
    """The tf form's whole permutation of `epoch`."""
    return order.tf_permuted(seed, epoch, tf.range(count, dtype=tf.int64), count).numpy()


def labels(dataset, count=None):
    dataset = dataset if count is None else dataset.take(count)
    return [y.numpy().tolist() for _, y in dataset]


def context(workers, worker, replicas):
    return tf.distribute.InputContext(
        num_input_pipelines=workers, input_pipeline_id=worker, num_replicas_in_sync=replicas)


# Positions: plain arithmetic, shared by both forms.

def test_epoch_and_index_and_slice_positions():
    assert order.epoch_and_index(13, STEPS) == (2, 1)          # 13 = 2 * 6 + 1
    # batch 1, B = 8, worker 1 of 2: b = 4, start = 1 * 8 + 1 * 4 = 12
    assert order.slice_positions(1, 8, (1, 2)) == (12, 16)
    assert order.slice_positions(1, 8) == (8, 16)             # one worker: the whole batch
    start, stop = order.slice_positions(tf.constant(1, tf.int64), tf.constant(8, tf.int64), (1, 2))
    assert (int(start), int(stop)) == (12, 16)                # the same for tensors


# Golden: the exact order of today's runs (resume and results rely on it).

def test_golden_permutations_of_both_forms():
    assert order.epoch_permutation(3, 0, 10).tolist() == [9, 6, 0, 2, 1, 4, 7, 5, 3, 8]
    assert order.epoch_permutation(3, 1, 10).tolist() == [4, 1, 2, 8, 5, 0, 7, 9, 6, 3]
    assert tf_epoch(3, 0, 10).tolist() == [4, 0, 2, 9, 1, 3, 5, 8, 6, 7]
    assert tf_epoch(3, 1, 10).tolist() == [9, 3, 5, 1, 0, 7, 8, 4, 2, 6]
    # epoch 1, batch 1, B = 4, worker 1 of 2: positions [6, 8) of each permutation
    assert order.batch_rows(3, 1, 1, 10, 4, (1, 2)).tolist() == [7, 9]
    assert order.tf_batch_rows(3, 1, 1, 10, 4, (1, 2)).numpy().tolist() == [8, 4]


def test_golden_batches_of_the_pipelines():
    source = ids_source()
    assert labels(source.dataset("train", B, seed=3), 2) == [
        [49, 10, 29, 13, 1, 47, 34, 35], [21, 43, 28, 37, 20, 22, 7, 27]]
    assert [y.tolist() for _, y in itertools.islice(source.batches("train", B, seed=3), 2)] == [
        [2, 11, 17, 28, 32, 23, 30, 41], [25, 39, 4, 3, 40, 46, 35, 18]]


# The two forms agree: the same positions for the same (seed, step, shard).

@pytest.mark.parametrize("seed", [0, 7, 2**40])
@pytest.mark.parametrize("count, batch, workers", [(50, 8, 1), (50, 8, 2), (12, 12, 4), (9, 2, 2)])
def test_both_forms_take_the_same_positions(seed, count, batch, workers):
    steps = count // batch
    for step in range(2 * steps + 1):
        epoch, index = order.epoch_and_index(step, steps)
        forms = {"numpy": order.epoch_permutation(seed, epoch, count),
                 "tf": tf_epoch(seed, epoch, count)}
        for perm in forms.values():
            assert sorted(perm.tolist()) == list(range(count))   # a permutation
        whole = []
        for worker in range(workers):
            shard = (worker, workers)
            rows = {"numpy": order.batch_rows(seed, epoch, index, count, batch, shard),
                    "tf": order.tf_batch_rows(seed, epoch, index, count, batch, shard).numpy()}
            # Where each form's rows sit in its own permutation: the same positions.
            positions = {name: np.argsort(forms[name])[rows[name]].tolist() for name in forms}
            start, stop = order.slice_positions(index, batch, shard)
            assert positions["numpy"] == positions["tf"] == list(range(start, stop))
            whole.append(rows["numpy"])
        # The workers' slices, in worker order, make up the global batch.
        start, stop = order.slice_positions(index, batch)
        np.testing.assert_array_equal(np.concatenate(whole), forms["numpy"][start:stop])


def test_the_forms_permute_differently_by_design():
    # numpy has no index_shuffle: the same seed orders the data differently on
    # TensorFlow than on JAX and PyTorch.
    assert order.epoch_permutation(0, 0, N).tolist() != tf_epoch(0, 0, N).tolist()


def test_training_rows_is_the_numpy_form_step_by_step():
    got = list(itertools.islice(order.training_rows(5, 4, N, B, (1, 2)), 3 * STEPS))
    for t, rows in enumerate(got, start=4):
        epoch, index = order.epoch_and_index(t, STEPS)
        np.testing.assert_array_equal(rows, order.batch_rows(5, epoch, index, N, B, (1, 2)))


# Every pipeline follows the module.

def tf_rows_of_step(seed, step, shard=(0, 1), batch=B):
    epoch, index = order.epoch_and_index(step, N // batch)
    return order.tf_batch_rows(seed, epoch, index, N, batch, shard).numpy().tolist()


def test_source_dataset_and_make_dataset_follow_the_tf_form():
    source = ids_source()
    x, y = source.arrays("train")
    start = STEPS - 2                                  # crosses an epoch boundary
    want = [tf_rows_of_step(4, t) for t in range(start, start + 8)]
    assert labels(source.dataset("train", B, seed=4, start_step=start), 8) == want
    assert labels(make_dataset(x, y, B, seed=4, repeat=True, start_step=start), 8) == want
    # Worker w of 2, 2 replicas each: per-replica halves of the worker's slice.
    for worker in range(2):
        got = labels(source.dataset("train", B, context(2, worker, 4), seed=4,
                                    start_step=start), 16)
        slices = [tf_rows_of_step(4, t, (worker, 2)) for t in range(start, start + 8)]
        assert got == [part for rows in slices for part in (rows[:2], rows[2:])]


def test_batches_follow_the_numpy_form():
    source = ids_source()
    got = itertools.islice(source.batches("train", B, seed=4, shard=(1, 2), start_step=5), 8)
    for t, (_, y) in enumerate(got, start=5):
        epoch, index = order.epoch_and_index(t, STEPS)
        assert y.tolist() == order.batch_rows(4, epoch, index, N, B, (1, 2)).tolist()


def scheduled_labels(dataset, scheduler, epochs):
    """Labels of each `(epoch, global batch, steps to skip)`, set as the callback would."""
    feed = scheduler._feeds[-1]
    out = []
    for epoch, batch, skip in epochs:
        feed.set_epoch(epoch, batch, skip)
        out.append(labels(dataset))
    return out


EPOCHS = ((0, 8, 0), (1, 8, 2), (2, 16, 0), (5, 16, 1))


def test_schedules_follow_the_tf_form():
    source = ids_source()
    x, y = source.arrays("train")

    def want(shard=(0, 1), replicas=1):
        out = []
        for epoch, batch, skip in EPOCHS:
            rows = [order.tf_batch_rows(6, epoch, i, N, batch, shard).numpy().tolist()
                    for i in range(skip, N // batch)]
            part = batch // shard[1] // replicas
            out.append([r[j:j + part] for r in rows for j in range(0, len(r), part)])
        return out

    scheduler = BatchSizeScheduler({0: 8, 2: 16})
    dataset = make_scheduled_dataset(x, y, scheduler, seed=6)
    assert scheduled_labels(dataset, scheduler, EPOCHS) == want()
    scheduler = BatchSizeScheduler({0: 8, 2: 16})
    dataset = source.scheduled_dataset(scheduler, 1, seed=6)
    assert scheduled_labels(dataset, scheduler, EPOCHS) == want()
    for worker in range(2):  # 2 workers, 4 replicas: per-replica quarters of global batches
        scheduler = BatchSizeScheduler({0: 8, 2: 16})
        dataset = source.scheduled_dataset(scheduler, 4, context(2, worker, 4), seed=6)
        assert scheduled_labels(dataset, scheduler, EPOCHS) == want((worker, 2), 2)
