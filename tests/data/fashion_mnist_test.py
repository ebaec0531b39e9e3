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


# --- download=True: the real urllib code path, from a file:// URL -------------------

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A folder of the four .gz files (copies of Debian's, else generated) and its file:// URL."""
    import shutil

    folder = tmp_path_factory.mktemp("mirror")
    if all(os.path.exists(os.path.join(fashion_mnist.DEFAULT_DIR, f)) for f in FILES):
        for name in FILES:
            shutil.copy(os.path.join(fashion_mnist.DEFAULT_DIR, name), folder / name)
    else:
        make_fake_dir(folder)
    return folder, folder.as_uri() + "/"


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name not in FILES)


def test_download_into_an_empty_folder(tmp_path, mirror):
    source, url = mirror
    target = tmp_path / "new" / "fashion-mnist"  # created by the download
    (x, y), (xt, yt) = fashion_mnist.load_fashion_mnist(target, download=True, base_url=url)
    assert sorted(p.name for p in target.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (target / name).read_bytes() == (source / name).read_bytes()
    assert x.shape == (60000, 28, 28) and yt.shape == (10000,)
    # Later runs find the files without downloading (and a second download is a no-op).
    (x2, _), _ = fashion_mnist.load_fashion_mnist(target)
    np.testing.assert_array_equal(x, x2)
    assert fashion_mnist.download_fashion_mnist(target, base_url="file:///nonexistent/") == str(target)


def test_download_false_never_downloads_and_says_how(tmp_path, monkeypatch, mirror):
    monkeypatch.setattr(fashion_mnist, "BASE_URL", mirror[1])  # reachable, yet not used
    with pytest.raises(DataFileError, match=r"download=True"):
        fashion_mnist.load_split("train", tmp_path)
    with pytest.raises(DataFileError, match=r"download=True"):
        fashion_mnist.fashion_mnist_source(str(tmp_path / "absent"))
    assert list(tmp_path.iterdir()) == []


def test_truncated_download_is_named_and_not_kept(tmp_path, mirror):
    source, url = mirror
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in FILES:
        payload = (source / name).read_bytes()
        (broken / name).write_bytes(payload[: len(payload) // 2] if name.startswith("t10k-labels")
                                    else payload)
    target = tmp_path / "data"
    with pytest.raises(DataFileError, match=r"t10k-labels-idx1-ubyte\.gz.*not kept"):
        fashion_mnist.download_fashion_mnist(target, base_url=broken.as_uri())
    assert not (target / "t10k-labels-idx1-ubyte.gz").exists()
    assert leftovers(target) == []  # no temporary file either
    kept = {n: (target / n).stat().st_mtime_ns for n in FILES if (target / n).exists()}
    assert len(kept) == 3
    # Retrying downloads only the missing file.
    fashion_mnist.download_fashion_mnist(target, base_url=url)
    assert {n: (target / n).stat().st_mtime_ns for n in kept} == kept
    assert fashion_mnist.load_split("test", target)[1].shape == (10000,)


def test_unreachable_url_is_named(tmp_path):
    missing = (tmp_path / "no-such-mirror").as_uri()
    with pytest.raises(DataFileError, match=r"Could not download .*train-images-idx3-ubyte\.gz"):
        fashion_mnist.download_fashion_mnist(tmp_path / "data", base_url=missing)
    assert list((tmp_path / "data").iterdir()) == []


def test_default_folder_is_keras_cache_and_is_found_again(tmp_path, monkeypatch, mirror):
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(tmp_path / "no-debian"))
    monkeypatch.setattr(fashion_mnist, "BASE_URL", mirror[1])
    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(DataFileError, match="download=True"):
        fashion_mnist.resolve_data_dir()
    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    source = fashion_mnist.fashion_mnist_source(train_examples=10, download=True)
    assert source.num_examples("train") == 10
    assert sorted(p.name for p in cache.iterdir()) == sorted(FILES)
    assert fashion_mnist.resolve_data_dir() == str(cache)  # no download needed any more


def test_download_is_a_config_key(tmp_path, monkeypatch, mirror):
    from keras_bigbatch.data import get_source
    from keras_bigbatch.training import load_recipe
    from keras_bigbatch.training import run_configs

    monkeypatch.setattr(fashion_mnist, "BASE_URL", mirror[1])
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(tmp_path / "env-dir"))
    recipe = load_recipe("generalization_gap", "smoke")
    (config,) = run_configs(recipe, ["SB"], [("data.download", "true")])  # --set data.download=true
    assert config["data"]["download"] is True
    data = dict(config["data"])
    assert get_source(data.pop("source"), **data).num_examples("train") == 2048
    assert sorted(p.name for p in (tmp_path / "env-dir").iterdir()) == sorted(FILES)
    with pytest.raises(ValueError, match="data.download"):
        run_configs(recipe, ["SB"], [("data.download", "maybe")])


def test_download_must_be_a_bool(tmp_path):
    with pytest.raises(ValueError, match=r"Argument `download` must be True or False"):
        fashion_mnist.load_split("train", tmp_path, download="yes")
