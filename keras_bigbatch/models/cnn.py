"""A small convolutional classifier for 28x28 (or 8x8) grayscale images."""

import keras

from keras_bigbatch.models._normalization import check_normalization
from keras_bigbatch.models._normalization import normalization_layer


def small_cnn(
    input_shape,
    num_classes,
    filters=(32, 64),
    dense_units=128,
    normalization="batch",
    virtual_batch_size=None,
    normalization_momentum=0.99,
    seed=None,
    name="small_cnn",
):
    """Conv(3x3) -> norm -> ReLU -> MaxPool blocks, then Dense -> norm -> ReLU.

    Channels-last. A 2-D `input_shape` such as `(28, 28)` gets a channel axis.

    Args:
        input_shape: `(H, W)` or `(H, W, C)`.
        num_classes: number of logits.
        filters: filters of each conv block. Default `(32, 64)`.
        dense_units: width of the hidden dense layer. Default 128.
        normalization: as in `mlp`.
        virtual_batch_size: as in `mlp`.
        normalization_momentum: as in `mlp`.
        seed: as in `mlp`.
        name: as in `mlp`.
    """
    check_normalization(normalization, virtual_batch_size)
    input_shape = tuple(input_shape)
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = inputs
    if len(input_shape) == 2:
        x = keras.layers.Reshape(input_shape + (1,))(x)
    layer_seed = 0 if seed is None else seed

    def init():
        nonlocal layer_seed
        layer_seed += 1
        return keras.initializers.HeNormal(
            seed=None if seed is None else layer_seed
        )

    for i, count in enumerate(filters):
        x = keras.layers.Conv2D(
            count,
            3,
            padding="same",
            use_bias=normalization == "none",
            kernel_initializer=init(),
            name=f"conv_{i}",
        )(x)
        norm = normalization_layer(normalization, virtual_batch_size, f"conv_norm_{i}", normalization_momentum)
        if norm is not None:
            x = norm(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(
        dense_units,
        use_bias=normalization == "none",
        kernel_initializer=init(),
        name="dense",
    )(x)
    norm = normalization_layer(normalization, virtual_batch_size, "dense_norm", normalization_momentum)
    if norm is not None:
        x = norm(x)
    x = keras.layers.ReLU()(x)
    outputs = keras.layers.Dense(
        num_classes, kernel_initializer=init(), name="logits"
    )(x)
    return keras.Model(inputs, outputs, name=name)
