import doctest
import importlib
import os

import keras
import numpy as np
import pytest

from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.models import resnet50


def images(count, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype="uint8")


def norm_layers(model):
    return [l for l in model.layers
            if isinstance(l, (keras.layers.BatchNormalization, GhostBatchNormalization))]


def test_reference_parameter_count_layout_and_initialization():
    model = resnet50((224, 224, 3), 1000)
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert trainable == 25_557_032  # torchvision's resnet50 (v1.5)
    assert model.count_params() - trainable == 53_120  # moving mean and variance
    shapes = {n: model.get_layer(n).output.shape[1:] for n in (
        "stem_pool", "stage2_block3_out", "stage3_block4_out", "stage4_block6_out",
        "stage5_block3_out")}
    assert shapes == {"stem_pool": (56, 56, 64), "stage2_block3_out": (56, 56, 256),
                      "stage3_block4_out": (28, 28, 512), "stage4_block6_out": (14, 14, 1024),
                      "stage5_block3_out": (7, 7, 2048)}
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert len(convs) == 1 + 16 * 3 + 4 and not any(c.use_bias for c in convs)
    # v1.5: the stride of a downsampling block is on its 3x3 convolution
    assert model.get_layer("stage3_block1_conv1").strides == (1, 1)
    assert model.get_layer("stage3_block1_conv2").strides == (2, 2)
    assert model.get_layer("stage3_block1_shortcut_conv").strides == (2, 2)
    assert "stage2_block2_shortcut_conv" not in [c.name for c in convs]
    norms = norm_layers(model)
    assert len(norms) == len(convs)
    assert all(l.momentum == 0.9 and l.epsilon == 1e-5 for l in norms)
    for layer in norms:
        expected = 0.0 if layer.name.endswith("_bn3") else 1.0
        np.testing.assert_array_equal(layer.gamma.numpy(), expected)
    assert sum(l.name.endswith("_bn3") for l in norms) == 16
    # the default 1-D masks of LARS & co. exclude exactly BN parameters and biases
    one_d = [v.path for v in model.trainable_variables if len(v.shape) == 1]
    assert all(p.endswith(("/gamma", "/beta")) or p == "logits/bias" for p in one_d)
    assert len(one_d) == 2 * len(norms) + 1
    assert model.get_layer("imagenet_normalization").count_params() == 0
    assert model.input.dtype == "uint8"


def test_docstring_example_runs():
    # `keras_bigbatch.models.resnet50` is the function; the module is in sys.modules
    module = importlib.import_module("keras_bigbatch.models.resnet50")
    result = doctest.testmod(module, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_input_normalization_matches_imagenet_statistics():
    model = resnet50((32, 32, 3), 2)
    normalize = keras.Model(model.input, model.get_layer("imagenet_normalization").output)
    x = images(1, 32)
    expected = (x - np.array([123.675, 116.28, 103.53])) / np.array([58.395, 57.12, 57.375])
    np.testing.assert_allclose(normalize(x).numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_gives_float32_logits(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = resnet50((32, 32, 3), 5, seed=1)
        assert model.get_layer("stem_conv").compute_dtype == policy.split("_")[1]
        out = model(images(1, 32))
    finally:
        keras.config.set_dtype_policy(previous)
    assert out.dtype == "float32" and model.get_layer("logits").kernel.dtype == "float32"
    assert np.all(np.isfinite(out.numpy()))


def test_ghost_normalization_and_options():
    model = resnet50((32, 32, 3), 3, normalization="ghost", virtual_batch_size=2,
                     normalization_momentum=0.8, normalization_epsilon=1e-3,
                     zero_init_last_gamma=False)
    norms = norm_layers(model)
    assert len(norms) == 53 and all(isinstance(l, GhostBatchNormalization) for l in norms)
    assert all(l.virtual_batch_size == 2 and l.momentum == 0.8 and l.epsilon == 1e-3
               for l in norms)
    assert all(np.all(l.gamma.numpy() == 1.0) for l in norms)
    assert model(images(4, 32), training=True).shape == (4, 3)


def test_no_normalization_gives_conv_biases():
    model = resnet50((32, 32, 3), 3, normalization="none")
    assert not norm_layers(model)
    assert all(l.use_bias for l in model.layers if isinstance(l, keras.layers.Conv2D))


def test_seeded_initialization_is_deterministic():
    a, b = resnet50((32, 32, 3), 4, seed=7), resnet50((32, 32, 3), 4, seed=7)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    kernel = a.get_layer("stage4_block2_conv2").kernel.numpy()
    # each layer draws from its own seed
    assert not np.array_equal(kernel, a.get_layer("stage4_block3_conv2").kernel.numpy())
    # fan-out He normal: std = sqrt(2 / (3 * 3 * 256))
    assert abs(kernel.std() / np.sqrt(2 / (9 * 256)) - 1) < 0.02


@pytest.mark.parametrize("kwargs,match", [
    (dict(normalization="group"), "`normalization`"),
    (dict(normalization="ghost"), "`virtual_batch_size`"),
    (dict(normalization="ghost", virtual_batch_size=0), "`virtual_batch_size`"),
    (dict(normalization_momentum=1.0), "`normalization_momentum`"),
    (dict(normalization_epsilon=0.0), "`normalization_epsilon`"),
    (dict(zero_init_last_gamma="yes"), "`zero_init_last_gamma`"),
    (dict(seed=-1), "`seed`"),
    (dict(seed=1.5), "`seed`"),
    (dict(name=""), "`name`"),
    (dict(num_classes=0), "`num_classes`"),
    (dict(input_shape=(32, 32)), "`input_shape`"),
    (dict(input_shape=(32, 32, 1)), "`input_shape`"),
    (dict(input_shape=(None, 32, 3)), "`input_shape`"),
    (dict(input_shape=(32, 31, 3)), r"`input_shape` is too small for resnet50.*>= 32"),
])
def test_bad_arguments(kwargs, match):
    args = dict(input_shape=(32, 32, 3), num_classes=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        resnet50(**args)


def test_small_fit_and_keras_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    model = resnet50((32, 32, 3), 3, seed=2)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=True)  # tracing ResNet-50's train step takes ~20 s on CPU;
    # alexnet_test fits in graph mode through the same input layers
    x, y = images(8, 32), np.arange(8) % 3
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    loss = history.history["loss"][0]
    assert np.isfinite(loss) and loss < 10 * np.log(3)
    path = os.path.join(tmp_path, "resnet50.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())
    assert [v.path for v in loaded.weights] == [v.path for v in model.weights]
