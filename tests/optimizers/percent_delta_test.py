"""PercentDelta specifics: the mean relative gradient by hand, zero weights."""

import doctest

import keras
import numpy as np

from keras_bigbatch.optimizers import PercentDelta, percent_delta


def test_one_step_by_hand_skips_zero_weights():
    w0 = np.array([[2.0, 0.0, -4.0]], "float32")
    g = np.array([[1.0, 5.0, 1.0]], "float32")
    w = keras.Variable(w0)
    PercentDelta(learning_rate=0.1, epsilon=0.0).apply([g], [w])
    # nonzero weights: |1/2| + |1/-4| = 0.75 over n = 2, P = 2 / 0.75
    want = w0 - 0.1 * (2 / 0.75) * g
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), want, rtol=1e-6)


def test_mean_relative_change_of_a_layer_is_the_learning_rate():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(50, 40)).astype("float32")
    g = rng.normal(size=(50, 40)).astype("float32")
    w = keras.Variable(w0)
    PercentDelta(learning_rate=0.01, epsilon=0.0).apply([g], [w])
    relative_change = np.abs((keras.ops.convert_to_numpy(w) - w0) / w0).mean()
    np.testing.assert_allclose(relative_change, 0.01, rtol=1e-4)


def test_weight_decay_adds_to_the_mean_relative_gradient():
    w0 = np.array([[1.0, -2.0]], "float32")
    g = np.array([[0.5, 2.0]], "float32")
    w = keras.Variable(w0)
    PercentDelta(learning_rate=0.1, weight_decay=0.25, epsilon=0.0).apply([g], [w])
    # mean|g/w| = 0.75, P = 1 / (0.75 + 0.25) = 1
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), w0 - 0.1 * (g + 0.25 * w0), rtol=1e-6)


def test_docstring_example_runs():
    result = doctest.testmod(percent_delta, verbose=False)
    assert result.attempted > 0 and result.failed == 0
