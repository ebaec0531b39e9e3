"""Argument checks shared by the optimizers (raised at construction)."""

import math
import numbers


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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
