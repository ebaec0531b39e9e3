import collections
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from keras_bigbatch.data import DataFileError
from keras_bigbatch.data import ImageNetSource
from keras_bigbatch.data import get_source
from keras_bigbatch.data import imagenet2012_source
from keras_bigbatch.data import source_arguments
from keras_bigbatch.data import write_ilsvrc_tars
from keras_bigbatch.data import write_tfrecord_sample
from keras_bigbatch.data.imagenet_sample import synset_ids

SIZE = 16                      # image_size of most tests: small and fast
N_TRAIN, N_TEST = 32, 16       # the sample: 4 x 8 train, 2 x 8 validation records
BATCH = 8
STEPS = N_TRAIN // BATCH


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: sources build no Keras state."""
    yield


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tfrecord")
    return folder, write_tfrecord_sample(folder, train_shards=4, validation_shards=2,
                                         examples_per_shard=8)


@pytest.fixture(scope="module")
def tfds_sample(tmp_path_factory):
    """The tiny archives, prepared by the real tensorflow-datasets builder (offline)."""
    folder = tmp_path_factory.mktemp("tars")
    written = write_ilsvrc_tars(folder, synsets=3, images_per_synset=4, validation_images=6)
    return folder, written, source(folder)


def source(folder, **args):
    args = {"image_size": SIZE, **args}
    return get_source("imagenet2012", dir=str(folder), **args)


def batches(dataset, count=None):
    dataset = dataset if count is None else dataset.take(count)
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def labels(dataset, count=None):
    return [y.tolist() for _, y in batches(dataset, count)]


def context(workers, worker, replicas):
    return tf.distribute.InputContext(
        num_input_pipelines=workers, input_pipeline_id=worker, num_replicas_in_sync=replicas)


def stored_labels(written, split):
    """The sample's 1-based labels of `split`, shard by shard."""
    return [[label for label, _, _ in records] for records in written[split].values()]


def jpeg(height=20, width=30, value=0):
    return tf.io.encode_jpeg(np.full((height, width, 3), value, np.uint8)).numpy()


