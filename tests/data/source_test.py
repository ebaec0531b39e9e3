import os
import re

import numpy as np
import pytest
import tensorflow as tf

from keras_bigbatch.data import ArraySource
from keras_bigbatch.data import DataFileError
from keras_bigbatch.data import digits_source
from keras_bigbatch.data import fashion_mnist_source
from keras_bigbatch.data import get_source
from keras_bigbatch.data import register_source
from keras_bigbatch.data import registry
from keras_bigbatch.data import source_arguments
from keras_bigbatch.data import source_names
from keras_bigbatch.data.fashion_mnist import DEFAULT_DIR


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: sources build no Keras state, so skip the reset."""
    yield


N_TRAIN, N_TEST, BATCH = 50, 7, 8      # 6 full batches per epoch, 2 examples dropped
STEPS = N_TRAIN // BATCH


def ids_source(n_train=N_TRAIN, n_test=N_TEST):
    """Example i has x = [i, -i] and label i: batches show which examples they hold."""
    def split(n, offset=0):
        ids = np.arange(offset, offset + n)
        return np.stack([ids, -ids], axis=1).astype(np.float32), ids
    return ArraySource("ids", split(n_train), split(n_test, offset=1000), num_classes=3)


def labels(dataset, count=None):
    dataset = dataset if count is None else dataset.take(count)
    out = []
    for x, y in dataset:
        np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy())   # x and y stay paired
        out.append(y.numpy().tolist())
    return out


def context(workers, worker, replicas):
    return tf.distribute.InputContext(
        num_input_pipelines=workers, input_pipeline_id=worker, num_replicas_in_sync=replicas)


# Sizes, classes, element_spec.

def test_array_source_describes_itself():
    source = ids_source()
    assert source.name == "ids"
    assert source.num_examples("train") == N_TRAIN and source.num_examples("test") == N_TEST
    assert source.num_classes == 3
    assert source.steps_per_epoch(BATCH) == STEPS
    x_spec, y_spec = source.element_spec
    assert x_spec == tf.TensorSpec((2,), tf.float32) and y_spec == tf.TensorSpec((), tf.int64)
    assert repr(source) == "ArraySource(name='ids', train=50, test=7, classes=3)"
    x, y = source.arrays("test")
    assert y.tolist() == list(range(1000, 1007))
    # Training batches have a static shape: the global batch, then the example's.
    assert source.dataset("train", BATCH).element_spec == (
        tf.TensorSpec((BATCH, 2), tf.float32), tf.TensorSpec((BATCH,), tf.int64))


def test_array_source_num_classes_default_and_checks():
    train = (np.zeros((4, 1)), np.array([0, 4, 1, 2]))
    test = (np.zeros((2, 1)), np.array([6, 0]))
    assert ArraySource("a", train, test).num_classes == 7        # 1 + largest label
    with pytest.raises(ValueError, match=r"same number of examples\. Received: len\(x\)=4, len\(y\)=3"):
        ArraySource("a", (np.zeros((4, 1)), np.zeros(3)), test)


def test_digits_source():
    source = digits_source()
    assert source.name == "digits" and source.num_classes == 10
    # 1797 images, round(1797 * 0.25) = 449 held out.
    assert (source.num_examples("train"), source.num_examples("test")) == (1348, 449)
    assert source.element_spec == (tf.TensorSpec((8, 8), tf.float32), tf.TensorSpec((), tf.int64))
    x, y = source.arrays("train")
    assert 0.0 <= x.min() and x.max() <= 1.0 and set(y.tolist()) == set(range(10))


def test_digits_source_truncation():
    full = digits_source()
    small = digits_source(train_examples=100, test_examples=30)
    assert (small.num_examples("train"), small.num_examples("test")) == (100, 30)
    # The first N examples of each split, not a resample.
    np.testing.assert_array_equal(small.arrays("train")[0], full.arrays("train")[0][:100])
    np.testing.assert_array_equal(small.arrays("test")[1], full.arrays("test")[1][:30])
    assert digits_source(train_examples=5000).num_examples("train") == 1348
    other = digits_source(test_fraction=0.5, split_seed=1)
    assert other.num_examples("test") == 898            # round(1797 * 0.5) = 898 (half to even)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match=rf"`train_examples` must be a positive integer\. "
                                             rf"Received: train_examples={bad}"):
            digits_source(train_examples=bad)
    with pytest.raises(ValueError, match=r"Received: test_examples=0"):
        digits_source(test_examples=0)


def test_fashion_mnist_source_missing_folder(tmp_path):
    with pytest.raises(DataFileError, match="Fashion-MNIST folder not found"):
        fashion_mnist_source(dir=str(tmp_path / "nowhere"))


@pytest.mark.skipif(not os.path.isdir(DEFAULT_DIR), reason="Fashion-MNIST is not installed")
def test_fashion_mnist_source_truncation():
    source = fashion_mnist_source(train_examples=256, test_examples=100)
    assert source.name == "fashion_mnist" and source.num_classes == 10
    assert (source.num_examples("train"), source.num_examples("test")) == (256, 100)
    assert source.element_spec == (tf.TensorSpec((28, 28), tf.float32), tf.TensorSpec((), tf.int64))
    x, _ = source.arrays("train")
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() == 1.0


# Training order: a pure function of (seed, step).

def test_start_step_continues_the_uninterrupted_stream():
    source = ids_source()
    stream = labels(source.dataset("train", BATCH, seed=3), 3 * STEPS)
    # Within the first epoch, at the boundary, and in later epochs.
    for start in (1, STEPS - 1, STEPS, STEPS + 1, 2 * STEPS + 2):
        assert labels(source.dataset("train", BATCH, seed=3, start_step=start), 4) == \
            stream[start:start + 4], start


def test_same_seed_same_batches_other_seed_other_batches():
    source = ids_source()
    first = labels(source.dataset("train", BATCH, seed=5), 2 * STEPS)
    assert labels(source.dataset("train", BATCH, seed=5), 2 * STEPS) == first
    # Another source object over the same arrays: the order depends on nothing else.
    assert labels(ids_source().dataset("train", BATCH, seed=5), 2 * STEPS) == first
    assert labels(source.dataset("train", BATCH, seed=6), 2 * STEPS) != first


def test_every_epoch_is_a_permutation():
    source = ids_source()
    stream = labels(source.dataset("train", BATCH, seed=0), 5 * STEPS)
    epochs = [sum(stream[e * STEPS:(e + 1) * STEPS], []) for e in range(5)]
    for epoch in epochs:
        # Only full batches; no example twice; the remainder (2) dropped.
        assert len(epoch) == STEPS * BATCH == len(set(epoch))
        assert set(epoch) <= set(range(N_TRAIN))
    assert epochs[0] != epochs[1]                      # reshuffled every epoch
    # The dropped remainder changes with the epoch: no example is left out for good.
    assert set().union(*epochs) == set(range(N_TRAIN))


@pytest.mark.parametrize("workers, replicas", [(2, 2), (2, 4), (1, 2)])
def test_replicas_of_step_t_see_global_batch_t(workers, replicas):
    source = ids_source()
    local = replicas // workers                        # replicas per worker
    steps, start = STEPS + 3, STEPS - 2                # crosses an epoch boundary
    expected = labels(source.dataset("train", BATCH, seed=2), start + steps)[start:]
    per_worker = []
    for worker in range(workers):
        dataset = source.dataset("train", BATCH, context(workers, worker, replicas),
                                 seed=2, start_step=start)
        # Each element is one per-replica batch, with a static shape.
        assert dataset.element_spec[1].shape == (BATCH // replicas,)
        per_worker.append(labels(dataset, steps * local))
    # Local replica j of a worker takes that worker's elements j, j + local, ...
    got = [sum((per_worker[w][t * local + j] for w in range(workers) for j in range(local)), [])
           for t in range(steps)]
    assert got == expected


def scheduled_epoch(source, epoch, skip, input_context=None, replicas=1):
    """Labels of `epoch` of a batch-size schedule {0: 8, 1: 16}, resumed `skip` steps
    in, as `BatchSizeScheduler.on_epoch_begin` sets the feed."""
    from keras_bigbatch.callbacks import BatchSizeScheduler

    scheduler = BatchSizeScheduler({0: BATCH, 1: 2 * BATCH})
    dataset = source.scheduled_dataset(scheduler, replicas, input_context, seed=7)
    scheduler._feeds[-1].set_epoch(epoch, scheduler.schedule(epoch), skip)
    return labels(dataset)


def test_a_resumed_schedule_epoch_starts_at_its_batch():
    # Resumed k steps into an epoch, the source's own stream starts at global batch
    # k: it holds only the uninterrupted epoch's last (S - k) * b examples, so the
    # pipeline gathers nothing only to skip it. The scheduled dataset then yields
    # the uninterrupted epoch's per-replica batches from step k on.
    source = ids_source()
    epoch, batch = tf.constant(1, tf.int64), tf.constant(2 * BATCH, tf.int64)
    steps = N_TRAIN // (2 * BATCH)                                     # 3
    for shard in ((0, 1), (1, 2)):
        part = 2 * BATCH // shard[1]

        def stream(first):
            return labels(source._epoch_examples(
                7, epoch, shard, batch, tf.constant(first, tf.int64)).batch(part))

        whole = stream(0)
        assert len(whole) == steps
        for first in (1, 2):
            assert stream(first) == whole[first:]
    for epoch, skip in ((0, 4), (1, 2)):                               # B = 8, 16
        assert scheduled_epoch(source, epoch, skip) == scheduled_epoch(source, epoch, 0)[skip:]
        for worker in (0, 1):                                          # 2 workers, 2 replicas each
            ctx = context(2, worker, 4)
            assert scheduled_epoch(source, epoch, skip, ctx, 4) == \
                scheduled_epoch(source, epoch, 0, ctx, 4)[2 * skip:]


# Evaluation: one ordered pass, last partial batch kept.

def test_evaluation_covers_every_example_once_in_order():
    source = ids_source()
    assert labels(source.dataset("test", 3)) == [[1000, 1001, 1002], [1003, 1004, 1005], [1006]]
    # A batch larger than the split: one partial batch.
    assert labels(source.dataset("test", 64)) == [list(range(1000, 1007))]
    # The training split, read for evaluation, ignores the seed.
    train = labels(source.dataset("train", BATCH, training=False, seed=9))
    assert [len(b) for b in train] == [8] * STEPS + [2]
    assert sum(train, []) == list(range(N_TRAIN))
    # And it is finite: a second pass sees the same batches.
    dataset = source.dataset("test", 4)
    assert labels(dataset) == labels(dataset) == [[1000, 1001, 1002, 1003], [1004, 1005, 1006]]


# Errors.

def test_dataset_errors():
    source = ids_source()
    with pytest.raises(ValueError, match=r"Argument `split` must be one of \('train', "
                                         r"'validation', 'test'\)\. Received: split='val'"):
        source.dataset("val", BATCH)
    with pytest.raises(ValueError, match=r"has no 'validation' split: `hold_out\(count\)`"):
        source.dataset("validation", BATCH)
    with pytest.raises(ValueError, match=r"`global_batch_size` \(10\) must be divisible by the "
                                         r"number of replicas \(4\).*\[8, 12\]"):
        source.dataset("train", 10, context(2, 0, 4))
    with pytest.raises(ValueError, match=r"`global_batch_size` \(51\) is larger than the 50 "
                                         r"training examples"):
        source.dataset("train", 51)
    with pytest.raises(ValueError, match=r"`global_batch_size` must be a positive integer"):
        source.dataset("test", 0)
    with pytest.raises(ValueError, match=r"`start_step` must be an integer >= 0\. "
                                         r"Received: start_step=-1"):
        source.dataset("train", BATCH, start_step=-1)
    with pytest.raises(ValueError, match=r"`start_step` applies to training datasets only\. "
                                         r"Received: start_step=3, training=False"):
        source.dataset("test", 4, start_step=3)
    with pytest.raises(ValueError, match="training datasets only"):
        source.dataset("train", 4, training=False, start_step=1)


# Registry.

@pytest.fixture
def own_registry(monkeypatch):
    """Registrations made by a test vanish after it."""
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))


def test_registered_sources():
    assert {"digits", "fashion_mnist"} <= set(source_names())
    assert source_names() == sorted(source_names())
    assert source_arguments("digits") == {
        "test_fraction": 0.25, "split_seed": 0, "train_examples": None, "test_examples": None}
    assert source_arguments("fashion_mnist") == {
        "dir": None, "train_examples": None, "test_examples": None, "download": False}
    source = get_source("digits", train_examples=64, split_seed=0)
    assert source.name == "digits" and source.num_examples("train") == 64


def test_registry_errors():
    names = source_names()
    with pytest.raises(ValueError, match=re.escape(
            f"Argument `data.source` must name a registered data source, one of {names}. "
            "Received: data.source='cifar'")):
        get_source("cifar")
    with pytest.raises(ValueError, match="Received: data.source='cifar'"):
        source_arguments("cifar")
    with pytest.raises(ValueError, match=(
            r"Data source 'digits' takes the arguments \['split_seed', 'test_examples', "
            r"'test_fraction', 'train_examples'\]; unknown: \['seed', 'train_size'\]")):
        get_source("digits", seed=1, train_size=10, split_seed=0)


def test_register_source(own_registry):
    @register_source("ids")
    def make_ids(n_train=N_TRAIN):
        return ids_source(n_train)

    assert "ids" in source_names() and source_arguments("ids") == {"n_train": N_TRAIN}
    assert get_source("ids", n_train=16).num_examples("train") == 16
    assert register_source("ids")(make_ids) is make_ids      # the same factory again: fine
    with pytest.raises(ValueError, match="A data source named 'ids' is already registered"):
        register_source("ids")(lambda: ids_source())
    assert get_source("ids").num_examples("train") == N_TRAIN   # the first one stays


def test_evaluation_dataset_refuses_an_input_context():
    with pytest.raises(ValueError, match="`input_context` applies to training datasets only"):
        ids_source().dataset("test", 8, context(2, 0, 2))


def test_cached_arrays_are_read_only():
    x, _ = digits_source().arrays("train")
    with pytest.raises(ValueError, match="read-only"):
        x[0, 0, 0] = 1.0


def test_fashion_mnist_source_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_BIGBATCH_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match=re.escape(str(tmp_path))):
        fashion_mnist_source()


def test_hold_out_moves_a_fixed_draw_to_a_validation_split():
    source = get_source("digits")
    held = source.hold_out(100)
    assert held is source.hold_out(100)  # cached: a run builds its source several times
    x, y = source.arrays("train")
    x_train, y_train = held.arrays("train")
    x_val, y_val = held.arrays("validation")
    assert (len(x_train), len(x_val)) == (len(x) - 100, 100)
    np.testing.assert_array_equal(held.arrays("test")[0], source.arrays("test")[0])
    order = np.random.default_rng(0).permutation(len(x))
    np.testing.assert_array_equal(x_val, x[order[:100]])
    np.testing.assert_array_equal(x_train, x[np.sort(order[100:])])  # the rest, in order
    np.testing.assert_array_equal(y_val, y[order[:100]])
    assert held.has_split("validation") and not source.has_split("validation")
    batches = list(held.dataset("validation", 64).as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x_val)
    with pytest.raises(ValueError, match="has no 'validation' split"):
        source.dataset("validation", 64)
    with pytest.raises(ValueError, match="must be smaller than the training split"):
        source.hold_out(len(x))
    with pytest.raises(ValueError, match="cannot hold out a validation split"):
        get_source("synthetic", image_size=8, train_examples=64, test_examples=8).hold_out(8)
