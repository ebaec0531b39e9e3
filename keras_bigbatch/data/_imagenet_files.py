"""The files of ImageNet (ILSVRC 2012) in a folder: which format, which files, how many examples.

```
find(folder, tfds_data_dir) -> ImageNetFiles, in this order:
  (a) TFRecord shards train-NNNNN-of-NNNNN / validation-NNNNN-of-NNNNN
      (tensorflow/tpu tools/datasets/imagenet_to_gcs.py), labels 1..1000
  (c) a prepared tensorflow-datasets imagenet2012: FOLDER is the data_dir,
      holds tensorflow_datasets/ (the default of (b)), or is the version folder
  (b) ILSVRC2012_img_train.tar + ILSVRC2012_img_val.tar: prepared once with
      the real TFDS builder (no download) into tfds_data_dir, else
      $TFDS_DATA_DIR, else FOLDER/tensorflow_datasets; then read as (c)
```

Every file is accessed through `tf.io.gfile`, so FOLDER may be `gs://...`.
Every shard is checked up front (cheaply): it is not empty, its first
record is a valid TFRecord record holding the expected keys and a label in
range. Example counts: TFDS's split info; for (a) the published counts when
the layout is the standard 1024/128 shards, else one checked pass over the
files. TensorFlow only.
"""

import dataclasses
import functools
import os
import posixpath
import re
from concurrent import futures

import tensorflow as tf

from keras_bigbatch.data import _tfrecords
from keras_bigbatch.data.idx import DataFileError

NUM_CLASSES = 1000
ENV_VAR = "KERAS_BIGBATCH_IMAGENET_DIR"
TRAIN_TAR, VALIDATION_TAR = "ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar"
TFDS_SUBDIR = "tensorflow_datasets"
# Shards written by tensorflow/tpu tools/datasets/imagenet_to_gcs.py
# (TRAINING_SHARDS = 1024, VALIDATION_SHARDS = 128) and the examples they
# hold (models/official/resnet/resnet_main.py: NUM_TRAIN_IMAGES = 1281167,
# NUM_EVAL_IMAGES = 50000).
STANDARD_LAYOUT = {"train": (1024, 1_281_167), "validation": (128, 50_000)}
# The source's split -> ImageNet's: "test" reads the validation set.
FILE_SPLITS = {"train": "train", "test": "validation"}
_SHARD = re.compile(r"^(train|validation)-(\d{5})-of-(\d{5})$")
_THREADS = 16  # parallel up-front checks: latency-bound on gs://

HOW_TO = (
    "Put in it either (a) TFRecord shards as tensorflow/tpu's "
    "tools/datasets/imagenet_to_gcs.py writes them: train-00000-of-01024 ... "
    "train-01023-of-01024 and validation-00000-of-00128 ... validation-00127-of-00128 "
    "(any shard counts, every shard of a split present), each record holding "
    "`image/encoded` (JPEG bytes) and `image/class/label` (1..1000); or (b) "
    f"the two archives from image-net.org, {TRAIN_TAR} and {VALIDATION_TAR}, which "
    "tensorflow-datasets prepares once, without downloading, into a TFDS data_dir "
    f"(data.tfds_data_dir, else $TFDS_DATA_DIR, else FOLDER/{TFDS_SUBDIR}); or (c) "
    "such a prepared TFDS data_dir (it holds imagenet2012/<version>/dataset_info.json). "
    "`python -m keras_bigbatch.data.imagenet_sample DIR` writes a tiny sample of (a).")


@dataclasses.dataclass(frozen=True)
class SplitFiles:
    """The TFRecord files of one split and how to read their records."""

    files: tuple          # paths, in order
    sizes: tuple          # bytes of each file
    num_examples: int
    image_key: str        # feature holding the JPEG bytes
    label_key: str        # int64 feature holding the class
    label_offset: int     # stored label - label_offset = class in [0, 1000)


