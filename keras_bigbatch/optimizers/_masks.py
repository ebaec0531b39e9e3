"""Variable masks: which variables skip weight decay or layer adaptation.

A mask is given as
- `None`: the default rule, exclude variables with `ndim <= 1` (biases,
  normalization scales and offsets);
- a regex string or a list of regex strings, searched (`re.search`) in
  `variable.path` (e.g. `"dense_1/bias"`); an explicit list replaces the
  default rule, and `[]` excludes nothing;
- a callable `fn(variable) -> bool` returning True to exclude. To keep it
  in `.keras` files, register it with
  `keras.saving.register_keras_serializable`.
"""

import re

import keras


def check_mask(name, spec):
    """Validates a mask argument; returns it in canonical form.

    Canonical forms: `None`, a list of regex strings, or a callable.

    Raises:
        ValueError: `spec` is of another type, or a regex does not compile.
    """
    if spec is None or callable(spec):
        return spec
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, (list, tuple)) and all(isinstance(p, str) for p in spec):
        for pattern in spec:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"Argument `{name}` holds an invalid regular expression "
                    f"{pattern!r}: {error}. Received: {name}={spec!r}"
                ) from None
        return list(spec)
    raise ValueError(
        f"Argument `{name}` must be None (exclude variables with ndim <= 1), "
        "a regex string or a list of regex strings matched against "
        "`variable.path`, or a callable(variable) -> bool. "
        f"Received: {name}={spec!r}"
    )


def is_excluded(spec, variable):
    """True when the mask `spec` (canonical form) excludes `variable`."""
    if spec is None:
        return len(variable.shape) <= 1
    if callable(spec):
        return bool(spec(variable))
    return any(re.search(pattern, variable.path) for pattern in spec)


def serialize_mask(spec):
    """JSON-friendly form of a canonical mask, for `get_config`."""
    if callable(spec):
        return keras.saving.serialize_keras_object(spec)
    return spec


def deserialize_mask(config):
    """Inverse of `serialize_mask`."""
    if isinstance(config, dict):
        return keras.saving.deserialize_keras_object(config)
    return config
