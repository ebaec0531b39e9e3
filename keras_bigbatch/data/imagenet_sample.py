"""Tiny ImageNet-format sample data, to smoke-test a set-up without ImageNet.

```
python -m keras_bigbatch.data.imagenet_sample DIR [--format tfrecord|tars] [--imagenet-sized]
keras-bigbatch train RECIPE --set data.source=imagenet2012 --set data.dir=DIR ...
```

`write_tfrecord_sample` writes format (a) of `imagenet2012_source`:
`train-0000i-of-0000N` / `validation-...` TFRecord shards with the keys
tensorflow/tpu's imagenet_to_gcs.py writes (`image/encoded`,
`image/class/label` 1-based, `image/class/synset`, `image/height`,
`image/width`, `image/colorspace`, `image/channels`, `image/format`,
`image/filename`). `write_ilsvrc_tars` writes format (b): tiny
`ILSVRC2012_img_train.tar` (a tar of per-synset tars of
`<synset>_<k>.JPEG`) and `ILSVRC2012_img_val.tar`
(`ILSVRC2012_val_<8 digits>.JPEG`), whose labels the tensorflow-datasets
builder reads from its bundled `validation_labels.txt`. The images are real
JPEGs of varied, non-square sizes (smooth colours plus noise), not photos.
Files are written through `tf.io.gfile`, so DIR may be `gs://...`.
"""

import argparse
import functools
import importlib.util
import io
import os
import posixpath
import tarfile

import numpy as np

from keras_bigbatch.arguments import check_non_negative
from keras_bigbatch.arguments import check_positive_int

SMALL_SIZE_RANGE = (40, 120)
# ~400 x 400 on average; with IMAGENET_NOISE a 400 x 350 JPEG is ~110 KB,
# about ImageNet's average file, for input-pipeline benchmarks.
IMAGENET_SIZE_RANGE = (300, 500)
IMAGENET_NOISE = 60.0
_QUALITY = 90


@functools.lru_cache(maxsize=2)
def _tfds_list(name):
    """Lines of tensorflow-datasets' bundled imagenet2012 `name` (without importing it)."""
    spec = importlib.util.find_spec("tensorflow_datasets")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "imagenet2012", name)
    with open(path) as handle:
        return tuple(handle.read().split())


def synset_ids():
    """The 1000 ImageNet synset ids, sorted (label k is synset k; TFDS's labels.txt)."""
    return _tfds_list("labels.txt")


def _jpeg(rng, size_range, noise):
    """(JPEG bytes, height, width) of a random non-square image."""
    import tensorflow as tf

    height, width = (int(s) for s in rng.integers(size_range[0], size_range[1] + 1, 2))
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    x = np.linspace(0.0, 1.0, width)[None, :, None]
    colours = rng.uniform(0, 255, (3, 3))
    image = colours[0] * (1 - x) * (1 - y) + colours[1] * x + colours[2] * y * (1 - x)
    image = image + 30.0 * np.sin(x * rng.uniform(5, 40))
    image = image + rng.normal(0.0, noise, image.shape) if noise else image
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return tf.io.encode_jpeg(image, quality=_QUALITY).numpy(), height, width


def _check_size_range(size_range):
    if (not isinstance(size_range, (tuple, list)) or len(size_range) != 2
            or check_positive_int("size_range[0]", size_range[0]) < 8
            or check_positive_int("size_range[1]", size_range[1]) < size_range[0]):
        raise ValueError("Argument `size_range` must be (min, max) image sides with "
                         f"8 <= min <= max. Received: size_range={size_range!r}")


