"""The uint8 image input of the ImageNet models, normalized inside the model."""

import numbers

import keras

# Per-channel (R, G, B) statistics of ImageNet on the 0..255 scale: torchvision's
# mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) times 255.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def check_image_shape(input_shape, min_size, model):
    """Returns `input_shape` as `(height, width, 3)`; raises `ValueError` if bad.

    Height and width must be known integers >= `min_size`, the smallest
    input `model` (named in the message) takes.
    """
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if (shape is None or len(shape) != 3 or shape[2] != 3 or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) for d in shape)):
        raise ValueError(
            "Argument `input_shape` must be (height, width, 3) with known integer "
            f"height and width (channels-last RGB). Received: input_shape={input_shape!r}"
        )
    shape = tuple(int(d) for d in shape)
    if min(shape[:2]) < min_size:
        raise ValueError(
            f"Argument `input_shape` is too small for {model}: height and width must "
            f"be >= {min_size} pixels. Received: input_shape={shape!r}"
        )
    return shape


def image_inputs(input_shape):
    """`(inputs, x)`: a uint8 `keras.Input` and its normalized float tensor.

    ```
    x = (cast(inputs) - IMAGENET_MEAN) / IMAGENET_STD     per channel
    ```

    computed by a weightless `keras.layers.Rescaling` (scale `1 / std`,
    offset `-mean / std`) in the compute dtype of the dtype policy (bfloat16
    under `"mixed_bfloat16"`), so the normalization adds no parameters and
    the images stay uint8 until they reach the device. Float inputs are
    converted to uint8 by the model (fractions truncated): feed 0..255 pixels.
    """
    inputs = keras.Input(shape=input_shape, dtype="uint8", name="inputs")
    x = keras.layers.Rescaling(
        scale=[1.0 / s for s in IMAGENET_STD],
        offset=[-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)],
        name="imagenet_normalization",
    )(inputs)
    return inputs, x