def example(label=1, image=b"", **features):
    """A serialized tf.train.Example; `label=None` / `image=None` leave the key out."""
    feature = {key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
               for key, value in features.items()}
    if image is not None:
        feature["image/encoded"] = tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[image or jpeg()]))
    if label is not None:
        feature["image/class/label"] = tf.train.Feature(
            int64_list=tf.train.Int64List(value=[label]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_shards(folder, shards):
    """`shards`: file name -> list of serialized records (or raw bytes for a damaged file)."""
    os.makedirs(folder, exist_ok=True)
    for name, records in shards.items():
        if isinstance(records, bytes):
            (folder / name).write_bytes(records)
            continue
        with tf.io.TFRecordWriter(str(folder / name)) as writer:
            for record in records:
                writer.write(record)
    return folder


def small_folder(folder, train=None, validation=None):
    """One train and one validation shard of 2 good records unless given."""
    return write_shards(folder, {
        "train-00000-of-00001": train or [example(1), example(2)],
        "validation-00000-of-00001": validation or [example(3), example(4)]})


# Arguments, sizes, element_spec.

def test_registered_arguments():
    assert source_arguments("imagenet2012") == {
        "dir": None, "image_size": 224, "area_range": (0.08, 1.0),
        "aspect_ratio_range": (0.75, 4 / 3), "eval_resize": None, "flip": True,
        "shuffle_buffer": 10000, "eval_drop_remainder": False, "tfds_data_dir": None}


def test_tfrecord_source_describes_itself(sample):
    folder, _ = sample
    data = source(folder)
    assert isinstance(data, ImageNetSource) and data.files.format == "tfrecord"
    assert repr(data) == "ImageNetSource(name='imagenet2012', train=32, test=16, classes=1000)"
    assert data.eval_resize == 18                  # round(16 * 256 / 224)
    assert imagenet2012_source(dir=str(folder)).eval_resize == 256
    # A recipe's lists are fine.
    assert source(folder, area_range=[0.25, 1]).area_range == (0.25, 1.0)
    assert data.element_spec == (tf.TensorSpec((SIZE, SIZE, 3), tf.uint8),
                                 tf.TensorSpec((), tf.int64))
    assert data.dataset("train", BATCH).element_spec == (
        tf.TensorSpec((BATCH, SIZE, SIZE, 3), tf.uint8), tf.TensorSpec((BATCH,), tf.int64))


def test_evaluation_labels_are_the_stored_labels_minus_one(sample):
    folder, written = sample
    first, second = stored_labels(written, "validation")
    # Evaluation reads the shards in order, interleaved record by record.
    expected = [label - 1 for pair in zip(first, second) for label in pair]
    assert labels(source(folder).dataset("test", 5)) == [
        expected[0:5], expected[5:10], expected[10:15], expected[15:]]
    assert labels(source(folder, eval_drop_remainder=True).dataset("test", 5)) == [
        expected[0:5], expected[5:10], expected[10:15]]
    train = sum(labels(source(folder).dataset("train", 8, training=False)), [])
    assert sorted(train) == sorted(label - 1 for shard in stored_labels(written, "train")
                                   for label in shard)


def test_the_environment_variable_names_the_folder(sample, monkeypatch):
    monkeypatch.setenv("KERAS_BIGBATCH_IMAGENET_DIR", str(sample[0]))
    assert get_source("imagenet2012", image_size=SIZE).num_examples("test") == N_TEST


def test_gfile_paths(tmp_path):
    # Every file access goes through tf.io.gfile: TensorFlow's in-memory file system works.
    folder = "ram://keras_bigbatch_imagenet_test/sample"
    write_tfrecord_sample(folder, train_shards=2, validation_shards=1, examples_per_shard=4)
    data = get_source("imagenet2012", dir=folder, image_size=SIZE)
    assert data.files.train.files[0] == folder + "/train-00000-of-00002"
    assert (data.num_examples("train"), data.num_examples("test")) == (8, 4)
    assert len(labels(data.dataset("train", 4), 3)) == 3
    assert len(labels(data.dataset("test", 4))[0]) == 4


# Preprocessing.

GRADIENT = (120, 150)   # height, width


@pytest.fixture(scope="module")
def gradient(tmp_path_factory):
    """Shards of one picture whose red channel is the row and green channel the column."""
    height, width = GRADIENT
    rows = np.linspace(0, 255, height)[:, None] * np.ones((1, width))
    columns = np.ones((height, 1)) * np.linspace(0, 255, width)[None, :]
    picture = np.round(np.stack([rows, columns, np.full_like(rows, 128)], axis=-1))
    encoded = tf.io.encode_jpeg(picture.astype(np.uint8), quality=100).numpy()
    folder = tmp_path_factory.mktemp("gradient")
    small_folder(folder, train=[example(k, encoded) for k in range(1, 17)],
                 validation=[example(1, encoded)])
    return folder, picture


def crop_windows(images):
    """(top, left, height, width, flipped) of each crop, read back from its colours."""
    height, width = GRADIENT
    out = []
    for image in images.astype(np.float64):
        size = image.shape[0]
        # Bilinear resize samples output pixel i at input (i + 0.5) * scale - 0.5.
        first_row, last_row = image[0, :, 0].mean(), image[-1, :, 0].mean()
        first_col, last_col = image[:, 0, 1].mean(), image[:, -1, 1].mean()
        flipped = first_col > last_col
        first_col, last_col = sorted((first_col, last_col))
        rows = (last_row - first_row) * (height - 1) / 255 * size / (size - 1)
        cols = (last_col - first_col) * (width - 1) / 255 * size / (size - 1)
        top = first_row * (height - 1) / 255 - 0.5 * rows / size + 0.5
        left = first_col * (width - 1) / 255 - 0.5 * cols / size + 0.5
        out.append((top, left, rows, cols, flipped))
    return out


def test_training_crops_lie_within_the_image_and_flip(gradient):
    folder, _ = gradient
    data = source(folder, image_size=32)
    windows = crop_windows(np.concatenate([x for x, _ in batches(data.dataset("train", 16), 4)]))
    height, width = GRADIENT
    for top, left, rows, cols, _ in windows:
        assert -1.5 <= top and top + rows <= height + 1.5
        assert -1.5 <= left and left + cols <= width + 1.5
        assert 0.08 - 0.02 <= rows * cols / (height * width) <= 1.02
        assert 0.75 * 0.9 <= cols / rows <= 4 / 3 * 1.1
    flips = [flipped for *_, flipped in windows]
    assert 10 < sum(flips) < 54                              # 64 crops: about half flipped
    areas = [rows * cols / (height * width) for _, _, rows, cols, _ in windows]
    assert min(areas) < 0.4 and max(areas) > 0.6             # random sizes
    # Without flips nothing is mirrored.
    unflipped = crop_windows(batches(source(folder, image_size=32, flip=False)
                                     .dataset("train", 16), 1)[0][0])
    assert not any(flipped for *_, flipped in unflipped)


def test_failed_random_crops_fall_back_to_the_center_crop(gradient):
    # No crop covers the whole 120 x 150 image at aspect ratio 3/4: every attempt
    # fails and training takes the evaluation's center crop (tensorflow/tpu).
    folder, _ = gradient
    data = source(folder, area_range=(1.0, 1.0), aspect_ratio_range=(0.75, 0.75), flip=False)
    center = batches(data.dataset("test", 1))[0][0][0]
    for image in batches(data.dataset("train", 16), 1)[0][0]:
        np.testing.assert_array_equal(image, center)


def test_evaluation_takes_the_center_crop(gradient, sample):
    # Against a direct computation: decode everything, cut the centred square of
    # side floor(short side * image_size / eval_resize), resize.
    folder, written = sample
    path = next(iter(written["validation"]))
    record = next(iter(tf.data.TFRecordDataset(path)))
    encoded = tf.io.parse_single_example(
        record, {"image/encoded": tf.io.FixedLenFeature([], tf.string)})["image/encoded"]
    picture = tf.io.decode_jpeg(encoded).numpy()
    height, width, _ = picture.shape
    side = int(min(height, width) * SIZE / 18)
    top, left = (height - side + 1) // 2, (width - side + 1) // 2
    expected = tf.image.resize(picture[top:top + side, left:left + side], (SIZE, SIZE))
    expected = np.round(expected.numpy()).astype(np.uint8)
    got = batches(source(folder).dataset("test", 4))[0][0][0]
    np.testing.assert_allclose(got, expected, atol=1)
    assert np.mean(got != expected) < 0.05
    # And, up to resampling, "resize the shorter side to eval_resize, center crop":
    folder, picture = gradient
    got = batches(source(folder, image_size=32, eval_resize=40).dataset("test", 1))[0][0][0]
    resized = tf.image.resize(picture, (40, round(40 * 150 / 120))).numpy()
    top, left = (40 - 32) // 2, (resized.shape[1] - 32) // 2
    reference = resized[top:top + 32, left:left + 32]
    assert np.abs(got.astype(float) - reference).mean() < 2.0


# Order: a pure function of (seed, step) (and of the number of workers).

def test_same_seed_same_batches_other_seed_other_batches(sample):
    folder, _ = sample
    first = batches(source(folder).dataset("train", BATCH, seed=5), 2 * STEPS)
    again = batches(source(folder).dataset("train", BATCH, seed=5), 2 * STEPS)
    for (x, y), (x2, y2) in zip(first, again):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    other = batches(source(folder).dataset("train", BATCH, seed=6), 2 * STEPS)
    assert [y.tolist() for _, y in other] != [y.tolist() for _, y in first]
    # Same examples, other crops: the images differ even where the labels agree.
    assert not np.array_equal(first[0][0], other[0][0])


def test_every_epoch_is_a_permutation(sample):
    folder, written = sample
    everything = sorted(label - 1 for shard in stored_labels(written, "train") for label in shard)
    stream = labels(source(folder, shuffle_buffer=10).dataset("train", BATCH, seed=1), 3 * STEPS)
    epochs = [sorted(sum(stream[e * STEPS:(e + 1) * STEPS], [])) for e in range(3)]
    assert epochs == [everything] * 3
    assert stream[:STEPS] != stream[STEPS:2 * STEPS]           # reshuffled every epoch
    # A batch that does not divide the set: 2 steps of 12, 8 examples left out.
    stream = labels(source(folder).dataset("train", 12, seed=1), 4)
    for epoch in (stream[:2], stream[2:]):
        assert len(set(sum(epoch, []))) == 24


def test_start_step_continues_the_uninterrupted_stream(sample):
    folder, _ = sample
    data = source(folder, shuffle_buffer=12)
    stream = batches(data.dataset("train", BATCH, seed=3), 3 * STEPS)
    for start in (1, STEPS, 2 * STEPS + 1):     # within the first epoch, at and after a boundary
        resumed = batches(data.dataset("train", BATCH, seed=3, start_step=start), 2)
        for (x, y), (x2, y2) in zip(resumed, stream[start:start + 2]):
            np.testing.assert_array_equal(y, y2)
            np.testing.assert_array_equal(x, x2)                 # the same crops and flips


@pytest.mark.parametrize("shards, replicas", [(4, 2), (4, 4), (1, 2), (3, 2)])
def test_workers_read_their_slice_of_every_global_batch(tmp_path, sample, shards, replicas):
    # 4 or 3 shards for 2 workers: sharding by files; 1 shard: by records. With 3
    # files of 8 records (24 examples, 3 steps), one worker reads 16 records per
    # epoch, the other 8 and re-reads them to fill its 3 steps x 4 examples:
    # both still yield the same number of batches.
    folder = sample[0] if shards == 4 else tmp_path
    if shards != 4:
        write_tfrecord_sample(folder, train_shards=shards, validation_shards=1,
                              examples_per_shard={1: 32, 3: 8}[shards])
    data = source(folder)
    steps = data.steps_per_epoch(BATCH)
    local = replicas // 2                                      # replicas per worker
    per_worker = []
    for worker in (0, 1):
        dataset = data.dataset("train", BATCH, context(2, worker, replicas), seed=2)
        assert dataset.element_spec[1].shape == (BATCH // replicas,)   # per-replica batches
        per_worker.append(labels(dataset, 2 * steps * local))
        if replicas == 2:
            resumed = data.dataset("train", BATCH, context(2, worker, replicas), seed=2,
                                   start_step=steps + 1)
            assert labels(resumed, 1) == per_worker[-1][steps + 1:steps + 2]
    for epoch in range(2):
        span = range(epoch * steps * local, (epoch + 1) * steps * local)
        seen = [label for worker in per_worker for t in span for label in worker[t]]
        assert len(seen) == steps * BATCH
        if shards != 3:
            assert len(set(seen)) == N_TRAIN                   # each example once per epoch


def test_epoch_examples_for_batch_size_schedules(sample):
    # Epoch e with global batch B (both tensors) is what `dataset` yields in epoch e.
    data = source(sample[0])
    for batch, worker in ((8, 0), (16, 1)):
        shard = (worker, 2)
        steps = N_TRAIN // batch
        stream = batches(data.dataset("train", batch, context(2, worker, 2), seed=4,
                                      start_step=steps), steps)
        examples = batches(data._epoch_examples(4, tf.constant(1, tf.int64), shard,
                                                tf.constant(batch, tf.int64),
                                                tf.constant(0, tf.int64)).batch(batch // 2))
        assert len(examples) == steps
        for (x, y), (x2, y2) in zip(examples, stream):
            np.testing.assert_array_equal(y, y2)
            np.testing.assert_array_equal(x, x2)


def scheduled_epoch(data, epoch, skip, input_context=None, replicas=1):
    """Per-replica batches of `epoch` of a batch-size schedule {0: 8, 1: 16}, resumed
    `skip` steps in, as `BatchSizeScheduler.on_epoch_begin` sets the feed."""
    from keras_bigbatch.callbacks import BatchSizeScheduler

    scheduler = BatchSizeScheduler({0: BATCH, 1: 2 * BATCH})
    dataset = data.scheduled_dataset(scheduler, replicas, input_context, seed=5)
    scheduler._feeds[-1].set_epoch(epoch, scheduler.schedule(epoch), skip)
    return batches(dataset)


def with_undecodable_images(folder, target, stored):
    """A copy of `folder` whose train records with a stored label in `stored` hold, in
    place of their JPEG, as many zero bytes: same files, sizes and order, not decodable."""
    os.makedirs(target)
    for name in os.listdir(folder):
        if not name.startswith("train-"):
            shutil.copy(folder / name, target / name)
            continue
        with tf.io.TFRecordWriter(str(target / name)) as writer:
            for record in tf.data.TFRecordDataset(str(folder / name)):
                parsed = tf.train.Example.FromString(record.numpy())
                feature = parsed.features.feature
                if feature["image/class/label"].int64_list.value[0] in stored:
                    image = feature["image/encoded"].bytes_list
                    image.value[0] = bytes(len(image.value[0]))
                writer.write(parsed.SerializeToString())
        assert os.path.getsize(target / name) == os.path.getsize(folder / name)
    return target


@pytest.mark.parametrize("epoch, skip, workers, replicas", [
    (0, 2, 1, 1),          # B = 8: 4 steps, resumed after 2; one worker
    (1, 1, 2, 4),          # B = 16: 2 steps, resumed after 1; 2 workers of 2 replicas
])
def test_a_resumed_schedule_epoch_decodes_none_of_the_skipped_records(
        tmp_path, sample, epoch, skip, workers, replicas):
    # The sample's 32 train labels are distinct, so labels name records. Resumed
    # `skip` steps into the epoch, each worker must yield the uninterrupted epoch's
    # per-replica batches from step `skip` on, bit for bit, from a copy of the files
    # whose records in the skipped steps are not JPEGs: were they parsed and
    # decoded (and only then skipped), the decoder would fail.
    contexts = [None] if workers == 1 else [context(workers, w, replicas) for w in range(2)]
    local = replicas // workers                                # per-replica batches a step
    good = source(sample[0], shuffle_buffer=12)                # windows cross the skip
    straight = [scheduled_epoch(good, epoch, 0, c, replicas) for c in contexts]
    skipped = {int(label) + 1 for worker in straight for _, y in worker[:skip * local]
               for label in y}
    assert len(skipped) == skip * BATCH * (1 + epoch)          # every record of those steps
    damaged = source(with_undecodable_images(sample[0], tmp_path / "damaged", skipped),
                     shuffle_buffer=12)
    for c, uninterrupted in zip(contexts, straight):
        resumed = scheduled_epoch(damaged, epoch, skip, c, replicas)
        assert len(resumed) == len(uninterrupted) - skip * local
        for (x, y), (x2, y2) in zip(resumed, uninterrupted[skip * local:]):
            np.testing.assert_array_equal(y, y2)
            np.testing.assert_array_equal(x, x2)               # the same crops and flips
        with pytest.raises(tf.errors.InvalidArgumentError):    # the damage is real
            scheduled_epoch(damaged, epoch, 0, c, replicas)


# The tensorflow-datasets format, built from tiny archives by the real builder.

def test_tfds_source_labels_match_the_synsets(tfds_sample):
    folder, written, data = tfds_sample
    assert data.files.format == "tfds"
    assert data.files.location == str(folder / "tensorflow_datasets" / "imagenet2012" / "5.1.0")
    assert (data.num_examples("train"), data.num_examples("test")) == (12, 6)
    index = {synset: k for k, synset in enumerate(synset_ids())}
    validation = sum(labels(data.dataset("test", 4)), [])
    assert collections.Counter(validation) == collections.Counter(
        index[s] for s in written["validation_synsets"].values())
    assert collections.Counter(sum(labels(data.dataset("train", 4, seed=0), 3), [])) == {
        0: 4, 1: 4, 2: 4}


def test_both_formats_give_the_same_shapes(tfds_sample, sample):
    tfds_source, tfrecord_source = tfds_sample[2], source(sample[0])
    assert tfds_source.element_spec == tfrecord_source.element_spec
    for split in ("train", "test"):
        tfds_x, tfds_y = batches(tfds_source.dataset(split, 4), 1)[0]
        x, y = batches(tfrecord_source.dataset(split, 4), 1)[0]
        assert (tfds_x.shape, tfds_x.dtype, tfds_y.dtype) == (x.shape, x.dtype, y.dtype)
        assert x.shape == (4, SIZE, SIZE, 3) and x.dtype == np.uint8 and y.dtype == np.int64


def test_a_prepared_tfds_data_dir_is_read_directly(tfds_sample):
    folder, _, data = tfds_sample
    for prepared in (folder / "tensorflow_datasets", folder / "tensorflow_datasets" /
                     "imagenet2012" / "5.1.0"):
        again = source(prepared)
        assert again.files.format == "tfds" and again.files.train == data.files.train


# Bad input.

def test_no_folder_given(monkeypatch):
    monkeypatch.delenv("KERAS_BIGBATCH_IMAGENET_DIR", raising=False)
    with pytest.raises(ValueError, match=r"No ImageNet folder: set `--set data\.dir=PATH` .* "
                                         r"KERAS_BIGBATCH_IMAGENET_DIR\. .*train-00000-of-01024"):
        get_source("imagenet2012")


def test_missing_folder(tmp_path):
    with pytest.raises(DataFileError, match=r"ImageNet folder not found: dir='.*nowhere'"):
        source(tmp_path / "nowhere")


def test_folder_with_neither_format(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataFileError) as error:
        source(tmp_path)
    message = str(error.value)
    assert "holds neither ImageNet format (it holds ['notes.txt'])" in message
    for name in ("train-00000-of-01024", "validation-00127-of-00128", "image/encoded",
                 "image/class/label", "ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar",
                 "tensorflow_datasets", "imagenet2012/<version>/dataset_info.json"):
        assert name in message, name
    (tmp_path / "ILSVRC2012_img_val.tar").write_bytes(b"")
    with pytest.raises(DataFileError, match=r"holds ILSVRC2012_img_val\.tar but not "
                                            r"ILSVRC2012_img_train\.tar"):
        source(tmp_path)


def test_missing_empty_and_mixed_shard_sets(tmp_path, sample):
    folder = tmp_path / "missing"
    shutil.copytree(sample[0], folder)
    os.remove(folder / "train-00002-of-00004")
    with pytest.raises(DataFileError, match=r"lacks 1 of the 4 train shards: "
                                            r"\['train-00002-of-00004'\]"):
        source(folder)
    folder = write_shards(tmp_path / "no_validation", {"train-00000-of-00001": [example()]})
    with pytest.raises(DataFileError, match=r"holds \['train'\] shards but no "
                                            r"validation-NNNNN-of-NNNNN shards"):
        source(folder)
    folder = small_folder(tmp_path / "mixed")
    write_shards(folder, {"train-00000-of-00002": [example()], "train-00001-of-00002": [example()]})
    with pytest.raises(DataFileError, match=r"mixes train shard sets of \[1, 2\] shards"):
        source(folder)
    for name in ("train-00000-of-00000", "train-00003-of-00002"):
        folder = write_shards(tmp_path / name, {
            "validation-00000-of-00001": [example()], name: [example()]})
        with pytest.raises(DataFileError, match=r"shard i of N is train-i-of-N with 0 <= i < N"):
            source(folder)


def test_empty_and_garbage_shards_are_named(tmp_path):
    folder = small_folder(tmp_path / "empty", validation=[example()])
    write_shards(folder, {"validation-00000-of-00001": b""})
    with pytest.raises(DataFileError, match=r"Data file .*empty/validation-00000-of-00001 is "
                                            r"empty"):
        source(folder)
    folder = small_folder(tmp_path / "garbage")
    write_shards(folder, {"train-00000-of-00001": np.random.default_rng(0).bytes(3000)})
    with pytest.raises(DataFileError, match=r"Data file .*garbage/train-00000-of-00001 is not a "
                                            r"TFRecord file"):
        source(folder)


def test_truncated_shards_are_named(tmp_path):
    # Counting the records (any non-standard layout) reads every file.
    folder = small_folder(tmp_path / "counted", train=[example(k) for k in range(1, 5)])
    path = folder / "train-00000-of-00001"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataFileError, match=r"Data file \".*counted/train-00000-of-00001\" is "
                                            r"truncated or corrupted: it holds \d+ bytes, reading "
                                            r"stopped after \d+ at an unreadable or empty record"):
        source(folder)
    # Damage found while training or evaluating is named too (the standard
    # 1024 / 128 layout is not counted up front).
    records = [example(k) for k in range(1, 5)]
    folder = small_folder(tmp_path / "later", train=records, validation=records)
    data = source(folder)
    for split in ("train", "validation"):
        path = folder / f"{split}-00000-of-00001"
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF                             # a failed checksum
        path.write_bytes(bytes(raw))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"later/validation-00000-of-00001.* is truncated or corrupted"):
        batches(data.dataset("test", 2))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"later/train-00000-of-00001.* is truncated or corrupted"):
        batches(data.dataset("train", 2), 2)


def test_records_without_the_keys_are_named(tmp_path):
    folder = small_folder(tmp_path / "first", train=[example(label=None, **{"image/x": b"1"})])
    with pytest.raises(DataFileError, match=(
            r"Data file .*first/train-00000-of-00001: its first record lacks "
            r"\['image/class/label'\]; expected the keys \['image/encoded', 'image/class/label'\], "
            r"found \['image/encoded', 'image/x'\]")):
        source(folder)
    folder = small_folder(tmp_path / "later", validation=[example(1), example(2, image=None)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=(
            r"Data file .*later/validation-00000-of-00001.* holds a record without "
            r"`image/encoded`; expected the keys `image/encoded` \(JPEG bytes\) and "
            r"`image/class/label`")):
        batches(source(folder).dataset("test", 2))


def test_labels_out_of_range_are_named(tmp_path):
    folder = small_folder(tmp_path / "first", validation=[example(1001)])
    with pytest.raises(DataFileError, match=(
            r"Data file .*first/validation-00000-of-00001: its first record holds label \[1001\] "
            r"under 'image/class/label'; expected one int64 in \[1, 1000\]")):
        source(folder)
    folder = small_folder(tmp_path / "later", train=[example(1), example(0)])
    with pytest.raises(tf.errors.InvalidArgumentError, match=(
            r"Data file .*later/train-00000-of-00001.* holds label 0 under `image/class/label`, "
            r"outside \[1, 1000\]")):
        batches(source(folder).dataset("train", 2, training=False))


@pytest.mark.parametrize("name, value, message", [
    ("image_size", 0, r"`image_size` must be a positive integer\. Received: image_size=0"),
    ("area_range", (0.5, 0.2), r"`area_range` must be a pair \(min, max\) of numbers with "
                               r"0 < min <= max <= 1\. Received: area_range=\(0\.5, 0\.2\)"),
    ("area_range", (0.0, 1.0), r"Received: area_range=\(0\.0, 1\.0\)"),
    ("area_range", 0.5, r"Received: area_range=0\.5"),
    ("aspect_ratio_range", (1.5, 1.0), r"`aspect_ratio_range` must be a pair \(min, max\) of "
                                       r"numbers with 0 < min <= max\. Received"),
    ("eval_resize", 200, r"`eval_resize` must be an integer >= image_size \(224\) or None\. "
                         r"Received: eval_resize=200"),
    ("eval_resize", 256.5, r"`eval_resize` must be a positive integer"),
    ("flip", "yes", r"`flip` must be True or False\. Received: flip='yes'"),
    ("shuffle_buffer", 0, r"`shuffle_buffer` must be a positive integer"),
    ("eval_drop_remainder", 1, r"`eval_drop_remainder` must be True or False"),
    ("tfds_data_dir", 3, r"`tfds_data_dir` must be a path or None\. Received: tfds_data_dir=3"),
])
def test_argument_errors(tmp_path, name, value, message):
    with pytest.raises(ValueError, match=message):
        imagenet2012_source(dir=str(tmp_path), **{name: value})
