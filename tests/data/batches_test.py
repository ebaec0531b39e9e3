"""`DataSource.batches`: numpy batches for the trainer on JAX and PyTorch (no TensorFlow)."""

import itertools

import numpy as np
import pytest

from keras_bigbatch.data import ArraySource
from keras_bigbatch.data import DataSource
from keras_bigbatch.data import SyntheticSource
from keras_bigbatch.data.order import epoch_permutation


def source(count=40, test=7):
    x = np.arange(count * 2, dtype="float32").reshape(count, 2)
    y = np.arange(count) % 3
    xt = -np.arange(test * 2, dtype="float32").reshape(test, 2)
    return ArraySource("toy", (x, y), (xt, np.arange(test) % 3))


def take(iterator, n):
    return list(itertools.islice(iterator, n))


def test_global_batch_t_is_the_epoch_permutation_slice():
    data = source()  # 40 examples, batch 8: 5 steps per epoch
    batches = take(data.batches("train", 8, seed=3), 12)
    for t, (x, y) in enumerate(batches):
        epoch, i = divmod(t, 5)
        rows = epoch_permutation(3, epoch, 40)[i * 8:(i + 1) * 8]
        np.testing.assert_array_equal(y, rows % 3)
        np.testing.assert_array_equal(x[:, 0], rows * 2)
    first_epoch = np.concatenate([x[:, 0] // 2 for x, _ in batches[:5]])
    assert sorted(first_epoch) == list(range(40))  # each example once per epoch
    assert not np.array_equal(batches[0][0], batches[5][0])  # a new order every epoch


def test_worker_slices_make_up_the_global_batch():
    data = source()
    whole = take(data.batches("train", 8, seed=1), 7)
    parts = [take(data.batches("train", 8, seed=1, shard=(w, 2)), 7) for w in range(2)]
    for t in range(7):
        assert parts[0][t][0].shape == (4, 2)
        np.testing.assert_array_equal(np.concatenate([parts[0][t][0], parts[1][t][0]]),
                                      whole[t][0])


def test_start_step_continues_where_a_run_would_be():
    data = source()
    whole = take(data.batches("train", 8, seed=2), 13)
    resumed = take(data.batches("train", 8, seed=2, start_step=6), 7)
    for a, b in zip(whole[6:], resumed):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_seed_sets_the_order():
    data = source()
    a, b, c = (next(data.batches("train", 8, seed=s))[1] for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.asarray(epoch_permutation(0, 0, 40)), epoch_permutation(1, 0, 40))


def test_evaluation_is_one_ordered_pass_as_often_as_iterated():
    data = source()
    batches = data.batches("test", 3)
    for _ in range(2):
        got = list(batches)
        assert [len(y) for _, y in got] == [3, 3, 1]
        np.testing.assert_array_equal(np.concatenate([x for x, _ in got]), data.arrays("test")[0])
    train_pass = list(data.batches("train", 16, training=False))
    assert [len(y) for _, y in train_pass] == [16, 16, 8]


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "valid"}, "split"),
    ({"split": "validation"}, "no 'validation' split"),
    ({"global_batch_size": 0}, "global_batch_size"),
    ({"global_batch_size": 41}, "41"),
    ({"global_batch_size": 9, "shard": (0, 2)}, "9"),
    ({"shard": (2, 2)}, "shard"),
    ({"split": "test", "start_step": 3}, "start_step"),
    ({"split": "test", "shard": (0, 2)}, "shard"),
    ({"start_step": -1}, "start_step"),
    ({"seed": -1}, "seed"),
    ({"shard": (0,)}, "shard"),
    ({"shard": (0.0, 2)}, "shard"),
    ({"split": "test", "training": True}, "8"),  # 7 test examples: no full batch of 8
])
def test_bad_arguments_are_named(kwargs, message):
    kwargs = {"split": "train", "global_batch_size": 8, **kwargs}
    with pytest.raises(ValueError, match=message):
        batches = source().batches(kwargs.pop("split"), kwargs.pop("global_batch_size"), **kwargs)
        next(iter(batches))


def test_a_source_without_numpy_batches_says_what_can():
    class OnlyPipelines(DataSource):
        name = "pipelines"

        def num_examples(self, split):
            return 100

    with pytest.raises(ValueError, match="'pipelines' builds tf.data pipelines only.*fashion_mnist"):
        OnlyPipelines().batches("train", 10)


def test_sources_declare_what_they_support():
    from keras_bigbatch.data import ImageNetSource
    from keras_bigbatch.data.source import BATCH_SIZE_SCHEDULES
    from keras_bigbatch.data.source import NUMPY_BATCHES

    both = {NUMPY_BATCHES, BATCH_SIZE_SCHEDULES}
    assert ArraySource.features == SyntheticSource.features == both
    assert ImageNetSource.features == {BATCH_SIZE_SCHEDULES}       # tf.data only
    assert DataSource.features == frozenset()
    assert source().supports(NUMPY_BATCHES) and not DataSource().supports(BATCH_SIZE_SCHEDULES)
    with pytest.raises(ValueError, match=r"`feature` must be one of \('numpy_batches', "
                                         r"'batch_size_schedules'\)\. Received: feature='jax'"):
        source().supports("jax")
    with pytest.raises(ValueError, match="'source' does not support batch-size schedules"):
        DataSource().check_batch_size_schedules()


def test_dataset_and_batches_share_their_checks():
    data = source()
    for build in (data.dataset, data.batches):
        with pytest.raises(ValueError, match=r"has no 'validation' split: `hold_out\(count\)`"):
            build("validation", 8)
        with pytest.raises(ValueError, match=r"`seed` must be an integer >= 0\. Received: seed=-1"):
            build("train", 8, seed=-1)
        with pytest.raises(ValueError, match=r"`start_step` applies to training datasets only\. "
                                             r"Received: start_step=3, training=False"):
            build("test", 4, start_step=3)
    with pytest.raises(ValueError, match=r"`shard` applies to training datasets only: .* which "
                                         r"keras.distribution splits\. Received: shard=\(0, 2\)"):
        data.batches("test", 4, shard=(0, 2))


def test_synthetic_batches():
    data = SyntheticSource(image_size=6, num_classes=5, train_examples=32, test_examples=10)
    assert data.example_shape() == (6, 6, 3)
    x, y = next(data.batches("train", 8, shard=(1, 2)))
    assert x.shape == (4, 6, 6, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    assert y.min() >= 0 and y.max() < 5
    assert [len(y) for _, y in data.batches("test", 4)] == [4, 4, 2]


def test_example_shape():
    assert source().example_shape() == (2,)