@dataclasses.dataclass(frozen=True)
class ImageNetFiles:
    format: str           # "tfrecord" (a) or "tfds" (b, c)
    location: str         # the shards' folder or the TFDS version folder
    train: SplitFiles
    test: SplitFiles      # ImageNet's validation set


def resolve_folder(folder):
    """The folder argument, else $KERAS_BIGBATCH_IMAGENET_DIR; checked to exist."""
    folder = folder if folder is not None else os.environ.get(ENV_VAR) or None
    if folder is None:
        raise ValueError(
            "No ImageNet folder: set `--set data.dir=PATH` (the data section's `dir`) "
            f"or the environment variable {ENV_VAR}. " + HOW_TO)
    folder = os.fspath(folder)
    if not tf.io.gfile.isdir(folder):
        raise DataFileError(f"ImageNet folder not found: dir={folder!r}. " + HOW_TO)
    return folder.rstrip("/") or "/"


@functools.lru_cache(maxsize=8)
def find(folder, tfds_data_dir=None):
    """The ImageNet files in `folder` (see the module docstring); cached per folder."""
    names = sorted(name.rstrip("/") for name in tf.io.gfile.listdir(folder))
    if any(_SHARD.match(name) for name in names):
        return _tfrecord_shards(folder, names)
    version_dir = _prepared_tfds(folder, names)
    if version_dir is None and (TRAIN_TAR in names or VALIDATION_TAR in names):
        missing = [tar for tar in (TRAIN_TAR, VALIDATION_TAR) if tar not in names]
        if missing:
            present = TRAIN_TAR if TRAIN_TAR in names else VALIDATION_TAR
            raise DataFileError(
                f"ImageNet folder {folder} holds {present} but not {missing[0]}: "
                "tensorflow-datasets' imagenet2012 needs both archives.")
        data_dir = tfds_data_dir or os.environ.get("TFDS_DATA_DIR") or posixpath.join(
            folder, TFDS_SUBDIR)
        version_dir = _version_dir(data_dir) or _prepare_tfds(folder, data_dir)
    if version_dir is None:
        shown = names[:12] + (["..."] if len(names) > 12 else [])
        raise DataFileError(
            f"ImageNet folder {folder} holds neither ImageNet format (it holds {shown}). "
            + HOW_TO)
    return _tfds_splits(version_dir)


def _tfrecord_shards(folder, names):
    shards = {"train": {}, "validation": {}}  # split -> shard count -> indices found
    for name in names:
        match = _SHARD.match(name)
        if match:
            split, index, total = match.group(1), int(match.group(2)), int(match.group(3))
            shards[split].setdefault(total, set()).add(index)
    splits = {}
    for ours, split in FILE_SPLITS.items():
        if not shards[split]:
            raise DataFileError(
                f"ImageNet folder {folder} holds {sorted(s for s in shards if shards[s])} "
                f"shards but no {split}-NNNNN-of-NNNNN shards. " + HOW_TO)
        if len(shards[split]) > 1:
            raise DataFileError(
                f"ImageNet folder {folder} mixes {split} shard sets of "
                f"{sorted(shards[split])} shards; keep one.")
        ((total, found),) = shards[split].items()
        if total == 0 or max(found) >= total:
            raise DataFileError(
                f"ImageNet folder {folder} holds {split} shards numbered "
                f"{sorted(found)[:5]} of {total}: shard i of N is {split}-i-of-N with "
                "0 <= i < N.")
        names = [f"{split}-{i:05d}-of-{total:05d}" for i in range(total)]
        missing = [name for i, name in enumerate(names) if i not in found]
        if missing:
            raise DataFileError(
                f"ImageNet folder {folder} lacks {len(missing)} of the {total} {split} "
                f"shards: {missing[:5]}{' ...' if len(missing) > 5 else ''}.")
        files = tuple(posixpath.join(folder, name) for name in names)
        sizes = check_shards(files, "image/encoded", "image/class/label", 1)
        standard_shards, standard_count = STANDARD_LAYOUT[split]
        count = (standard_count if total == standard_shards
                 else _tfrecords.count_records(files, sizes))
        splits[ours] = SplitFiles(files, sizes, count, "image/encoded", "image/class/label", 1)
    return ImageNetFiles("tfrecord", folder, splits["train"], splits["test"])


