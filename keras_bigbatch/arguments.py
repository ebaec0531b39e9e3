"""Argument checks shared by the whole package (the ground floor: no imports).

Every public constructor and function validates its arguments with these,
so errors read the same everywhere:
"Argument `x` must be <what is valid>. Received: x=<value>".
"""

import math
import numbers


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive_int(name, value):
    """Returns `value`; raises `ValueError` unless it is an int > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"Argument `{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return int(value)


def check_non_negative_int(name, value):
    """Returns `value`; raises `ValueError` unless it is an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(
            f"Argument `{name}` must be an integer >= 0. Received: {name}={value!r}"
        )
    return int(value)


def check_non_negative(name, value):
    """Returns `float(value)`; raises `ValueError` unless it is a real >= 0."""
    if not _is_real(value) or math.isnan(value) or value < 0:
        raise ValueError(
            f"Argument `{name}` must be a number >= 0. Received: {name}={value!r}"
        )
    return float(value)


def check_positive(name, value):
    """Returns `float(value)`; raises `ValueError` unless it is a finite real > 0."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"Argument `{name}` must be a number > 0. Received: {name}={value!r}"
        )
    return float(value)


def check_fraction(name, value):
    """Returns `float(value)`; raises `ValueError` unless 0 <= value < 1."""
    if not _is_real(value) or math.isnan(value) or not 0 <= value < 1:
        raise ValueError(
            f"Argument `{name}` must be a number in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def check_bool(name, value):
    """Returns `value`; raises `ValueError` unless it is a bool."""
    if not isinstance(value, bool):
        raise ValueError(
            f"Argument `{name}` must be True or False. Received: {name}={value!r}"
        )
    return value


def check_choice(name, value, choices):
    """Returns `value`; raises `ValueError` unless it is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"Argument `{name}` must be one of {tuple(choices)}. Received: {name}={value!r}"
        )
    return value


def check_learning_rate(value):
    """Returns a numeric learning rate as float (schedules pass unchanged).

    Rejects a negative or NaN number.
    """
    if not _is_real(value):
        return value
    if math.isnan(value) or value < 0:
        raise ValueError(
            "Argument `learning_rate` must be >= 0, a "
            "`keras.optimizers.schedules.LearningRateSchedule` or a callable. "
            f"Received: learning_rate={value!r}"
        )
    return float(value)
