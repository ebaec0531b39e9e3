"""Helpers the notebooks in `notebooks/` call: the smoke switch and the parameter check.

Every notebook follows papermill's convention: one cell tagged `parameters`
holds its parameters as plain assignments (`SMOKE = False`, `EPOCHS = 10`),
an executor may inject a cell of overrides right after it, and the next
cell checks them all:

```
# %% tags=["parameters"]
SMOKE = False
EPOCHS = 10
DATA_DIR = ""

# %%
from keras_bigbatch import notebook
notebook.check_parameters(SMOKE=(SMOKE, bool), EPOCHS=(EPOCHS, int), DATA_DIR=(DATA_DIR, str))
SMOKE = notebook.smoke(SMOKE)
```

CI runs every notebook with `KERAS_BIGBATCH_SMOKE=1` (tiny settings, on CPU).
"""

import os

SMOKE_ENV_VAR = "KERAS_BIGBATCH_SMOKE"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
_TYPE_NAMES = {bool: "a bool (True or False)", int: "an int", float: "a number",
               str: "a string", list: "a list", tuple: "a tuple", dict: "a dict",
               type(None): "None"}


def smoke(default=False):
    """True when the notebook's SMOKE parameter or `$KERAS_BIGBATCH_SMOKE` says so.

        smoke = default or $KERAS_BIGBATCH_SMOKE in ("1", "true", "yes", "on")

    Args:
        default: the notebook's SMOKE parameter (a bool).

    Raises:
        TypeError: `default` is not a bool.
        ValueError: the environment variable holds something else than
            1/true/yes/on or 0/false/no/off/empty (case-insensitive).
    """
    if not isinstance(default, bool):
        raise TypeError(f"Notebook parameter SMOKE must be {_TYPE_NAMES[bool]}. "
                        f"Received: SMOKE={default!r}")
    text = os.environ.get(SMOKE_ENV_VAR, "").strip().lower()
    if text not in _TRUE + _FALSE:
        raise ValueError(
            f"Environment variable {SMOKE_ENV_VAR} must be 1 (smoke settings) or 0. "
            f"Received: {SMOKE_ENV_VAR}={os.environ[SMOKE_ENV_VAR]!r}")
    return default or text in _TRUE


def _describe(types):
    names = [_TYPE_NAMES.get(t, f"a {t.__name__}") for t in types]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _matches(value, types):
    if isinstance(value, bool):  # bool is an int subclass; an int parameter is not a flag
        return bool in types
    if isinstance(value, int) and float in types:
        return True  # 1 where 1.0 stood
    return isinstance(value, types)


def check_parameters(**parameters):
    """Checks the notebook's parameters against their types; returns `{name: value}`.

    Each keyword is a parameter's name, its value a `(value, expected)` pair:
    `expected` is a type or a tuple of types (`(int, type(None))` for "an int
    or None"). A bool never passes as an int or a float; an int passes as a
    float.

    Example:

        >>> EPOCHS = "10"                      # as an injected override might set it
        >>> check_parameters(EPOCHS=(EPOCHS, int))
        Traceback (most recent call last):
        TypeError: Notebook parameter EPOCHS must be an int. Received: EPOCHS='10'

    Raises:
        TypeError: a value of the wrong type (the message names the
            parameter, its value and the expected type), or a keyword that is
            not a `(value, type or tuple of types)` pair.
    """
    values = {}
    for name, spec in parameters.items():
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise TypeError(f"check_parameters({name}=...) takes a (value, type) pair, e.g. "
                            f"{name}=({name}, int). Received: {name}={spec!r}")
        value, types = spec
        types = types if isinstance(types, tuple) else (types,)
        if not types or not all(isinstance(t, type) for t in types):
            raise TypeError(f"check_parameters({name}=(value, expected)): `expected` must be a "
                            f"type or a tuple of types. Received: {spec[1]!r}")
        if not _matches(value, types):
            raise TypeError(f"Notebook parameter {name} must be {_describe(types)}. "
                            f"Received: {name}={value!r}")
        values[name] = value
    return values
