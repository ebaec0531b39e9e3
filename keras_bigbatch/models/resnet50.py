"""ResNet-50 v1.5 for ImageNet (He et al. 2016; the torchvision / MLPerf variant)."""

import keras

from keras_bigbatch.arguments import check_bool
from keras_bigbatch.arguments import check_non_negative_int
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.models._image_input import check_image_shape
from keras_bigbatch.models._image_input import image_inputs
from keras_bigbatch.models._normalization import check_normalization
from keras_bigbatch.models._normalization import normalization_layer

# (stage name, bottleneck width, blocks); each block outputs 4 * width channels
STAGES = (("stage2", 64, 3), ("stage3", 128, 4), ("stage4", 256, 6), ("stage5", 512, 3))
EXPANSION = 4
# The total stride: every stride-2 layer then halves a map of >= 2 pixels.
MIN_INPUT_SIZE = 32


def resnet50(
    input_shape,
    num_classes,
    normalization="batch",
    virtual_batch_size=None,
    normalization_momentum=0.9,
    normalization_epsilon=1e-5,
    zero_init_last_gamma=True,
    seed=None,
    name="resnet50",
):
    """ResNet-50 v1.5: bottleneck residual blocks, stride in the 3x3 convolution.

    Channels-last. Input: uint8 RGB images `(H, W, 3)`, normalized inside
    the model with the ImageNet per-channel mean and std (a weightless first
    layer, in the compute dtype). Output: `num_classes` logits (no softmax),
    float32 under every dtype policy (the classifier has dtype float32).

    ```
    stem:    pad 3, conv 7x7/2 (64), norm, ReLU; pad 1, max pool 3x3/2
    stage s in (2, 3, 4, 5), width w = 64, 128, 256, 512, blocks 3, 4, 6, 3;
      block b, stride t = 2 for the first block of stages 3-5, else 1:
        y = ReLU(norm1(conv1x1_w(x)))
        y = ReLU(norm2(conv3x3_w / t(y)))          # v1.5: the stride is here
        y = norm3(conv1x1_4w(y))                   # gamma = 0 if zero_init_last_gamma
        x = ReLU(y + shortcut(x)),  shortcut = norm(conv1x1_4w / t(x)) where
            the shape changes (first block of each stage), else identity
    head:    global average pool -> Dense(num_classes) with bias
    ```

    Strided convolutions pad explicitly, `(k - 1) // 2` pixels on each
    side, as torchvision's `padding=k // 2` and tensorflow/tpu's
    `fixed_padding` (Keras's `"same"` would pad asymmetrically). The
    stem's max pool pads with zeros, equal to -inf padding after a ReLU.
    Convolutions have no bias (each is followed by normalization; with
    `normalization="none"` they get one). With `num_classes=1000` the model
    has 25,557,032 trainable parameters, torchvision's `resnet50` count, at
    any input size; the moving statistics add 53,120 non-trainable ones.

    Initialization: convolutions He normal with fan-out,
    `N(0, 2 / (k * k * out_channels))` untruncated (torchvision's
    `kaiming_normal_(mode="fan_out", nonlinearity="relu")`); the classifier
    kernel `N(0, 0.01^2)` with zero bias (tensorflow/tpu's ResNet);
    normalization gamma 1 (0 for `norm3` when `zero_init_last_gamma`),
    beta 0.

    Layer names (checkpoints and `variable.path` masks rely on them):
    `stem_conv`, `stem_bn`, `stem_pool`, `{stage}_block{b}_conv{1,2,3}`,
    `{stage}_block{b}_bn{1,2,3}`, `{stage}_block{b}_shortcut_conv`,
    `{stage}_block{b}_shortcut_bn`, `logits`; stages `stage2`..`stage5`,
    blocks from 1. The only 1-D trainable variables are normalization
    gammas and betas and the classifier bias, so the default 1-D exclusion
    masks of the optimizers skip exactly those.

    Args:
        input_shape: `(H, W, 3)`, H and W >= 32 (the total stride); 224 for
            ImageNet, 32 or 64 for smoke runs.
        num_classes: number of logits.
        normalization: `"batch"` (Keras BN), `"sync_batch"` (Keras BN with
            `synchronized=True`), `"ghost"` (`GhostBatchNormalization`) or
            `"none"`; see `mlp`. Default `"batch"`.
        virtual_batch_size: ghost batch size; required for `"ghost"`.
        normalization_momentum: momentum of the moving statistics. Default
            0.9 (tensorflow/tpu and MLPerf; PyTorch's 0.1 in its convention).
        normalization_epsilon: epsilon of the normalization. Default 1e-5
            (PyTorch's, tensorflow/tpu's and MLPerf's).
        zero_init_last_gamma: initialize the gamma of each residual block's
            last normalization (`bn3`) to zero, so every block starts as the
            identity (Goyal et al. 2017, section 5.1). Default True. No
            effect with `normalization="none"`.
        seed: seed of the initializers (each layer gets its own derived
            seed), for reproducible initialization; None: unseeded.
        name: model name.

    Returns:
        A functional `keras.Model` from uint8 images to float32 logits.

    Example:

        >>> import numpy as np
        >>> from keras_bigbatch.models import resnet50
        >>> model = resnet50((224, 224, 3), 1000)
        >>> sum(int(np.prod(v.shape)) for v in model.trainable_variables)
        25557032
        >>> model.get_layer("stage5_block3_out").output.shape
        (None, 7, 7, 2048)

    References:
        He, Zhang, Ren & Sun, "Deep Residual Learning for Image
        Recognition", CVPR 2016, Table 1 (50-layer) and Figure 5 (bottleneck).
        Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in
        1 Hour", arXiv:1706.02677, 2017, section 5.1 (zero-initialized gamma).
        torchvision `models/resnet.py` (v1.5: stride on the 3x3 conv;
        initialization); NVIDIA DeepLearningExamples "ResNet50 v1.5";
        tensorflow/tpu `models/official/resnet/resnet_model.py` (padding,
        classifier initialization, BN momentum and epsilon).
    """
    check_positive_int("num_classes", num_classes)
    check_normalization(normalization, virtual_batch_size, normalization_momentum,
                        normalization_epsilon)
    check_bool("zero_init_last_gamma", zero_init_last_gamma)
    if seed is not None:
        check_non_negative_int("seed", seed)
    if not isinstance(name, str) or not name:
        raise ValueError(f"Argument `name` must be a non-empty string. Received: name={name!r}")
    input_shape = check_image_shape(input_shape, MIN_INPUT_SIZE, "resnet50")
    counter = [0 if seed is None else seed]

    def next_seed():
        counter[0] += 1
        return None if seed is None else counter[0]

    def conv(x, filters, size, stride, label):
        padding = "same"
        if stride > 1 or size == 1:
            padding = "valid"
            if size > 1:
                before = (size - 1) // 2
                pad = (before, size - 1 - before)
                x = keras.layers.ZeroPadding2D((pad, pad), name=f"{label}_pad")(x)
        init = keras.initializers.VarianceScaling(
            2.0, mode="fan_out", distribution="untruncated_normal", seed=next_seed())
        return keras.layers.Conv2D(filters, size, strides=stride, padding=padding,
                                   use_bias=normalization == "none",
                                   kernel_initializer=init, name=label)(x)

    def norm(x, label, gamma="ones"):
        layer = normalization_layer(normalization, virtual_batch_size, label,
                                    normalization_momentum, normalization_epsilon,
                                    gamma_initializer=gamma)
        return x if layer is None else layer(x)

    relu = keras.layers.ReLU
    inputs, x = image_inputs(input_shape)
    x = relu(name="stem_relu")(norm(conv(x, 64, 7, 2, "stem_conv"), "stem_bn"))
    x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)
    last_gamma = "zeros" if zero_init_last_gamma else "ones"
    for stage_index, (stage, width, blocks) in enumerate(STAGES):
        for block in range(1, blocks + 1):
            stride = 2 if stage_index > 0 and block == 1 else 1
            label = f"{stage}_block{block}"
            shortcut = x
            if stride != 1 or x.shape[-1] != EXPANSION * width:
                shortcut = norm(conv(x, EXPANSION * width, 1, stride, f"{label}_shortcut_conv"),
                                f"{label}_shortcut_bn")
            y = relu(name=f"{label}_relu1")(norm(conv(x, width, 1, 1, f"{label}_conv1"),
                                                 f"{label}_bn1"))
            y = relu(name=f"{label}_relu2")(norm(conv(y, width, 3, stride, f"{label}_conv2"),
                                                 f"{label}_bn2"))
            y = norm(conv(y, EXPANSION * width, 1, 1, f"{label}_conv3"), f"{label}_bn3",
                     gamma=last_gamma)
            x = keras.layers.Add(name=f"{label}_add")([shortcut, y])
            x = relu(name=f"{label}_out")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = keras.layers.Dense(
        num_classes,
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.01, seed=next_seed()),
        dtype="float32",  # float32 logits under mixed precision
        name="logits",
    )(x)
    return keras.Model(inputs, outputs, name=name)
