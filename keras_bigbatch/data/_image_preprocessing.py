"""ImageNet image preprocessing as TensorFlow ops, JPEG bytes in, uint8 out.

Both paths decode only a crop window (`tf.image.decode_and_crop_jpeg`, one
op) and resize it to `image_size` x `image_size` (bilinear, rounded back to
uint8: normalization belongs to the model):

```
training (tensorflow/tpu models/official/resnet/resnet_preprocessing.py,
          `_decode_and_random_crop`):
    window = stateless_sample_distorted_bounding_box(jpeg shape, box = whole
                 image, min_object_covered=0.1, aspect_ratio_range,
                 area_range, max_attempts=10, seed)
    if window == whole image (every attempt failed): window = center window
    image  = flip_left_right with probability 1/2 (stateless, seed)
evaluation:
    side   = floor(min(height, width) * image_size / eval_resize), centred
             (tensorflow/tpu's `_decode_and_center_crop`, CROP_PADDING 32 at 224)
```

The evaluation window equals "resize the shorter side to `eval_resize`,
center crop `image_size`" up to resampling, without decoding or resizing the
pixels outside the crop.
"""

import tensorflow as tf

MIN_OBJECT_COVERED = 0.1
MAX_ATTEMPTS = 10
_WHOLE_IMAGE = ((((0.0, 0.0, 1.0, 1.0),),))


def center_window(shape, image_size, eval_resize):
    """`[top, left, side, side]`: centred, side = short side * image_size / eval_resize."""
    height, width = shape[0], shape[1]
    short = tf.cast(tf.minimum(height, width), tf.float32)
    side = tf.maximum(tf.cast(short * (image_size / eval_resize), tf.int32), 1)
    return tf.stack([(height - side + 1) // 2, (width - side + 1) // 2, side, side])


def random_window(shape, seed, area_range, aspect_ratio_range, image_size, eval_resize):
    """`[top, left, height, width]` of a random crop; the center window after failures."""
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        shape, bounding_boxes=tf.constant(_WHOLE_IMAGE, tf.float32), seed=seed,
        min_object_covered=MIN_OBJECT_COVERED, aspect_ratio_range=aspect_ratio_range,
        area_range=area_range, max_attempts=MAX_ATTEMPTS, use_image_if_no_bounding_boxes=True)
    failed = tf.reduce_all(tf.equal(size[:2], shape[:2]))
    window = tf.stack([begin[0], begin[1], size[0], size[1]])
    return tf.where(failed, center_window(shape, image_size, eval_resize), window)


def _decode_resize(jpeg, window, image_size):
    image = tf.image.decode_and_crop_jpeg(jpeg, window, channels=3)
    image = tf.image.resize(image, (image_size, image_size))
    image = tf.saturate_cast(tf.round(image), tf.uint8)
    return tf.ensure_shape(image, (image_size, image_size, 3))


def train_image(jpeg, seed, image_size, area_range, aspect_ratio_range, eval_resize, flip):
    """A random-resized crop of JPEG `jpeg`, maybe flipped; `seed` is a shape-[2] int tensor."""
    shape = tf.image.extract_jpeg_shape(jpeg)
    crop_seed = tf.random.experimental.stateless_fold_in(seed, 0)
    window = random_window(shape, crop_seed, area_range, aspect_ratio_range, image_size,
                           eval_resize)
    image = _decode_resize(jpeg, window, image_size)
    if flip:
        flip_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    return image


def eval_image(jpeg, image_size, eval_resize):
    """The center crop of JPEG `jpeg` (see the module docstring)."""
    window = center_window(tf.image.extract_jpeg_shape(jpeg), image_size, eval_resize)
    return _decode_resize(jpeg, window, image_size)
