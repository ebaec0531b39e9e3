import pytest

from keras_bigbatch.distribute import global_batch_size
from keras_bigbatch.distribute import per_replica_batch_size


def test_split_and_join():
    assert per_replica_batch_size(4096, 8) == 512
    assert global_batch_size(512, 8) == 4096


def test_not_divisible_lists_valid_sizes():
    with pytest.raises(ValueError, match=r"nearest valid global batch sizes are \[96, 104\]"):
        per_replica_batch_size(100, 8)
    with pytest.raises(ValueError, match=r"\[8\]"):
        per_replica_batch_size(3, 8)


@pytest.mark.parametrize("bad", [0, -1, 1.5, None, True])
def test_non_positive(bad):
    with pytest.raises(ValueError, match="global_batch_size"):
        per_replica_batch_size(bad, 2)
    with pytest.raises(ValueError, match="per_replica_batch_size"):
        global_batch_size(bad, 2)
