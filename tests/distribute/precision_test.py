import pytest

from keras_bigbatch.distribute import get_strategy
from keras_bigbatch.distribute import resolve_precision


def test_auto_is_float32_on_cpu(mirrored):
    assert resolve_precision("auto", get_strategy("default")) == "float32"
    assert resolve_precision("auto", mirrored) == "float32"


@pytest.mark.parametrize("precision", ["float32", "mixed_float16", "mixed_bfloat16"])
def test_explicit_policies_that_a_cpu_runs_pass_through(precision):
    assert resolve_precision(precision, get_strategy("default")) == precision


def test_unknown_precision_lists_choices():
    with pytest.raises(ValueError, match=r"`precision` must be one of \('auto', 'float32'"):
        resolve_precision("float16", get_strategy("default"))
