"""ImageNet (ILSVRC 2012, 1000 classes) from a folder of TFRecord shards or the TFDS archives.

Nothing is downloaded. The folder is the `dir` argument (`--set
data.dir=PATH`), else `$KERAS_BIGBATCH_IMAGENET_DIR`; it may be a `gs://`
path (every file access goes through `tf.io.gfile`). Its format is detected
from its contents:

```
(a) train-00000-of-01024 ... validation-00127-of-00128: TFRecord shards as
    tensorflow/tpu's tools/datasets/imagenet_to_gcs.py writes them (any
    shard counts; every shard of a split must be present). Records hold
    `image/encoded` (JPEG) and `image/class/label` in 1..1000 (sorted
    synsets); the source's label is image/class/label - 1, in 0..999.
(b) ILSVRC2012_img_train.tar + ILSVRC2012_img_val.tar (image-net.org): the
    real tensorflow-datasets builder prepares `imagenet2012` from them once,
    without downloading, into `tfds_data_dir`, else $TFDS_DATA_DIR, else
    FOLDER/tensorflow_datasets (printed when it starts; later runs find it).
(c) an already prepared TFDS data_dir (FOLDER/imagenet2012/<version>/, or
    FOLDER/tensorflow_datasets/imagenet2012/<version>/).
```

A folder holding (a) is read as (a) whatever else it holds; then (c), then
(b). (b) and (c) read TFDS's TFRecord files directly (file list and example
counts from its dataset_info; keys `image` and `label`, labels already
0..999), with the same pipeline and preprocessing as (a). Splits: "train"
is ImageNet's training set; "test" reads ImageNet's *validation* set (the
test set has no public labels).

Example counts: TFDS's split info; for (a) 1,281,167 / 50,000 when the
layout is the standard 1024 / 128 shards (tensorflow/tpu resnet_main.py
NUM_TRAIN_IMAGES / NUM_EVAL_IMAGES), otherwise one pass over the records,
once per folder and process.

Errors name the file: a missing folder, a folder with neither format (the
message says which files go where), missing shards, and every shard's
first record (not a TFRecord, no `image/encoded`/`image/class/label` keys,
a label out of range) are checked when the source is built; so is every
record of (a) when the records are counted. Truncation or corruption later
in a file (the bytes read do not add up to the file's size), and a later
record without the keys or with a label out of range, fail when the
pipeline reaches them (in training: when it reaches the end of what could
be read of that file), with a `tf.errors.InvalidArgumentError` that names
the file. A record whose bytes are not a decodable JPEG fails in
TensorFlow's decoder, whose message does not name it.

Training: every epoch a stateless permutation of the files, interleaved,
shuffled in stateless windows of `shuffle_buffer` records, exactly
S = N // B global batches; random-resized crops and flips seeded per
example. What a worker yields from step t on is a pure function of
(seed, t, number of workers): `start_step` resumes exactly, on any machine,
with the same number of workers (sharding by files makes the global batches
depend on it). Evaluation: one ordered pass of center crops. Batch-size
schedules (`scheduled_dataset`) are supported. Details in
`_imagenet_pipeline.py` and `_image_preprocessing.py`. Images are uint8
`(image_size, image_size, 3)` (normalization is the model's job); labels
int64 in [0, 1000).
"""

import math
import numbers
import os

from keras_bigbatch.arguments import check_bool
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.data.registry import register_source
from keras_bigbatch.data.source import BATCH_SIZE_SCHEDULES
from keras_bigbatch.data.source import DataSource

NUM_CLASSES = 1000
EVAL_RESIZE_AT_224 = 256  # shorter side before the 224 center crop


class ImageNetSource(DataSource):
    """ImageNet as a `DataSource` (see the module docstring); build it with `imagenet2012_source`.

    Attributes:
        files: the `ImageNetFiles` found in the folder (format, paths, counts).
    """

    name = "imagenet2012"
    features = frozenset({BATCH_SIZE_SCHEDULES})  # tf.data only: no numpy batches

    def __init__(self, files, image_size, area_range, aspect_ratio_range, eval_resize, flip,
                 shuffle_buffer, eval_drop_remainder):
        self.files = files
        self.image_size = image_size
        self.area_range = area_range
        self.aspect_ratio_range = aspect_ratio_range
        self.eval_resize = eval_resize
        self.flip = flip
        self.shuffle_buffer = shuffle_buffer
        self.eval_drop_remainder = eval_drop_remainder

    def num_examples(self, split):
        return self._split(split).num_examples

    @property
    def num_classes(self):
        return NUM_CLASSES

    @property
    def element_spec(self):
        from keras_bigbatch.data import pipeline

        return pipeline.image_spec(self.image_size)

    def _split(self, split):
        return self.files.train if split == "train" else self.files.test

    def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
        from keras_bigbatch.data import _imagenet_pipeline

        if training:
            return _imagenet_pipeline.training_dataset(
                self._split(split), self, global_batch_size, shard, batch, seed, start_step)
        return _imagenet_pipeline.evaluation_dataset(self._split(split), self, global_batch_size)

    def _epoch_examples(self, seed, epoch, shard, global_batch_size, first_batch):
        from keras_bigbatch.data import _imagenet_pipeline

        return _imagenet_pipeline.epoch_examples(
            self.files.train, self, seed, epoch, shard, global_batch_size, first_batch)