def _version_dir(data_dir):
    """The newest prepared imagenet2012 version folder in TFDS `data_dir`, or None."""
    try:
        infos = tf.io.gfile.glob(posixpath.join(data_dir, "imagenet2012", "*", "dataset_info.json"))
    except tf.errors.NotFoundError:
        return None

    def version(path):
        name = posixpath.basename(posixpath.dirname(path))
        return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))

    return posixpath.dirname(max(infos, key=version)) if infos else None


def _prepared_tfds(folder, names):
    if "dataset_info.json" in names:
        return folder
    return _version_dir(folder) or _version_dir(posixpath.join(folder, TFDS_SUBDIR))


def _prepare_tfds(folder, data_dir):
    """Builds TFDS imagenet2012 from the archives in `folder` into `data_dir` (no download)."""
    import tensorflow_datasets as tfds

    print(f"imagenet2012: preparing tensorflow-datasets' imagenet2012 from {folder} into "
          f"{data_dir} (once; later runs read it there).", flush=True)
    builder = tfds.builder("imagenet2012", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=folder))
    return builder.data_dir


def _tfds_splits(version_dir):
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(version_dir)
    if builder.info.name != "imagenet2012":
        raise DataFileError(
            f"TFDS folder {version_dir} holds {builder.info.name!r}, not imagenet2012.")
    if str(builder.info.file_format.value) != "tfrecord":
        raise DataFileError(
            f"TFDS folder {version_dir} holds imagenet2012 as {builder.info.file_format.value} "
            "files; prepare it with the default file_format='tfrecord'.")
    splits = {}
    for ours, split in FILE_SPLITS.items():
        if split not in builder.info.splits:
            raise DataFileError(
                f"TFDS folder {version_dir} has no {split!r} split (it has "
                f"{sorted(builder.info.splits)}); prepare it from both {TRAIN_TAR} and "
                f"{VALIDATION_TAR}.")
        info = builder.info.splits[split]
        files = tuple(instruction.filename for instruction in info.file_instructions)
        sizes = check_shards(files, "image", "label", 0)
        splits[ours] = SplitFiles(files, sizes, int(info.num_examples), "image", "label", 0)
    return ImageNetFiles("tfds", version_dir, splits["train"], splits["test"])


def check_shards(files, image_key, label_key, label_offset):
    """Sizes of `files` in bytes, after checking each one's first record (in parallel).

    Raises:
        DataFileError: a file is empty, does not start with a valid record,
            lacks `image_key` or `label_key`, or holds a label outside
            `[label_offset, label_offset + 1000)`; the message names the file.
    """
    def check(path):
        record = _tfrecords.first_record(path)
        if record is None:
            raise DataFileError(f"Data file {path} is empty: an ImageNet shard holds records.")
        try:
            features = tf.train.Example.FromString(record).features.feature
        except Exception as error:  # protobuf's DecodeError
            raise DataFileError(f"Data file {path}: its first record is not a "
                                f"tf.train.Example ({error}).") from None
        missing = [key for key in (image_key, label_key) if key not in features]
        if missing:
            raise DataFileError(
                f"Data file {path}: its first record lacks {missing}; expected the keys "
                f"{[image_key, label_key]}, found {sorted(features)}.")
        labels = features[label_key].int64_list.value
        low, high = label_offset, label_offset + NUM_CLASSES - 1
        if len(labels) != 1 or not low <= labels[0] <= high:
            raise DataFileError(
                f"Data file {path}: its first record holds label {list(labels)} under "
                f"{label_key!r}; expected one int64 in [{low}, {high}].")
        return tf.io.gfile.stat(path).length

    with futures.ThreadPoolExecutor(max(1, min(_THREADS, len(files)))) as pool:
        return tuple(pool.map(check, files))
