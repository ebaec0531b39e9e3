import numpy as np
import pytest

from keras_bigbatch.durations import boundary_step
from keras_bigbatch.durations import check_steps_per_epoch
from keras_bigbatch.durations import epochs_to_steps
from keras_bigbatch.durations import steps_per_epoch


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: nothing here builds Keras state, so skip the reset."""
    yield


@pytest.mark.parametrize("num_examples, batch, dropped, kept", [
    (60000, 4096, 14, 15),   # 60000 = 14 * 4096 + 2656
    (100, 32, 3, 4),         # 100 = 3 * 32 + 4
    (96, 32, 3, 3),          # no remainder: both ways agree
    (31, 32, 0, 1),          # fewer examples than one batch
    (0, 32, 0, 0),           # an empty split has no steps either way
    (1, 1, 1, 1),
])
def test_steps_per_epoch(num_examples, batch, dropped, kept):
    assert steps_per_epoch(num_examples, batch) == dropped
    assert steps_per_epoch(num_examples, batch, drop_remainder=True) == dropped
    assert steps_per_epoch(num_examples, batch, drop_remainder=False) == kept


def test_steps_per_epoch_accepts_numpy_integers():
    # Sizes often come from numpy (array shapes, np.sum of masks).
    assert steps_per_epoch(np.int64(100), np.int64(32)) == 3
    assert steps_per_epoch(np.int32(100), 32, drop_remainder=False) == 4


@pytest.mark.parametrize("bad", [0, -1, 2.0, 32.5, True, "32", None])
def test_steps_per_epoch_rejects_bad_batch(bad):
    with pytest.raises(ValueError, match=r"Argument `global_batch_size` must be a positive "
                                         rf"integer\. Received: global_batch_size={bad!r}"):
        steps_per_epoch(100, bad)


@pytest.mark.parametrize("bad", [-1, 100.0, True, "100", None])
def test_steps_per_epoch_rejects_bad_num_examples(bad):
    with pytest.raises(ValueError, match=r"Argument `num_examples` must be an integer >= 0\. "
                                         rf"Received: num_examples={bad!r}"):
        steps_per_epoch(bad, 32)


def test_check_steps_per_epoch():
    assert check_steps_per_epoch(100, 32) == 3
    assert check_steps_per_epoch(32, 32) == 1
    with pytest.raises(ValueError, match=r"`global_batch_size` \(64\) is larger than the 63 "
                                         r"training examples.*global batch size <= 63\. "
                                         r"Received: global_batch_size=64"):
        check_steps_per_epoch(63, 64)
    with pytest.raises(ValueError, match="larger than the 0 training examples"):
        check_steps_per_epoch(0, 1)
    with pytest.raises(ValueError, match="must be a positive integer"):
        check_steps_per_epoch(100, 0)


def test_epochs_to_steps():
    assert epochs_to_steps(10, 468) == 4680
    assert epochs_to_steps(0, 468) == 0
    assert epochs_to_steps(0.25, 10) == 2       # 2.5 rounds half to even
    assert epochs_to_steps(0.35, 10) == 4       # 3.5 -> 4
    assert epochs_to_steps(1.3, 10) == 13       # 1.3 * 10 = 13.000000000000002
    assert epochs_to_steps(2.0 / 3.0, 3) == 2
    assert epochs_to_steps(np.float32(0.5), 14) == 7
    assert isinstance(epochs_to_steps(1.5, 3), int)


def test_boundary_step_is_first_update_of_the_epoch():
    spe = steps_per_epoch(60000, 4096)           # 14
    # Epoch 6 starts after 6 full epochs: update index 6 * 14 = 84.
    assert boundary_step(6, spe) == 84
    assert boundary_step(0, spe) == 0
    assert boundary_step(0.5, spe) == 7
    # The same update as the epochs -> steps conversion, everywhere.
    for epoch in (0, 0.5, 1, 2.25, 6, 8, 10):
        assert boundary_step(epoch, spe) == epochs_to_steps(epoch, spe)


