"""AlexNet-BN: AlexNet with batch normalization instead of LRN (You et al. 2017)."""

import keras

from keras_bigbatch.arguments import check_choice
from keras_bigbatch.arguments import check_fraction
from keras_bigbatch.arguments import check_non_negative_int
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.models._image_input import check_image_shape
from keras_bigbatch.models._image_input import image_inputs
from keras_bigbatch.models._normalization import check_normalization
from keras_bigbatch.models._normalization import normalization_layer

# (filters, kernel, stride, padding, max pool 3x3/2 after the ReLU)
CONVOLUTIONS = ((96, 11, 4, 0, True), (256, 5, 1, 2, True), (384, 3, 1, 1, False),
                (384, 3, 1, 1, False), (256, 3, 1, 1, True))
# bn_placement -> (convs followed by BN with gamma and beta,
#                  convs whose input is BN'd without gamma and beta)
BN_PLACEMENTS = {
    "conv_inputs": ((), (2, 3, 4, 5)),
    "every_conv": ((1, 2, 3, 4, 5), ()),
    "lrn": ((1, 2), ()),
}
# conv1 (11x11/4) -> 12, pool -> 6, conv2 -> 6, pool -> 3, conv3-5 -> 3, pool -> 1
MIN_INPUT_SIZE = 55


