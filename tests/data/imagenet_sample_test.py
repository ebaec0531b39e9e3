import io
import os
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from keras_bigbatch.data import imagenet_sample
from keras_bigbatch.data import write_ilsvrc_tars
from keras_bigbatch.data import write_tfrecord_sample

TPU_KEYS = {"image/encoded", "image/class/label", "image/class/synset", "image/height",
            "image/width", "image/format", "image/filename", "image/colorspace",
            "image/channels"}


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: nothing here builds Keras state."""
    yield


def records(path):
    return [tf.train.Example.FromString(r.numpy()).features.feature
            for r in tf.data.TFRecordDataset(path)]


def test_tfrecord_sample_layout_keys_and_images(tmp_path):
    written = write_tfrecord_sample(tmp_path, train_shards=3, validation_shards=2,
                                    examples_per_shard=4, seed=1)
    assert sorted(os.listdir(tmp_path)) == [
        "train-00000-of-00003", "train-00001-of-00003", "train-00002-of-00003",
        "validation-00000-of-00002", "validation-00001-of-00002"]
    assert list(written["train"]) == [str(tmp_path / f"train-0000{i}-of-00003") for i in range(3)]
    shapes = set()
    for split, shards in written.items():
        labels = []
        for path, expected in shards.items():
            features = records(path)
            assert len(features) == 4
            for feature, (label, height, width) in zip(features, expected):
                assert set(feature) == TPU_KEYS
                assert feature["image/class/label"].int64_list.value == [label]
                synset = feature["image/class/synset"].bytes_list.value[0].decode()
                # 1-based over the sorted synsets
                assert synset == imagenet_sample.synset_ids()[label - 1]
                image = tf.io.decode_jpeg(feature["image/encoded"].bytes_list.value[0]).numpy()
                assert image.shape == (height, width, 3)
                assert feature["image/height"].int64_list.value == [height]
                assert 40 <= height <= 120 and 40 <= width <= 120
                shapes.add((height, width))
                labels.append(label)
        name = features[0]["image/filename"].bytes_list.value[0].decode()
        assert name.startswith("n0" if split == "train" else "ILSVRC2012_val_000000")
        # 1-based, no label twice among the first 1000 records of a split
        assert len(set(labels)) == len(labels) and min(labels) >= 1 and max(labels) <= 1000
    assert len(shapes) > 10 and any(h != w for h, w in shapes)     # varied, non-square
    # The same seed writes the same files.
    again = write_tfrecord_sample(tmp_path / "again", train_shards=3, validation_shards=2,
                                  examples_per_shard=4, seed=1)
    assert list(again["train"].values()) == list(written["train"].values())


def test_imagenet_sized_jpegs(tmp_path):
    write_tfrecord_sample(tmp_path, 1, 1, 1, size_range=(350, 400),
                          noise=imagenet_sample.IMAGENET_NOISE)
    jpeg = records(tmp_path / "train-00000-of-00001")[0]["image/encoded"].bytes_list.value[0]
    assert 70_000 < len(jpeg) < 160_000          # ImageNet's average JPEG is ~110 KB


def test_ilsvrc_tars_layout(tmp_path):
    written = write_ilsvrc_tars(tmp_path, synsets=["n01443537", "n01440764"],
                                images_per_synset=2, validation_images=3)
    with tarfile.open(written["train"]) as outer:
        assert outer.getnames() == ["n01443537.tar", "n01440764.tar"]
        inner = tarfile.open(fileobj=io.BytesIO(outer.extractfile("n01440764.tar").read()))
        assert inner.getnames() == ["n01440764_1.JPEG", "n01440764_2.JPEG"]
        image = tf.io.decode_jpeg(inner.extractfile("n01440764_2.JPEG").read())
        assert image.shape[2] == 3
    with tarfile.open(written["validation"]) as validation:
        assert validation.getnames() == [f"ILSVRC2012_val_0000000{k}.JPEG" for k in (1, 2, 3)]
    assert written["train_synsets"]["n01443537_1.JPEG"] == "n01443537"
    # The first lines of TFDS's validation_labels.txt.
    assert list(written["validation_synsets"].values()) == ["n01751748", "n09193705", "n02105855"]
    assert len(imagenet_sample.synset_ids()) == 1000
    assert list(imagenet_sample.synset_ids()) == sorted(imagenet_sample.synset_ids())


def test_sample_argument_errors(tmp_path):
    with pytest.raises(ValueError, match=r"`train_shards` must be a positive integer\. "
                                         r"Received: train_shards=0"):
        write_tfrecord_sample(tmp_path, train_shards=0)
    with pytest.raises(ValueError, match=r"`num_classes` must be <= 1000"):
        write_tfrecord_sample(tmp_path, num_classes=1001)
    with pytest.raises(ValueError, match=r"`size_range` must be \(min, max\) image sides with "
                                         r"8 <= min <= max\. Received: size_range=\(50, 20\)"):
        write_tfrecord_sample(tmp_path, size_range=(50, 20))
    with pytest.raises(ValueError, match=r"unknown: \['n99999999'\]"):
        write_ilsvrc_tars(tmp_path, synsets=["n01440764", "n99999999"])
    with pytest.raises(ValueError, match=r"`synsets` must be a count in \[1, 1000\]"):
        write_ilsvrc_tars(tmp_path, synsets=0)


def test_command_line(tmp_path, capsys):
    imagenet_sample.main([str(tmp_path / "tfr"), "--train-shards", "2", "--validation-shards",
                          "1", "--examples-per-shard", "2"])
    assert sorted(os.listdir(tmp_path / "tfr")) == [
        "train-00000-of-00002", "train-00001-of-00002", "validation-00000-of-00001"]
    assert f"--set data.dir={tmp_path / 'tfr'}" in capsys.readouterr().out
    imagenet_sample.main([str(tmp_path / "tars"), "--format", "tars"])
    assert sorted(os.listdir(tmp_path / "tars")) == ["ILSVRC2012_img_train.tar",
                                                      "ILSVRC2012_img_val.tar"]
    np.testing.assert_equal(len(records(tmp_path / "tfr" / "train-00001-of-00002")), 2)
