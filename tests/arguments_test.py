import math
import re

import numpy as np
import pytest

from keras_bigbatch import arguments


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: nothing here builds Keras state, so skip the reset."""
    yield


def message(name, valid, value):
    """The package's error text, as a regex."""
    return re.escape(f"Argument `{name}` must be {valid}. Received: {name}={value!r}")


@pytest.mark.parametrize("value", [1, 4096, np.int64(8), np.int32(3)])
def test_positive_int_accepts(value):
    result = arguments.check_positive_int("batch", value)
    assert result == value and type(result) is int


@pytest.mark.parametrize("value", [0, -3, 1.0, 2.5, True, False, "4", None, np.float32(4)])
def test_positive_int_rejects(value):
    with pytest.raises(ValueError, match=message("batch", "a positive integer", value)):
        arguments.check_positive_int("batch", value)


@pytest.mark.parametrize("value", [0, 7, np.int64(0)])
def test_non_negative_int_accepts(value):
    result = arguments.check_non_negative_int("seed", value)
    assert result == value and type(result) is int


@pytest.mark.parametrize("value", [-1, 0.0, True, "0", None])
def test_non_negative_int_rejects(value):
    with pytest.raises(ValueError, match=message("seed", "an integer >= 0", value)):
        arguments.check_non_negative_int("seed", value)


@pytest.mark.parametrize("value", [0, 0.0, 3, 1e-9, np.float32(0.5), math.inf])
def test_non_negative_accepts(value):
    result = arguments.check_non_negative("decay", value)
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize("value", [-1e-9, -2, math.nan, True, "0.1", None])
def test_non_negative_rejects(value):
    with pytest.raises(ValueError, match=message("decay", "a number >= 0", value)):
        arguments.check_non_negative("decay", value)


@pytest.mark.parametrize("value", [1e-12, 0.1, 3, np.float64(2.0)])
def test_positive_accepts(value):
    result = arguments.check_positive("lr", value)
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize("value", [0, 0.0, -0.1, math.inf, -math.inf, math.nan, True, "1", None])
def test_positive_rejects(value):
    with pytest.raises(ValueError, match=message("lr", "a number > 0", value)):
        arguments.check_positive("lr", value)


@pytest.mark.parametrize("value", [0, 0.0, 0.1, 0.999999, np.float32(0.5)])
def test_fraction_accepts(value):
    result = arguments.check_fraction("label_smoothing", value)
    assert result == float(value) and type(result) is float


@pytest.mark.parametrize("value", [1, 1.0, -0.01, 2, math.nan, math.inf, False, "0.1", None])
def test_fraction_rejects(value):
    with pytest.raises(ValueError, match=message("label_smoothing", "a number in [0, 1)", value)):
        arguments.check_fraction("label_smoothing", value)


def test_bool():
    assert arguments.check_bool("from_logits", True) is True
    assert arguments.check_bool("from_logits", False) is False
    for value in (0, 1, "True", None, np.bool_(True)):
        with pytest.raises(ValueError, match=message("from_logits", "True or False", value)):
            arguments.check_bool("from_logits", value)


def test_choice():
    choices = ["float32", "mixed_float16"]
    assert arguments.check_choice("precision", "float32", choices) == "float32"
    assert arguments.check_choice("rule", "sqrt", ("linear", "sqrt")) == "sqrt"
    # The message lists the choices as a tuple, whatever container was given.
    with pytest.raises(ValueError, match=message(
            "precision", "one of ('float32', 'mixed_float16')", "float64")):
        arguments.check_choice("precision", "float64", choices)
    with pytest.raises(ValueError, match=message("rule", "one of ('linear', 'sqrt')", None)):
        arguments.check_choice("rule", None, ("linear", "sqrt"))