def _ceil_pool_padding(size, pool=3, stride=2):
    """Bottom/right padding that gives Caffe's ceil-mode pooling output size."""
    output = -(-(size - pool) // stride) + 1  # ceil((size - pool) / stride) + 1
    return (output - 1) * stride + pool - size


def alexnet_bn(
    input_shape,
    num_classes,
    normalization="batch",
    virtual_batch_size=None,
    bn_placement="conv_inputs",
    normalization_momentum=0.9,
    normalization_epsilon=1e-4,
    dropout=0.5,
    seed=None,
    name="alexnet_bn",
):
    """AlexNet-BN: single-tower AlexNet whose LRN layers are replaced by BN.

    The network of You, Gitman & Ginsburg's LARS experiments, from the
    co-author's nvcaffe `models/alexnet_bn`. Channels-last. Input: uint8 RGB
    images `(H, W, 3)`, 227x227 as in Caffe (224 gives the same sizes),
    normalized inside the model with the ImageNet per-channel mean and std
    (a weightless first layer, in the compute dtype; Caffe subtracted a mean
    image, and `train_val2.prototxt` also scaled by 1/256). Output:
    `num_classes` logits (no softmax), float32 under every dtype policy.

    ```
    conv1 96 x 11x11 / 4          ReLU  max pool 3x3/2    227 -> 55 -> 27
    conv2 256 x 5x5, pad 2        ReLU  max pool 3x3/2     27 -> 27 -> 13
    conv3 384 x 3x3, pad 1        ReLU                     13
    conv4 384 x 3x3, pad 1        ReLU                     13
    conv5 256 x 3x3, pad 1        ReLU  max pool 3x3/2     13 -> 6
    flatten (6 * 6 * 256 = 9216), fc6 4096 ReLU dropout, fc7 4096 ReLU dropout,
    logits (Caffe's fc8) num_classes
    ```

    Max pooling uses Caffe's ceil-mode output size, `ceil((n - 3) / 2) + 1`,
    by zero-padding the bottom and right where needed (equal to -inf padding
    after a ReLU). At 227 no padding is needed; at 224 conv1 gives 54, which
    pools to 27 as in Caffe (floor mode would give 26 and a 5x5 map at fc6).

    `bn_placement` chooses where the normalization goes (nvcaffe's two
    prototxts; which one the paper's results used is not confirmed):

    * `"conv_inputs"` (default): BN without gamma and beta (Caffe's
      `scale_bias: false`) on the input of conv2, conv3, conv4 and conv5,
      i.e. after pool1, pool2, relu3 and relu4; every convolution has a
      bias. This is `train_val2.prototxt` (`train_val2_fp16.prototxt`),
      the network nvcaffe's LARS solvers train (`solver_autolr`,
      `solver_8K`, `solver_16k`, `solver_32k`: 100 epochs, the setting of
      the paper's LARS results), hence the default.
    * `"every_conv"`: conv -> BN (with gamma and beta) -> ReLU for conv1 to
      conv5, convolutions without bias. This is `train_val.prototxt`,
      trained by nvcaffe's plain-SGD `solver.prototxt`; its conv5 keeps a
      bias there, dropped here as redundant before BN.
    * `"lrn"`: conv -> BN -> ReLU for conv1 and conv2 only (where
      AlexNet's LRN layers were), conv3-5 with bias. In neither prototxt;
      kept for comparison.

    No variant normalizes fc6 or fc7 (neither prototxt does). All
    convolutions are single-tower (`groups=1`): the prototxt's `group: 2`
    on conv2, conv4 and conv5 is the 2012 two-GPU split, and grouped
    convolutions fail on TensorFlow CPU and on TPU VMs
    (tensorflow/tensorflow#61976); this adds parameters to conv2, conv4 and
    conv5.

    Parameters with `num_classes=1000` at 227 or 224 (6x6x256 into fc6),
    trainable + non-trainable (moving statistics):

    * `"conv_inputs"`: 62,378,344 + 2,240
    * `"every_conv"`: 62,379,720 + 2,752
    * `"lrn"`: 62,378,696 + 704

    Initialization (the prototxts' Gaussian fillers): convolutions
    `N(0, 0.01^2)` with bias 0.01, fc6 and fc7 `N(0, 0.005^2)` with bias
    0.1, logits `N(0, 0.01^2)` with bias 0 (`train_val2` uses 0.01);
    normalization gamma 1, beta 0.

    Args:
        input_shape: `(H, W, 3)`, H and W >= 55 (a 1x1 map at pool5, 256
            features into fc6); 227 (or 224) for ImageNet, e.g. 67 for
            smoke runs.
        num_classes: number of logits.
        normalization: `"batch"`, `"sync_batch"`, `"ghost"` or `"none"`;
            see `mlp`. Default `"batch"`.
        virtual_batch_size: ghost batch size; required for `"ghost"`.
        bn_placement: `"conv_inputs"` (default), `"every_conv"` or
            `"lrn"`; see above.
        normalization_momentum: momentum of the moving statistics. Default
            0.9 (the prototxts' `moving_average_fraction`).
        normalization_epsilon: epsilon of the normalization. Default 1e-4
            (the prototxts' `eps`).
        dropout: dropout rate after fc6 and fc7, in [0, 1). Default 0.5.
        seed: seed of the initializers and of the dropout masks (each layer
            gets its own derived seed); None: unseeded.
        name: model name.

    Returns:
        A functional `keras.Model` from uint8 images to float32 logits.

    Example:

        >>> import numpy as np
        >>> from keras_bigbatch.models import alexnet_bn
        >>> model = alexnet_bn((227, 227, 3), 1000)
        >>> [model.get_layer(n).output.shape[1] for n in ("relu1", "pool1", "pool2", "pool5")]
        [55, 27, 13, 6]
        >>> model.get_layer("flatten").output.shape
        (None, 9216)
        >>> sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        62378344

    References:
        You, Gitman & Ginsburg, "Large Batch Training of Convolutional
        Networks", arXiv:1708.03888, 2017 (AlexNet-BN, LARS).
        borisgin/nvcaffe `models/alexnet_bn/train_val.prototxt`,
        `train_val2.prototxt`, `solver_8K.prototxt`.
        Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
        Convolutional Neural Networks", NeurIPS 2012, section 3.5 (the
        architecture) and 3.3 (LRN).
    """
    check_positive_int("num_classes", num_classes)
    check_normalization(normalization, virtual_batch_size, normalization_momentum,
                        normalization_epsilon)
    check_choice("bn_placement", bn_placement, tuple(BN_PLACEMENTS))
    check_fraction("dropout", dropout)
    if seed is not None:
        check_non_negative_int("seed", seed)
    if not isinstance(name, str) or not name:
        raise ValueError(f"Argument `name` must be a non-empty string. Received: name={name!r}")
    input_shape = check_image_shape(input_shape, MIN_INPUT_SIZE, "alexnet_bn")
    normalized_after, normalized_before = BN_PLACEMENTS[bn_placement]
    if normalization == "none":
        normalized_after, normalized_before = (), ()
    counter = [0 if seed is None else seed]

    def next_seed():
        counter[0] += 1
        return None if seed is None else counter[0]

    def norm(x, label, affine=True):
        layer = normalization_layer(normalization, virtual_batch_size, label,
                                    normalization_momentum, normalization_epsilon,
                                    center=affine, scale=affine)
        return layer(x)

    inputs, x = image_inputs(input_shape)
    for index, (filters, size, stride, pad, pool) in enumerate(CONVOLUTIONS, start=1):
        if index in normalized_before:
            x = norm(x, f"conv{index}_input_bn", affine=False)
        if pad:
            x = keras.layers.ZeroPadding2D(pad, name=f"conv{index}_pad")(x)
        x = keras.layers.Conv2D(
            filters, size, strides=stride, use_bias=index not in normalized_after,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01, seed=next_seed()),
            bias_initializer=keras.initializers.Constant(0.01),
            name=f"conv{index}",
        )(x)
        if index in normalized_after:
            x = norm(x, f"conv{index}_bn")
        x = keras.layers.ReLU(name=f"relu{index}")(x)
        if pool:
            pads = [_ceil_pool_padding(n) for n in x.shape[1:3]]
            if any(pads):
                x = keras.layers.ZeroPadding2D(((0, pads[0]), (0, pads[1])),
                                               name=f"pool{index}_pad")(x)
            x = keras.layers.MaxPooling2D(3, strides=2, name=f"pool{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for index in (6, 7):
        x = keras.layers.Dense(
            4096,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.005, seed=next_seed()),
            bias_initializer=keras.initializers.Constant(0.1),
            name=f"fc{index}",
        )(x)
        x = keras.layers.ReLU(name=f"relu{index}")(x)
        x = keras.layers.Dropout(dropout, seed=next_seed(), name=f"drop{index}")(x)
    outputs = keras.layers.Dense(
        num_classes,
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.01, seed=next_seed()),
        dtype="float32",  # float32 logits under mixed precision
        name="logits",
    )(x)
    return keras.Model(inputs, outputs, name=name)
