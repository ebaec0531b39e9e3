"""Generated ImageNet-format files for the ImageNet recipes' smoke size."""

import pytest


@pytest.fixture(scope="session")
def imagenet_sample(tmp_path_factory):
    """A folder of small TFRecord shards in tensorflow/tpu's layout (4 train x 8, 2 validation x 8)."""
    from keras_bigbatch.data.imagenet_sample import write_tfrecord_sample

    folder = tmp_path_factory.mktemp("imagenet")
    write_tfrecord_sample(str(folder))
    return folder


@pytest.fixture(autouse=True)
def _imagenet_dir(imagenet_sample, monkeypatch):
    monkeypatch.setenv("KERAS_BIGBATCH_IMAGENET_DIR", str(imagenet_sample))
