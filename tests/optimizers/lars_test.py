"""LARS specifics: the trust ratio by hand, clip mode, trust coefficient."""

import doctest

import keras
import numpy as np
import pytest

from keras_bigbatch.optimizers import LARS, lars
from tests.optimizers import reference


def test_config_has_lars_arguments():
    config = LARS(0.2, trust_coefficient=0.02, clip_trust_ratio=True).get_config()
    assert config["trust_coefficient"] == 0.02 and config["clip_trust_ratio"] is True
    assert LARS.from_config(config).get_config() == config


def test_one_step_by_hand():
    w = keras.Variable(np.array([[3.0, 0.0], [0.0, 4.0]], "float32"))
    g = np.array([[0.0, 1.0], [0.0, 0.0]], "float32")
    LARS(learning_rate=2.0, momentum=0.0, trust_coefficient=0.01, weight_decay=0.1).apply([g], [w])
    # ||w|| = 5, ||g|| = 1: lam = 0.01 * 5 / (1 + 0.1 * 5) = 1/30
    # w - 2 * lam * (g + 0.1 w) = w - (g + 0.1 w) / 15
    want = np.array([[3 - 0.3 / 15, -1 / 15], [0.0, 4 - 0.4 / 15]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), want, rtol=1e-6)


def test_momentum_accumulates_the_scaled_step():
    w0 = np.array([[1.0, 2.0, 2.0]], "float32")  # ||w|| = 3
    g = np.array([[0.0, 0.0, 1.5]], "float32")   # ||g|| = 1.5, lam = 0.1 * 3 / 1.5 = 0.2 first step
    w = keras.Variable(w0)
    optimizer = LARS(learning_rate=1.0, momentum=0.5, trust_coefficient=0.1)
    optimizer.apply([g], [w])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), w0 - 0.2 * g, rtol=1e-6)
    optimizer.apply([g], [w])
    want = reference.trajectory("LARS", [w0], [[g], [g]], 1.0, [True], [True], momentum=0.5,
                                trust_coefficient=0.1)[0]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), want, rtol=1e-6)


@pytest.mark.parametrize("trust_coefficient,clipped", [(0.001, False), (10.0, True)])
def test_clip_trust_ratio_caps_the_layer_rate_at_the_global_rate(trust_coefficient, clipped):
    rng = np.random.default_rng(0)
    w0, g = rng.normal(size=(4, 4)).astype("float32"), rng.normal(size=(4, 4)).astype("float32")
    lam = reference.lars_scale(w0, g, 0.0, 0.0, trust_coefficient)
    assert (lam > 1) == clipped
    results = []
    for clip in (False, True):
        w = keras.Variable(w0)
        LARS(0.1, momentum=0.0, trust_coefficient=trust_coefficient, clip_trust_ratio=clip).apply([g], [w])
        results.append(keras.ops.convert_to_numpy(w))
    np.testing.assert_allclose(results[1], w0 - 0.1 * min(lam, 1.0) * g, rtol=1e-5)
    assert (not np.allclose(results[0], results[1])) == clipped


@pytest.mark.parametrize("value", [0.0, -0.001, float("inf"), "0.001", None])
def test_trust_coefficient_must_be_positive(value):
    with pytest.raises(ValueError, match="`trust_coefficient` must be a number > 0"):
        LARS(0.1, trust_coefficient=value)


def test_clip_trust_ratio_must_be_bool():
    with pytest.raises(ValueError, match="`clip_trust_ratio`"):
        LARS(0.1, clip_trust_ratio="clip")


def test_docstring_example_runs():
    result = doctest.testmod(lars, verbose=False)
    assert result.attempted > 0 and result.failed == 0
