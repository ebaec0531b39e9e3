import numpy as np
import pytest

from keras_bigbatch.data import load_digits


def test_digits_split_is_seeded_and_complete():
    (x, y), (xt, yt) = load_digits()
    assert x.shape[1:] == (8, 8) and len(x) + len(xt) == 1797
    assert 0.0 <= x.min() and x.max() <= 1.0
    (x2, _), _ = load_digits(seed=0)
    np.testing.assert_array_equal(x, x2)
    (x3, _), _ = load_digits(seed=1)
    assert not np.array_equal(x, x3)


def test_bad_fraction():
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.0)
