"""MCLR specifics: medians by hand (odd and even sizes), the sampled median."""

import doctest

import keras
import numpy as np
import pytest

from keras_bigbatch.optimizers import MCLR, mclr
from keras_bigbatch.optimizers import _statistics


def test_config_has_median_sample_size():
    config = MCLR(0.01, median_sample_size=4096).get_config()
    assert config["median_sample_size"] == 4096
    assert MCLR.from_config(config).get_config() == config


def test_one_step_by_hand_even_size_with_weight_decay():
    w = keras.Variable(np.array([[1.0, -3.0], [2.0, -8.0]], "float32"))
    g = np.array([[0.5, 0.1], [-0.3, 2.0]], "float32")
    MCLR(learning_rate=0.1, weight_decay=0.5, epsilon=0.0).apply([g], [w])
    # median|w| = (2 + 3) / 2 = 2.5, median|g| = (0.3 + 0.5) / 2 = 0.4
    # R = 2.5 / (0.4 + 0.5 * 2.5) = 2.5 / 1.65;  w -= 0.1 * R * (g + 0.5 w)
    w0 = np.array([[1.0, -3.0], [2.0, -8.0]])
    want = w0 - 0.1 * (2.5 / 1.65) * (g + 0.5 * w0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), want, rtol=1e-6)


@pytest.mark.parametrize("size", [1, 2, 7, 8, 1001])
def test_exact_median_matches_numpy(size):
    x = np.random.default_rng(size).normal(size=(size,)).astype("float32")
    got = keras.ops.convert_to_numpy(_statistics.median_abs(x, "float32"))
    np.testing.assert_allclose(got, np.median(np.abs(x)), rtol=1e-6)


def test_sampled_median_is_exact_below_the_sample_size_and_close_above():
    rng = np.random.default_rng(0)
    small = rng.normal(size=(30, 20)).astype("float32")
    exact = np.median(np.abs(small))
    assert float(_statistics.median_abs(small, "float32", sample_size=600)) == pytest.approx(exact, rel=1e-6)
    large = rng.normal(size=(784, 512)).astype("float32")
    sampled = float(_statistics.median_abs(large, "float32", sample_size=16384))
    assert sampled == pytest.approx(np.median(np.abs(large)), rel=0.02)


def test_median_sample_size_is_used_in_the_update():
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(64, 64)).astype("float32")
    g = rng.normal(size=(64, 64)).astype("float32")
    got = {}
    for sample in (None, 4096, 64):
        w = keras.Variable(w0)
        MCLR(0.01, median_sample_size=sample).apply([g], [w])
        got[sample] = keras.ops.convert_to_numpy(w)
    np.testing.assert_array_equal(got[None], got[4096])  # 4096 = size: exact
    assert not np.array_equal(got[None], got[64])
    np.testing.assert_allclose(got[None], got[64], rtol=0.05, atol=0.05)


@pytest.mark.parametrize("value", [0, -5, 2.5, True])
def test_median_sample_size_must_be_a_positive_int(value):
    with pytest.raises(ValueError, match="`median_sample_size`"):
        MCLR(0.01, median_sample_size=value)


def test_docstring_example_runs():
    result = doctest.testmod(mclr, verbose=False)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("case", ["normal", "half_zeros", "ties", "sorted_rows", "wide_range"])
@pytest.mark.parametrize("size", [4097, 10000, 60001])
def test_exact_median_of_large_tensors_with_and_without_a_good_bracket(case, size):
    # above 4096 entries the selection starts from a sampled bracket; strided
    # samples of structured tensors (sorted rows) can miss the median, and the
    # fallback to the full range must keep the answer exact
    rng = np.random.default_rng(size)
    x = rng.normal(size=size).astype("float32")
    if case == "half_zeros":
        x[: size // 2 + 1] = 0
    elif case == "ties":
        x = rng.integers(-3, 4, size).astype("float32")
    elif case == "sorted_rows":
        x = np.sort(np.abs(x))
        x[::2] *= 1e3
    elif case == "wide_range":
        x = (x * 10.0 ** rng.integers(-20, 20, size)).astype("float32")
    got = keras.ops.convert_to_numpy(_statistics.median_abs(x, "float32"))
    assert got == np.median(np.abs(x)).astype("float32")


@pytest.mark.parametrize("size", [2, 7, 8, 10000])
def test_sorting_fallback_without_keras_ops_view_gives_the_same_medians(size, monkeypatch):
    # Keras < 3.12 has no bit-cast (`keras.ops.view`): the median is read from a sort
    x = np.random.default_rng(size).normal(size=size).astype("float32")
    by_bits = keras.ops.convert_to_numpy(_statistics.median_abs(x, "float32"))
    monkeypatch.setattr(_statistics, "_HAS_VIEW", False)
    by_sorting = keras.ops.convert_to_numpy(_statistics.median_abs(x, "float32"))
    assert by_sorting == by_bits == np.median(np.abs(x)).astype("float32")