@register_source("imagenet2012")
def imagenet2012_source(dir=None, image_size=224, area_range=(0.08, 1.0),  # noqa: A002
                        aspect_ratio_range=(0.75, 4 / 3), eval_resize=None, flip=True,
                        shuffle_buffer=10000, eval_drop_remainder=False, tfds_data_dir=None):
    """ImageNet from a local or `gs://` folder, as an `ImageNetSource`.

    Args:
        dir: the folder (default: `$KERAS_BIGBATCH_IMAGENET_DIR`); see the
            module docstring for the formats it may hold.
        image_size: side of the square uint8 images, training and
            evaluation. Default 224.
        area_range: `(min, max)` fraction of the image area a training crop
            covers, 0 < min <= max <= 1. Default (0.08, 1.0).
        aspect_ratio_range: `(min, max)` width / height of a training crop,
            0 < min <= max. Default (3/4, 4/3).
        eval_resize: the shorter side the evaluation center crop is taken
            from, >= image_size: the centred square of image_size /
            eval_resize of the shorter side, decoded alone and resized to
            image_size (tensorflow/tpu's way; "resize to eval_resize, crop
            image_size" up to resampling). Default None:
            `round(image_size * 256 / 224)` (256 at 224, as in Goyal et al.
            and tensorflow/tpu).
        flip: random horizontal flips in training. Default True.
        shuffle_buffer: records per stateless shuffle window. Default 10000.
        eval_drop_remainder: drop the last partial evaluation batch (TPUs
            need fixed shapes; the dropped examples are then not evaluated).
            Default False.
        tfds_data_dir: where tensorflow-datasets prepares the archives of
            format (b). Default: $TFDS_DATA_DIR, else DIR/tensorflow_datasets.

    Raises:
        ValueError: a bad argument (named, with what is valid), or no folder.
        DataFileError: a missing folder or file, or a damaged shard (named).

    Example:

        Tiny shards in format (a), as `python -m
        keras_bigbatch.data.imagenet_sample imagenet_sample` writes them:

        >>> from keras_bigbatch.data import get_source, write_tfrecord_sample
        >>> _ = write_tfrecord_sample("imagenet_sample")
        >>> data = get_source("imagenet2012", dir="imagenet_sample", image_size=64)
        >>> data
        ImageNetSource(name='imagenet2012', train=32, test=16, classes=1000)
        >>> data.dataset("train", 8).element_spec[0]
        TensorSpec(shape=(8, 64, 64, 3), dtype=tf.uint8, name=None)

    References:
        tensorflow/tpu, models/official/resnet/resnet_preprocessing.py
        (random-resized crop, center crop) and tools/datasets/imagenet_to_gcs.py
        (format a). Goyal et al. 2017, "Accurate, Large Minibatch SGD",
        arXiv:1706.02677 (resize 256, center crop 224).
    """
    image_size = check_positive_int("image_size", image_size)
    area_range = _check_range("area_range", area_range, upper=1.0)
    aspect_ratio_range = _check_range("aspect_ratio_range", aspect_ratio_range)
    if eval_resize is None:
        eval_resize = round(image_size * EVAL_RESIZE_AT_224 / 224)
    elif check_positive_int("eval_resize", eval_resize) < image_size:
        raise ValueError(
            f"Argument `eval_resize` must be an integer >= image_size ({image_size}) or None. "
            f"Received: eval_resize={eval_resize!r}")
    check_bool("flip", flip)
    shuffle_buffer = check_positive_int("shuffle_buffer", shuffle_buffer)
    check_bool("eval_drop_remainder", eval_drop_remainder)
    for name, value in (("dir", dir), ("tfds_data_dir", tfds_data_dir)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise ValueError(
                f"Argument `{name}` must be a path or None. Received: {name}={value!r}")
    from keras_bigbatch.data import _imagenet_files

    folder = _imagenet_files.resolve_folder(dir)
    files = _imagenet_files.find(
        folder, None if tfds_data_dir is None else os.fspath(tfds_data_dir))
    return ImageNetSource(files, image_size, area_range, aspect_ratio_range, int(eval_resize),
                          flip, shuffle_buffer, eval_drop_remainder)


def _check_range(name, value, upper=math.inf):
    """`(low, high)` as floats; raises unless 0 < low <= high <= upper."""
    bound = "" if upper == math.inf else f" <= {upper:g}"
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
            and 0 < value[0] <= value[1] <= upper):
        return (float(value[0]), float(value[1]))
    raise ValueError(
        f"Argument `{name}` must be a pair (min, max) of numbers with 0 < min <= max{bound}. "
        f"Received: {name}={value!r}")
