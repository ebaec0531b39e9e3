import doctest
import importlib
import os

import keras
import numpy as np
import pytest

from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.models import alexnet_bn

SMALL = 67  # conv1 15 -> pool 7 -> pool 3 -> pool 1


def images(count, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype="uint8")


def norm_layers(model):
    return [l for l in model.layers
            if isinstance(l, (keras.layers.BatchNormalization, GhostBatchNormalization))]


def trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


# conv kernels 11*11*3*96 + 5*5*96*256 + 3*3*256*384 + 3*3*384*384 + 3*3*384*256 = 3,745,824;
# fc 9216*4096 + 4096*4096 + 4096*1000 + biases 4096 + 4096 + 1000 = 58,631,144;
# sum 62,376,968, plus per placement (channels 96, 256, 384, 384, 256):
#   conv_inputs: conv biases 1376                           -> 62,378,344
#   every_conv:  gamma + beta 2 * 1376                       -> 62,379,720
#   lrn:         gamma + beta 2 * (96 + 256) + biases 1024   -> 62,378,696
@pytest.mark.parametrize("placement,trainable,moving", [
    ("conv_inputs", 62_378_344, 2 * (96 + 256 + 384 + 384)),
    ("every_conv", 62_379_720, 2 * 1376),
    ("lrn", 62_378_696, 2 * (96 + 256)),
])
def test_caffe_sizes_and_parameter_counts(placement, trainable, moving):
    model = alexnet_bn((227, 227, 3), 1000, bn_placement=placement)
    sizes = [model.get_layer(n).output.shape[1]
             for n in ("relu1", "pool1", "relu2", "pool2", "relu5", "pool5")]
    assert sizes == [55, 27, 27, 13, 13, 6]
    assert model.get_layer("flatten").output.shape == (None, 9216)
    assert trainable_count(model) == trainable
    assert model.count_params() - trainable == moving
    assert model.get_layer("imagenet_normalization").count_params() == 0
    assert model.input.dtype == "uint8"


def test_224_pools_in_ceil_mode_to_the_same_sizes():
    model = alexnet_bn((224, 224, 3), 10)
    sizes = [model.get_layer(n).output.shape[1] for n in ("relu1", "pool1", "pool2", "pool5")]
    assert sizes == [54, 27, 13, 6]  # floor mode would give 54, 26, 12, 5


def test_docstring_example_runs():
    # `keras_bigbatch.models.alexnet_bn` is the function; import the module by name
    module = importlib.import_module("keras_bigbatch.models.alexnet")
    result = doctest.testmod(module, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_placements():
    def convs(model):
        return {l.name: l for l in model.layers if isinstance(l, keras.layers.Conv2D)}

    every = alexnet_bn((SMALL, SMALL, 3), 10, bn_placement="every_conv")
    assert [l.name for l in norm_layers(every)] == [f"conv{i}_bn" for i in range(1, 6)]
    assert not any(c.use_bias for c in convs(every).values())
    assert all(l.center and l.scale and l.epsilon == 1e-4 and l.momentum == 0.9
               for l in norm_layers(every))
    inputs = alexnet_bn((SMALL, SMALL, 3), 10)  # default: "conv_inputs"
    assert [l.name for l in norm_layers(inputs)] == [f"conv{i}_input_bn" for i in range(2, 6)]
    assert all(not l.center and not l.scale for l in norm_layers(inputs))
    assert all(c.use_bias for c in convs(inputs).values())
    # BN on the inputs of conv2..conv5: after pool1, pool2, relu3 and relu4
    previous = {n: inputs.get_layer(n).input._keras_history[0].name
                for n in ("conv2_input_bn", "conv3_input_bn", "conv4_input_bn", "conv5_input_bn")}
    assert previous == {"conv2_input_bn": "pool1", "conv3_input_bn": "pool2",
                        "conv4_input_bn": "relu3", "conv5_input_bn": "relu4"}
    lrn = alexnet_bn((SMALL, SMALL, 3), 10, bn_placement="lrn")
    assert [l.name for l in norm_layers(lrn)] == ["conv1_bn", "conv2_bn"]
    assert [c.use_bias for c in convs(lrn).values()] == [False, False, True, True, True]
    none = alexnet_bn((SMALL, SMALL, 3), 10, normalization="none", bn_placement="every_conv")
    assert not norm_layers(none) and all(c.use_bias for c in convs(none).values())


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_gives_float32_logits(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = alexnet_bn((SMALL, SMALL, 3), 5, bn_placement="every_conv", seed=1)
        assert model.get_layer("conv1").compute_dtype == policy.split("_")[1]
        out = model(images(2, SMALL), training=True)
    finally:
        keras.config.set_dtype_policy(previous)
    assert out.dtype == "float32" and model.get_layer("logits").kernel.dtype == "float32"
    assert np.all(np.isfinite(out.numpy()))


def test_ghost_normalization():
    model = alexnet_bn((SMALL, SMALL, 3), 3, normalization="ghost", virtual_batch_size=2,
                       bn_placement="every_conv", normalization_epsilon=1e-3)
    norms = norm_layers(model)
    assert len(norms) == 5 and all(isinstance(l, GhostBatchNormalization) for l in norms)
    assert all(l.virtual_batch_size == 2 and l.epsilon == 1e-3 for l in norms)
    assert model(images(4, SMALL), training=True).shape == (4, 3)


def test_seed_fixes_weights_and_dropout_masks():
    x = images(4, SMALL)
    a, b, c = (alexnet_bn((SMALL, SMALL, 3), 4, seed=s) for s in (5, 5, 6))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a(x, training=True).numpy(), b(x, training=True).numpy())
    assert not np.array_equal(a.get_layer("fc6").kernel.numpy(), c.get_layer("fc6").kernel.numpy())
    # dropout is active in training and off at inference
    assert not np.array_equal(a(x, training=True).numpy(), a(x, training=False).numpy())
    np.testing.assert_array_equal(a(x).numpy(), a(x).numpy())


def test_minimum_input_size():
    model = alexnet_bn((55, 55, 3), 2)
    assert model.get_layer("flatten").output.shape == (None, 256)
    assert model(images(2, 55)).shape == (2, 2)
    with pytest.raises(ValueError, match=r"too small for alexnet_bn.*>= 55"):
        alexnet_bn((55, 54, 3), 2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(normalization="layer"), "`normalization`"),
    (dict(normalization="ghost"), "`virtual_batch_size`"),
    (dict(bn_placement="after_relu"), "`bn_placement`"),
    (dict(dropout=1.0), "`dropout`"),
    (dict(dropout=-0.1), "`dropout`"),
    (dict(normalization_momentum=-0.1), "`normalization_momentum`"),
    (dict(normalization_epsilon=-1e-4), "`normalization_epsilon`"),
    (dict(seed="0"), "`seed`"),
    (dict(num_classes=2.0), "`num_classes`"),
    (dict(name=None), "`name`"),
    (dict(input_shape=(SMALL, SMALL, 4)), "`input_shape`"),
])
def test_bad_arguments(kwargs, match):
    args = dict(input_shape=(SMALL, SMALL, 3), num_classes=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        alexnet_bn(**args)


def test_small_fit_and_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    model = alexnet_bn((SMALL, SMALL, 3), 3, seed=2)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)  # graph mode, without the XLA compile time
    x, y = images(8, SMALL), np.arange(8) % 3
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    loss = history.history["loss"][0]
    assert np.isfinite(loss) and loss < 10 * np.log(3)
    path = os.path.join(tmp_path, "alexnet_bn.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())
    assert [v.path for v in loaded.weights] == [v.path for v in model.weights]
