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


# No TPU or pre-Ampere GPU runs here: these two refusals are checked with the
# device kind (and GPU capability) the strategy would report there.
def test_float16_on_a_tpu_is_refused(monkeypatch):
    from keras_bigbatch.distribute import precision

    monkeypatch.setattr(precision, "device_kind", lambda strategy: "tpu")
    assert resolve_precision("auto", get_strategy("default")) == "mixed_bfloat16"
    with pytest.raises(ValueError, match="mixed_float16'` cannot run on a TPU"):
        resolve_precision("mixed_float16", get_strategy("default"))


def test_bfloat16_on_an_old_gpu_is_refused(monkeypatch):
    from keras_bigbatch.distribute import precision

    monkeypatch.setattr(precision, "device_kind", lambda strategy: "gpu")
    monkeypatch.setattr(precision, "_gpu_compute_capabilities", lambda: [(7, 0)])
    assert resolve_precision("auto", get_strategy("default")) == "mixed_float16"
    with pytest.raises(ValueError, match=r"compute capability >= 8.0.*\[\(7, 0\)\]"):
        resolve_precision("mixed_bfloat16", get_strategy("default"))
    monkeypatch.setattr(precision, "_gpu_compute_capabilities", lambda: [(9, 0)])
    assert resolve_precision("mixed_bfloat16", get_strategy("default")) == "mixed_bfloat16"