def write_tfrecord_sample(directory, train_shards=4, validation_shards=2, examples_per_shard=8,
                          num_classes=1000, size_range=SMALL_SIZE_RANGE, noise=8.0, seed=0):
    """Writes TFRecord shards in tensorflow/tpu's ImageNet format to `directory`.

    Args:
        directory: the folder (created if missing; local, `gs://`, `ram://`).
        train_shards: the training split's shard count (`-of-NNNNN`).
        validation_shards: the validation split's shard count.
        examples_per_shard: records per shard.
        num_classes: labels are 1..num_classes (<= 1000): each split's
            records take a seeded permutation of them in turn, so no label
            repeats within the first `num_classes` records of a split.
        size_range: `(min, max)` image side in pixels; height and width are
            drawn independently. `IMAGENET_SIZE_RANGE` with
            `noise=IMAGENET_NOISE` gives ImageNet-sized JPEGs (~110 KB).
        noise: standard deviation of the pixel noise (it sets the JPEG size).
        seed: seed of the images and labels.

    Returns:
        `{"train": {path: [(label, height, width), ...]}, "validation": {...}}`,
        shards in order; `label` is the stored 1-based `image/class/label`.
    """
    import tensorflow as tf

    for name, value in (("train_shards", train_shards), ("validation_shards", validation_shards),
                        ("examples_per_shard", examples_per_shard), ("num_classes", num_classes)):
        check_positive_int(name, value)
    if num_classes > 1000:
        raise ValueError(
            f"Argument `num_classes` must be <= 1000. Received: num_classes={num_classes}")
    _check_size_range(size_range)
    check_non_negative("noise", noise)
    directory = os.fspath(directory)
    tf.io.gfile.makedirs(directory)
    rng = np.random.default_rng(seed)
    written = {}
    for split, shards in (("train", train_shards), ("validation", validation_shards)):
        written[split] = {}
        # Balanced classes: a seeded permutation of the labels, repeated.
        labels = rng.permutation(num_classes) + 1
        for shard in range(shards):
            path = posixpath.join(directory, f"{split}-{shard:05d}-of-{shards:05d}")
            records = []
            with tf.io.TFRecordWriter(path) as writer:
                for k in range(examples_per_shard):
                    index = shard * examples_per_shard + k + 1
                    label = int(labels[(index - 1) % num_classes])
                    synset = synset_ids()[label - 1]
                    filename = (f"{synset}_{index}.JPEG" if split == "train"
                                else f"ILSVRC2012_val_{index:08d}.JPEG")
                    jpeg, height, width = _jpeg(rng, size_range, noise)
                    writer.write(_example(jpeg, label, synset, height, width, filename))
                    records.append((label, height, width))
            written[split][path] = records
    return written


