"""A small CIFAR-style ResNet (He et al. 2016, section 4.2) for small images."""

import keras

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.models._normalization import check_normalization
from keras_bigbatch.models._normalization import normalization_layer


def small_resnet(
    input_shape,
    num_classes,
    blocks_per_stage=1,
    filters=(16, 32, 64),
    normalization="batch",
    virtual_batch_size=None,
    normalization_momentum=0.99,
    seed=None,
    name="small_resnet",
):
    """Conv -> stages of basic residual blocks -> global pooling -> logits.

    `6 * blocks_per_stage + 2` weighted layers (ResNet-8 by default,
    ResNet-20 with `blocks_per_stage=3`). Each stage after the first halves
    the resolution with a stride-2 convolution; shortcuts that change shape
    are 1x1 stride-2 convolutions. Channels-last; a 2-D `input_shape` gets a
    channel axis.

    Args:
        input_shape: `(H, W)` or `(H, W, C)`.
        num_classes: number of logits.
        blocks_per_stage: basic blocks per stage, >= 1. Default 1.
        filters: filters of each stage. Default `(16, 32, 64)`.
        normalization: as in `mlp`.
        virtual_batch_size: as in `mlp`.
        normalization_momentum: as in `mlp`.
        seed: as in `mlp`.
        name: as in `mlp`.

    References:
        He, Zhang, Ren & Sun 2016, "Deep Residual Learning for Image
        Recognition", section 4.2 (the CIFAR-10 networks).
    """
    check_normalization(normalization, virtual_batch_size)
    check_positive_int("blocks_per_stage", blocks_per_stage)
    input_shape = tuple(input_shape)
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = inputs
    if len(input_shape) == 2:
        x = keras.layers.Reshape(input_shape + (1,))(x)
    counter = [0 if seed is None else seed]

    def conv(x, count, size, stride, label):
        counter[0] += 1
        init = keras.initializers.HeNormal(seed=None if seed is None else counter[0])
        return keras.layers.Conv2D(count, size, strides=stride, padding="same",
                                   use_bias=normalization == "none",
                                   kernel_initializer=init, name=label)(x)

    def norm(x, label):
        layer = normalization_layer(normalization, virtual_batch_size, label, normalization_momentum)
        return x if layer is None else layer(x)

    x = keras.layers.ReLU()(norm(conv(x, filters[0], 3, 1, "stem"), "stem_norm"))
    for stage, count in enumerate(filters):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            label = f"stage{stage}_block{block}"
            shortcut = x
            if stride != 1 or x.shape[-1] != count:
                shortcut = norm(conv(x, count, 1, stride, f"{label}_shortcut"), f"{label}_shortcut_norm")
            y = keras.layers.ReLU()(norm(conv(x, count, 3, stride, f"{label}_conv0"), f"{label}_norm0"))
            y = norm(conv(y, count, 3, 1, f"{label}_conv1"), f"{label}_norm1")
            x = keras.layers.ReLU()(keras.layers.Add()([shortcut, y]))
    x = keras.layers.GlobalAveragePooling2D()(x)
    counter[0] += 1
    outputs = keras.layers.Dense(
        num_classes, kernel_initializer=keras.initializers.HeNormal(seed=None if seed is None else counter[0]),
        name="logits",
    )(x)
    return keras.Model(inputs, outputs, name=name)
