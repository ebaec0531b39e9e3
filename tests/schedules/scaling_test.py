import math

import pytest

from keras_bigbatch.schedules import scale_learning_rate


def test_rules():
    assert scale_learning_rate(0.1, 256, 8192) == pytest.approx(3.2)  # 0.1 * 32
    assert scale_learning_rate(0.1, 128, 4096, "sqrt") == pytest.approx(0.1 * math.sqrt(32))
    assert scale_learning_rate(0.4, 512, 128, "linear") == pytest.approx(0.1)  # smaller batch


@pytest.mark.parametrize("args,match", [
    ((0.1, 128, 256, "cube"), "rule"),
    ((-0.1, 128, 256), "base_learning_rate"),
    ((0.1, 0, 256), "base_batch_size"),
    ((0.1, 128, -1), "batch_size"),
])
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        scale_learning_rate(*args)