def _example(jpeg, label, synset, height, width, filename):
    import tensorflow as tf

    def ints(value):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    def raw(value):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    return tf.train.Example(features=tf.train.Features(feature={
        "image/height": ints(height), "image/width": ints(width),
        "image/colorspace": raw(b"RGB"), "image/channels": ints(3),
        "image/class/label": ints(label), "image/class/synset": raw(synset.encode()),
        "image/format": raw(b"JPEG"), "image/filename": raw(filename.encode()),
        "image/encoded": raw(jpeg),
    })).SerializeToString()


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_ilsvrc_tars(directory, synsets=2, images_per_synset=3, validation_images=4,
                      size_range=SMALL_SIZE_RANGE, noise=8.0, seed=0):
    """Writes tiny `ILSVRC2012_img_train.tar` and `ILSVRC2012_img_val.tar` to `directory`.

    Args:
        directory: the folder (created if missing).
        synsets: the training synsets: a count (the first N of the sorted
            1000) or a list of synset ids such as `["n01440764"]`.
        images_per_synset: training JPEGs per synset.
        validation_images: validation JPEGs; image k (1-based) has the
            label TFDS's `validation_labels.txt` gives on line k.
        size_range: as in `write_tfrecord_sample`.
        noise: as in `write_tfrecord_sample`.
        seed: as in `write_tfrecord_sample`.

    Returns:
        `{"train": path, "validation": path, "train_synsets": {file: synset},
        "validation_synsets": {file: synset}}`.
    """
    import tensorflow as tf

    known = synset_ids()
    if isinstance(synsets, int) and not isinstance(synsets, bool):
        if not 0 < synsets <= 1000:
            raise ValueError(f"Argument `synsets` must be a count in [1, 1000] or a list of synset "
                             f"ids. Received: synsets={synsets!r}")
        chosen = known[:synsets]
    else:
        chosen = tuple(synsets)
        unknown = [s for s in chosen if s not in known]
        if unknown or not chosen:
            raise ValueError(f"Argument `synsets` must list ImageNet synset ids (e.g. "
                             f"{known[0]!r}); unknown: {unknown}. Received: synsets={synsets!r}")
    check_positive_int("images_per_synset", images_per_synset)
    check_positive_int("validation_images", validation_images)
    if validation_images > 50000:
        raise ValueError("Argument `validation_images` must be <= 50000. "
                         f"Received: validation_images={validation_images}")
    _check_size_range(size_range)
    directory = os.fspath(directory)
    tf.io.gfile.makedirs(directory)
    rng = np.random.default_rng(seed)
    train_synsets, validation_synsets = {}, {}
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w") as train_tar:
        for synset in chosen:
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode="w") as synset_tar:
                for k in range(1, images_per_synset + 1):
                    name = f"{synset}_{k}.JPEG"
                    _add(synset_tar, name, _jpeg(rng, size_range, noise)[0])
                    train_synsets[name] = synset
            _add(train_tar, f"{synset}.tar", inner.getvalue())
    validation = io.BytesIO()
    labels = _tfds_list("validation_labels.txt")
    with tarfile.open(fileobj=validation, mode="w") as validation_tar:
        for k in range(1, validation_images + 1):
            name = f"ILSVRC2012_val_{k:08d}.JPEG"
            _add(validation_tar, name, _jpeg(rng, size_range, noise)[0])
            validation_synsets[name] = labels[k - 1]
    paths = {}
    for key, name, data in (("train", "ILSVRC2012_img_train.tar", outer),
                            ("validation", "ILSVRC2012_img_val.tar", validation)):
        paths[key] = posixpath.join(directory, name)
        with tf.io.gfile.GFile(paths[key], "wb") as handle:
            handle.write(data.getvalue())
    return dict(paths, train_synsets=train_synsets, validation_synsets=validation_synsets)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_bigbatch.data.imagenet_sample",
        description="Write tiny ImageNet-format sample data (for data.source=imagenet2012).")
    parser.add_argument("directory")
    parser.add_argument("--format", choices=("tfrecord", "tars"), default="tfrecord",
                        help="TFRecord shards (tensorflow/tpu) or ILSVRC2012 tars (TFDS)")
    parser.add_argument("--imagenet-sized", action="store_true",
                        help="~400x400 JPEGs of ~110 KB instead of 40..120 px ones")
    parser.add_argument("--train-shards", type=int, default=4)
    parser.add_argument("--validation-shards", type=int, default=2)
    parser.add_argument("--examples-per-shard", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes = ((IMAGENET_SIZE_RANGE, IMAGENET_NOISE) if args.imagenet_sized
             else (SMALL_SIZE_RANGE, 8.0))
    if args.format == "tfrecord":
        written = write_tfrecord_sample(
            args.directory, args.train_shards, args.validation_shards, args.examples_per_shard,
            size_range=sizes[0], noise=sizes[1], seed=args.seed)
        for split, shards in written.items():
            print(f"{split}: {len(shards)} shards x {args.examples_per_shard} examples")
    else:
        written = write_ilsvrc_tars(args.directory, size_range=sizes[0], noise=sizes[1],
                                    seed=args.seed)
        print(f"wrote {written['train']} and {written['validation']}")
    print(f"Use it with: --set data.source=imagenet2012 --set data.dir={args.directory}")


if __name__ == "__main__":
    main()
