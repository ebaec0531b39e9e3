"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from local IDX files, or downloaded on request.

Where the four files are found (`download=False`, the default; nothing is
ever downloaded then):

```
1. the folder you name: `data_dir=` (`dir=` of the `fashion_mnist` source,
   `--set data.dir=PATH`), else $KERAS_BIGBATCH_FASHION_MNIST_DIR;
2. otherwise the first of these folders that holds all four files, else the
   first that exists:
   /usr/share/datasets/fashion-mnist          Debian's `dataset-fashion-mnist`
   $KERAS_HOME/datasets/fashion-mnist         Keras's download cache (KERAS_HOME
                                              defaults to ~/.keras), where
                                              `download=True` and
                                              `keras.datasets.fashion_mnist`
                                              put them
```

`download=True` (`--set data.download=true`; meant for Colab and Kaggle,
never used by the tests or the README's commands) first downloads the files
that are missing from `BASE_URL` (the URL Keras's own loader uses) into the
folder of step 1, else into Keras's cache folder unless Debian's folder
already holds all four; so a later run finds them with `download=False`.
Each file is written under a temporary name, read back with the IDX reader
(its header and length must match Fashion-MNIST's shape) and only then
renamed to its final name: an interrupted or corrupt download never leaves a
file under the final name.
"""

import functools
import os
import shutil
import tempfile
import urllib.error
import urllib.request

import numpy as np

from keras_bigbatch.arguments import check_bool
from keras_bigbatch.data.arrays import ArraySource
from keras_bigbatch.data.arrays import take_examples
from keras_bigbatch.data.idx import DataFileError
from keras_bigbatch.data.idx import read_idx
from keras_bigbatch.data.registry import register_source

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "KERAS_BIGBATCH_FASHION_MNIST_DIR"
# Where `keras.datasets.fashion_mnist.load_data` downloads from (same file names).
BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
DOWNLOAD_TIMEOUT_S = 60
NUM_CLASSES = 10
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}
# File stem -> the shape its IDX header must declare.
_SHAPES = {stem: shape for images, labels, count in _SPLITS.values()
           for stem, shape in ((images, (count, 28, 28)), (labels, (count,)))}

HOW_TO_GET = (
    "Install it with `sudo apt-get update && sudo apt-get install "
    "dataset-fashion-mnist` (Debian/Ubuntu), or put the four IDX files "
    "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
    "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) in a folder "
    f"and pass it as `data_dir=` or set {ENV_VAR}, or pass `download=True` "
    "(`--set data.download=true`) to download them from "
    f"{BASE_URL} (into that folder, else into Keras's cache "
    "$KERAS_HOME/datasets/fashion-mnist)."
)


def keras_cache_dir():
    """Keras's Fashion-MNIST cache folder: `$KERAS_HOME` (default `~/.keras`)
    + `/datasets/fashion-mnist`, as `keras.datasets.fashion_mnist` uses it."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets", "fashion-mnist")


def _named_dir(data_dir):
    """The folder the caller named (argument, then env var), or None."""
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR) or None
    return None if data_dir is None else os.fspath(data_dir)


def _complete(folder):
    return all(_present(folder, stem) for stem in _SHAPES)


def _present(folder, stem):
    return any(os.path.exists(os.path.join(folder, name)) for name in (stem + ".gz", stem))


def resolve_data_dir(data_dir=None):
    """Returns the Fashion-MNIST folder (see the module docstring); never downloads.

    Raises:
        DataFileError: the folder does not exist; the message says how to
            get the files.
    """
    named = _named_dir(data_dir)
    if named is None:
        candidates = (DEFAULT_DIR, keras_cache_dir())
        found = ([d for d in candidates if os.path.isdir(d) and _complete(d)]
                 or [d for d in candidates if os.path.isdir(d)])
        if not found:
            raise DataFileError(
                f"Fashion-MNIST folder not found: no data_dir given, {ENV_VAR} is not set, "
                f"and neither {candidates[0]!r} nor {candidates[1]!r} exists. " + HOW_TO_GET
            )
        return found[0]
    if not os.path.isdir(named):
        raise DataFileError(
            f"Fashion-MNIST folder not found: data_dir={named!r}. " + HOW_TO_GET
        )
    return named


def download_fashion_mnist(data_dir=None, base_url=None):
    """Downloads the Fashion-MNIST files missing from the folder; returns the folder.

    The folder is `data_dir`, else `$KERAS_BIGBATCH_FASHION_MNIST_DIR`, else
    Debian's folder if it holds all four files (then nothing is downloaded),
    else Keras's cache `$KERAS_HOME/datasets/fashion-mnist`; it is created if
    needed. Files already there (`.gz` or not) are left as they are. Each
    download goes to a temporary name in the folder, is checked with
    `read_idx` against Fashion-MNIST's shapes, then renamed.

    Args:
        data_dir: the folder, or None (see above).
        base_url: where the `.gz` files are (URL + file name); default
            `BASE_URL`. Any `urllib` URL works, `file://` included.

    Raises:
        DataFileError: the folder cannot be created, a file cannot be
            downloaded, or a downloaded file is truncated or not the expected
            IDX file (the message names the file and its URL; nothing is kept
            under the final name).
    """
    folder = _named_dir(data_dir)
    if folder is None:
        folder = DEFAULT_DIR if _complete(DEFAULT_DIR) else keras_cache_dir()
    base_url = BASE_URL if base_url is None else base_url
    missing = [stem for stem in _SHAPES if not _present(folder, stem)]
    if missing:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise DataFileError(
                f"Cannot create the Fashion-MNIST folder data_dir={folder!r} to download "
                f"into ({error}). Give a folder you can write to as `data_dir=` or {ENV_VAR}."
            ) from None
    for stem in missing:
        _download(base_url.rstrip("/") + "/" + stem + ".gz",
                  os.path.join(folder, stem + ".gz"), _SHAPES[stem])
    return folder


def _download(url, path, shape):
    """Copies `url` to `path` via a temporary file that must read as IDX `shape`."""
    print(f"Fashion-MNIST: downloading {url} to {path}", flush=True)
    handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path),
                                   prefix=f".{os.path.basename(path)}.", suffix=".part.gz")
    try:
        with os.fdopen(handle, "wb") as stream:
            try:
                with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                    shutil.copyfileobj(response, stream)
            except (urllib.error.URLError, OSError, ValueError) as error:
                raise DataFileError(
                    f"Could not download Fashion-MNIST file {os.path.basename(path)} from "
                    f"{url} ({type(error).__name__}: {error}). Check the connection, or "
                    "get the files another way: " + HOW_TO_GET
                ) from None
        try:
            read_idx(tmp, expected_shape=shape)
        except DataFileError as error:
            # The reader's message names the temporary file and suggests reinstalling
            # Debian's package; say what happened to this download instead.
            detail = str(error).replace(f"Data file {tmp}", "It").split(" Reinstall it")[0]
            raise DataFileError(
                f"Downloaded Fashion-MNIST file {path} (from {url}) is not usable and was "
                f"not kept: {detail} Download again with download=True, or get the files "
                "another way."
            ) from None
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _find(data_dir, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return path
    raise DataFileError(
        f"Fashion-MNIST file {stem}[.gz] is missing from data_dir="
        f"{data_dir!r}. " + HOW_TO_GET
    )


def _data_dir(data_dir, download, base_url):
    if check_bool("download", download):
        return download_fashion_mnist(data_dir, base_url)
    return resolve_data_dir(data_dir)


def load_split(split, data_dir=None, download=False, *, base_url=None):
    """Loads one split as `(images, labels)`.

    Args:
        split: `"train"` (60,000 examples) or `"test"` (10,000).
        data_dir: folder of the IDX files; defaults to
            `$KERAS_BIGBATCH_FASHION_MNIST_DIR`, then
            `/usr/share/datasets/fashion-mnist`, then Keras's cache folder
            (see the module docstring).
        download: first download the missing files (see
            `download_fashion_mnist`). Default False: never download.
        base_url: with `download=True`, where to download from (default
            `BASE_URL`).

    Returns:
        `images`, uint8 of shape `(N, 28, 28)`, and `labels`, int64 of shape
        `(N,)` with values in `[0, 10)`.
    """
    if split not in _SPLITS:
        raise ValueError(
            f"Argument `split` must be one of {sorted(_SPLITS)}. "
            f"Received: split={split!r}"
        )
    data_dir = _data_dir(data_dir, download, base_url)
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


def load_fashion_mnist(data_dir=None, download=False, *, base_url=None):
    """Loads Fashion-MNIST as `(x_train, y_train), (x_test, y_test)`.

    Images are uint8 `(N, 28, 28)`; labels int64 `(N,)`. See `load_split`
    for the arguments.
    """
    data_dir = _data_dir(data_dir, download, base_url)
    return load_split("train", data_dir), load_split("test", data_dir)


@register_source("fashion_mnist")
def fashion_mnist_source(dir=None, train_examples=None, test_examples=None,  # noqa: A002
                         download=False):
    """Fashion-MNIST as an `ArraySource`: images float32 in [0, 1], (28, 28).

    Args:
        dir: folder of the IDX files (default: `$KERAS_BIGBATCH_FASHION_MNIST_DIR`,
            then /usr/share/datasets/fashion-mnist, then Keras's cache
            folder; see the module docstring).
        train_examples: keep only the first N training examples (None = all;
            for smoke runs).
        test_examples: keep only the first N test examples (None = all).
        download: download the files missing from the folder first
            (`--set data.download=true`; see `download_fashion_mnist`).
            Default False: never download.

    Sources are cached per resolved folder and sizes (their arrays are
    read-only), so the runs of a recipe read the files once.
    """
    return _cached_source(_data_dir(dir, download, None), train_examples, test_examples)


@functools.lru_cache(maxsize=2)
def _cached_source(data_dir, train_examples, test_examples):
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(data_dir)
    return ArraySource(
        "fashion_mnist",
        take_examples((x_train.astype(np.float32) / 255.0, y_train), train_examples, "train_examples"),
        take_examples((x_test.astype(np.float32) / 255.0, y_test), test_examples, "test_examples"),
        num_classes=NUM_CLASSES,
    )
