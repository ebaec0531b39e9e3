import numpy as np
import pytest

from keras_bigbatch import models
from keras_bigbatch.layers import GhostBatchNormalization


def test_keskar_f1_layer_sizes():
    model = models.keskar_f1()
    dense = [layer.units for layer in model.layers if hasattr(layer, "units")]
    assert dense == [512] * 5 + [10]
    assert model.count_params() == 784 * 512 + 4 * 512 * 512 + 512 * 10 + 10 + 5 * 4 * 512


def test_ghost_variants_and_seeded_init():
    a = models.mlp((8, 8), 10, (16,), normalization="ghost", virtual_batch_size=4, seed=3)
    b = models.mlp((8, 8), 10, (16,), normalization="ghost", virtual_batch_size=4, seed=3)
    assert any(isinstance(layer, GhostBatchNormalization) for layer in a.layers)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    cnn = models.small_cnn((28, 28), 10, normalization="ghost", virtual_batch_size=2,
                           normalization_momentum=0.9)
    assert cnn(np.zeros((4, 28, 28), "float32"), training=True).shape == (4, 10)
    assert all(layer.momentum == 0.9 for layer in cnn.layers if isinstance(layer, GhostBatchNormalization))


@pytest.mark.parametrize("kwargs,match", [
    (dict(normalization="group"), "normalization"),
    (dict(normalization="ghost"), "virtual_batch_size"),
    (dict(hidden_units=()), "hidden_units"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.mlp((4,), 2, **kwargs)
