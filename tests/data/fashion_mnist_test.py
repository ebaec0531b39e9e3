import os

import numpy as np
import pytest

from tests.data.idx_test import idx_bytes
from tests.data.idx_test import write
from keras_bigbatch.data import DataFileError
from keras_bigbatch.data import fashion_mnist


def make_fake_dir(tmp_path, train=60000, test=10000, corrupt=None):
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 255, (train, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, (train,)),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 255, (test, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, (test,)),
    }
    for name, array in files.items():
        payload = idx_bytes(array.astype(np.uint8))
        if name == corrupt:
            payload = payload[: len(payload) // 2]
        write(tmp_path / name, payload, True)
    return tmp_path


def test_loads_generated_files_via_argument_and_env(tmp_path, monkeypatch):
    folder = make_fake_dir(tmp_path)
    (x, y), (xt, yt) = fashion_mnist.load_fashion_mnist(folder)
    assert x.shape == (60000, 28, 28) and y.shape == (60000,)
    assert xt.shape == (10000, 28, 28) and yt.dtype == np.int64
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(folder))
    x2, _ = fashion_mnist.load_split("train")
    np.testing.assert_array_equal(x, x2)


def test_missing_folder_says_how_to_get_data(tmp_path):
    with pytest.raises(DataFileError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist.load_fashion_mnist(tmp_path / "absent")


def test_missing_file_is_named(tmp_path):
    folder = make_fake_dir(tmp_path)
    os.remove(folder / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DataFileError, match=r"t10k-labels-idx1-ubyte\[\.gz\] is missing"):
        fashion_mnist.load_split("test", folder)


def test_truncated_file_is_named(tmp_path):
    folder = make_fake_dir(tmp_path, corrupt="train-images-idx3-ubyte.gz")
    with pytest.raises(DataFileError, match="train-images-idx3-ubyte.gz"):
        fashion_mnist.load_split("train", folder)


def test_wrong_count_and_bad_labels(tmp_path):
    folder = make_fake_dir(tmp_path, test=9999)
    with pytest.raises(DataFileError, match=r"expected \(10000, 28, 28\)"):
        fashion_mnist.load_split("test", folder)
    write(folder / "t10k-images-idx3-ubyte.gz", idx_bytes(np.zeros((10000, 28, 28), np.uint8)), True)
    write(folder / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.full((10000,), 12, np.uint8)), True)
    with pytest.raises(DataFileError, match="label 12"):
        fashion_mnist.load_split("test", folder)


def test_bad_split_name():
    with pytest.raises(ValueError, match="`split`"):
        fashion_mnist.load_split("validation")


@pytest.mark.skipif(
    not os.path.isdir(fashion_mnist.DEFAULT_DIR),
    reason="Debian's dataset-fashion-mnist is not installed (scripts/test.sh installs it)",
)
def test_real_fashion_mnist():
    (x, y), (xt, yt) = fashion_mnist.load_fashion_mnist()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [6000] * 10
    assert np.bincount(yt).tolist() == [1000] * 10
    assert 60 < x.mean() < 80  # Fashion-MNIST's mean pixel is ~72.9
