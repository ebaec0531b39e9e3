"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from local IDX files.

Nothing is downloaded: the files come from Debian's `dataset-fashion-mnist`
package (installed in `/usr/share/datasets/fashion-mnist/`) or from a folder
you name with the `data_dir` argument or the environment variable
`KERAS_BIGBATCH_FASHION_MNIST_DIR`.
"""

import functools
import os

import numpy as np

from keras_bigbatch.data.arrays import ArraySource
from keras_bigbatch.data.arrays import take_examples
from keras_bigbatch.data.idx import DataFileError
from keras_bigbatch.data.idx import read_idx
from keras_bigbatch.data.registry import register_source

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "KERAS_BIGBATCH_FASHION_MNIST_DIR"
NUM_CLASSES = 10
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}

HOW_TO_GET = (
    "Install it with `sudo apt-get update && sudo apt-get install "
    "dataset-fashion-mnist` (Debian/Ubuntu), or put the four IDX files "
    "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
    "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) in a folder "
    f"and pass it as `data_dir=` or set {ENV_VAR}."
)


def resolve_data_dir(data_dir=None):
    """Returns the Fashion-MNIST folder: argument, then env var, then default."""
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR) or DEFAULT_DIR
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise DataFileError(
            f"Fashion-MNIST folder not found: data_dir={data_dir!r}. "
            + HOW_TO_GET
        )
    return data_dir


def _find(data_dir, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return path
    raise DataFileError(
        f"Fashion-MNIST file {stem}[.gz] is missing from data_dir="
        f"{data_dir!r}. " + HOW_TO_GET
    )


def load_split(split, data_dir=None):
    """Loads one split as `(images, labels)`.

    Args:
        split: `"train"` (60,000 examples) or `"test"` (10,000).
        data_dir: folder of the IDX files; defaults to
            `$KERAS_BIGBATCH_FASHION_MNIST_DIR`, then
            `/usr/share/datasets/fashion-mnist`.

    Returns:
        `images`, uint8 of shape `(N, 28, 28)`, and `labels`, int64 of shape
        `(N,)` with values in `[0, 10)`.
    """
    if split not in _SPLITS:
        raise ValueError(
            f"Argument `split` must be one of {sorted(_SPLITS)}. "
            f"Received: split={split!r}"
        )
    data_dir = resolve_data_dir(data_dir)
    image_stem, label_stem, count = _SPLITS[split]
    image_path = _find(data_dir, image_stem)
    label_path = _find(data_dir, label_stem)
    images = read_idx(image_path, expected_shape=(count, 28, 28))
    labels = read_idx(label_path, expected_shape=(count,))
    if labels.max(initial=0) >= NUM_CLASSES:
        raise DataFileError(
            f"Data file {label_path} holds label {int(labels.max())}; "
            f"Fashion-MNIST labels are in [0, {NUM_CLASSES})."
        )
    return images, labels.astype(np.int64)


def load_fashion_mnist(data_dir=None):
    """Loads Fashion-MNIST as `(x_train, y_train), (x_test, y_test)`.

    Images are uint8 `(N, 28, 28)`; labels int64 `(N,)`. See `load_split`.
    """
    return load_split("train", data_dir), load_split("test", data_dir)


@register_source("fashion_mnist")
def fashion_mnist_source(dir=None, train_examples=None, test_examples=None):  # noqa: A002
    """Fashion-MNIST as an `ArraySource`: images float32 in [0, 1], (28, 28).

    Args:
        dir: folder of the IDX files (default: `$KERAS_BIGBATCH_FASHION_MNIST_DIR`,
            then /usr/share/datasets/fashion-mnist; see `load_split`).
        train_examples / test_examples: keep only the first N examples of a
            split (None = all; for smoke runs).

    Sources are cached per resolved folder and sizes (their arrays are
    read-only), so the runs of a recipe read the files once.
    """
    return _cached_source(resolve_data_dir(dir), train_examples, test_examples)


@functools.lru_cache(maxsize=2)
def _cached_source(data_dir, train_examples, test_examples):
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir)
    return ArraySource(
        "fashion_mnist",
        take_examples((x_train.astype(np.float32) / 255.0, y_train), train_examples, "train_examples"),
        take_examples((x_test.astype(np.float32) / 255.0, y_test), test_examples, "test_examples"),
        num_classes=NUM_CLASSES,
    )
