import keras
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


def test_small_resnet_shapes_depth_and_seed():
    import numpy as np

    from keras_bigbatch.models import small_resnet

    model = small_resnet((28, 28), 10, blocks_per_stage=1, seed=3)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    # stem + 2 convs per block * 3 blocks + 2 stride-2 shortcuts
    assert len(convs) == 1 + 6 + 2
    assert model.output_shape == (None, 10)
    again = small_resnet((28, 28), 10, seed=3)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    out = model(np.zeros((4, 28, 28), "float32"), training=True)
    assert tuple(out.shape) == (4, 10)
    ghost = small_resnet((32, 32, 3), 5, blocks_per_stage=2, normalization="ghost", virtual_batch_size=2)
    assert any(type(layer).__name__ == "GhostBatchNormalization" for layer in ghost.layers)


def test_small_resnet_bad_depth():
    from keras_bigbatch.models import small_resnet

    with pytest.raises(ValueError, match="blocks_per_stage"):
        small_resnet((28, 28), 10, blocks_per_stage=0)
