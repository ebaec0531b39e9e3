"""Every docstring example (`>>>`) runs: the API reference pages show them.

doctest over every module of the package, each example with `numpy as np`,
`keras` and its module's own names in scope; output must match (floats as
printed), an expected exception must be raised.
"""

import doctest
import importlib
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "keras_bigbatch"


def _modules():
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>>" not in path.read_text():
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules()


def test_the_examples_are_found():
    assert "keras_bigbatch.optimizers.lars" in MODULES and len(MODULES) >= 20


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", MODULES)
def test_every_docstring_example_runs(name, tmp_path, monkeypatch):
    import keras
    import numpy as np

    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"np": np, "keras": keras}, report=True,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed (above)"
