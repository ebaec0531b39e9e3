import numpy as np
import pytest

from keras_bigbatch.data import make_dataset
from keras_bigbatch.data import steps_per_epoch


def arrays(n=100):
    return np.arange(n, dtype=np.float32).reshape(n, 1), np.arange(n)


def batches(ds):
    return [y.numpy().tolist() for _, y in ds]


def test_global_batches_drop_remainder_and_seed():
    x, y = arrays()
    got = batches(make_dataset(x, y, 32, seed=3))
    assert [len(b) for b in got] == [32, 32, 32]
    assert got == batches(make_dataset(x, y, 32, seed=3))
    assert got != batches(make_dataset(x, y, 32, seed=4))
    kept = batches(make_dataset(x, y, 32, shuffle=False, drop_remainder=False))
    assert [len(b) for b in kept] == [32, 32, 32, 4]
    assert sum(kept, []) == list(range(100))
    assert steps_per_epoch(100, 32) == 3 and steps_per_epoch(100, 32, False) == 4


def test_epochs_reshuffle():
    x, y = arrays(64)
    ds = make_dataset(x, y, 64, seed=0)
    first, second = batches(ds), batches(ds)
    assert first != second and sorted(first[0]) == sorted(second[0])


def test_static_batch_shape():
    x, y = arrays()
    assert make_dataset(x, y, 20).element_spec[0].shape.as_list() == [20, 1]


def test_feeds_mirrored_strategy(mirrored):
    x, y = arrays(64)
    ds = mirrored.experimental_distribute_dataset(make_dataset(x, y, 16, strategy=mirrored, shuffle=False))
    first = next(iter(ds))[1]
    parts = [t.numpy().tolist() for t in mirrored.experimental_local_results(first)]
    assert parts == [list(range(0, 8)), list(range(8, 16))]


def test_bad_batch_sizes(mirrored):
    x, y = arrays()
    with pytest.raises(ValueError, match=r"`global_batch_size` \(15\) must be divisible by the number of replicas \(2\); the nearest valid global batch sizes are \[14, 16\]"):
        make_dataset(x, y, 15, strategy=mirrored)
    for bad in (0, -4, 2.5, True):
        with pytest.raises(ValueError, match="global_batch_size"):
            make_dataset(x, y, bad)
    with pytest.raises(ValueError, match=r"is larger than the \d+ training examples, so no full global batch"):
        make_dataset(x, y, 128)
    with pytest.raises(ValueError, match="same number of examples"):
        make_dataset(x, y[:5], 10)


def test_repeating_stream_reshuffles_per_epoch_and_is_identical_under_mirrored(mirrored):
    x, y = arrays(64)
    stream = make_dataset(x, y, 32, seed=5, repeat=True)
    got = [b for _, b in stream.take(4)]
    epochs = [sorted(np.concatenate([got[0], got[1]]).tolist()), sorted(np.concatenate([got[2], got[3]]).tolist())]
    assert epochs == [list(range(64))] * 2
    assert got[0].numpy().tolist() != got[2].numpy().tolist()
    distributed = iter(mirrored.experimental_distribute_dataset(make_dataset(x, y, 32, seed=5, repeat=True)))
    for want in got:
        parts = mirrored.experimental_local_results(next(distributed)[1])
        assert np.concatenate([p.numpy() for p in parts]).tolist() == want.numpy().tolist()


def test_finite_datasets_report_their_length_and_endless_ones_infinity():
    import tensorflow as tf

    from keras_bigbatch.data.pipeline import array_dataset

    x, y = arrays()
    lengths = {  # 100 examples: 100 // 32 = 3 full batches, ceil(100 / 32) = 4
        "drop_remainder": make_dataset(x, y, 32),
        "keep_remainder": make_dataset(x, y, 32, drop_remainder=False, shuffle=False),
        "worker 1 of 2": make_dataset(x, y, 32, shard=(1, 2)),
        "evaluation": array_dataset(x, y, 32, (0, 1), 32, 0, False, 0),
    }
    assert {k: int(d.cardinality()) for k, d in lengths.items()} == {
        "drop_remainder": 3, "keep_remainder": 4, "worker 1 of 2": 3, "evaluation": 4}
    # the reported length is the one iterated (assert_cardinality would raise otherwise)
    assert [len(batches(d)) for d in lengths.values()] == [3, 4, 3, 4]
    endless = [make_dataset(x, y, 32, repeat=True, start_step=5),
               array_dataset(x, y, 32, (0, 1), 16, 0, True, 0)]
    assert [int(d.cardinality()) for d in endless] == [tf.data.INFINITE_CARDINALITY] * 2
