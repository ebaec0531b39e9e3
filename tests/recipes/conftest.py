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


@pytest.fixture(scope="session")
def imagenet_layout(tmp_path_factory):
    """A folder in tensorflow/tpu's standard layout: 1024 train and 128 validation
    shards of one 8 x 8 record each, which `imagenet2012` counts as ImageNet's
    1,281,167 and 50,000 examples (its shard-count rule), so that the recipes
    plan at their full size. Enough to plan, not to train."""
    from keras_bigbatch.data.imagenet_sample import write_tfrecord_sample

    folder = tmp_path_factory.mktemp("imagenet-layout")
    write_tfrecord_sample(str(folder), train_shards=1024, validation_shards=128,
                          examples_per_shard=1, size_range=(8, 8), noise=0.0)
    return folder
