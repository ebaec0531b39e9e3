"""tf.data pipelines over ImageNet TFRecord files (both formats share them).

Training, worker w of W, global batch B, worker batch b = B / W,
S = N // B steps per epoch:

```
epoch e (key = (seed, e)):
    files   = stateless permutation of the files, key (e, 0)
    W <= #files: worker w reads files[w::W]        (sharding by files)
    else:        every worker reads all files, keeps record w of every W
    records = interleave(files, cycle_length = min(16, #files read), block 1)
    shuffle = consecutive windows of `shuffle_buffer` records, each permuted
              by a stateless permutation keyed by (e, 1, pass, window)
    repeat the passes (only needed when a worker's files hold < S * b
              records), take exactly S * b records
start_step t: epoch t // S, skipping (t % S) * b records before decoding
example i of the worker's epoch: global position
    g = (i // b) * B + w * b + i % b,  crop and flip seeded by (seed, e, 2, g)
decode + crop in parallel (deterministic order), per-replica batches
```

Every random choice is a stateless function of its key, so the batches are
a pure function of (seed, step, W): the same on every machine and after any
restart. W enters when sharding by files (which files a worker reads); with
one worker, or sharding by records, a worker's records are still
interleaved from all files, so the global batch then depends on W only
through which worker holds which example.

Evaluation: the files in order, interleaved 16 at a time (deterministic),
center crops, global batches, the last partial batch kept (or dropped with
`eval_drop_remainder`, for the fixed shapes TPUs need).
"""

import tensorflow as tf

from keras_bigbatch.data import _image_preprocessing as preprocessing
from keras_bigbatch.data import _imagenet_files
from keras_bigbatch.data._tfrecords import checked_records

CYCLE_LENGTH = 16  # files read at once; fixed, because the order depends on it
_MISSING = -(2**62)  # label default: the key is absent


def _key(*parts):
    """A stateless-RNG seed (shape [2]) from a list of int scalars."""
    key = tf.stack([tf.cast(parts[0], tf.int64), tf.cast(parts[1], tf.int64)])
    for part in parts[2:]:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(part, tf.int64))
    return key


def _read(paths, sizes, cycle_length):
    files = tf.data.Dataset.from_tensor_slices((paths, sizes))
    return files.interleave(checked_records, cycle_length=cycle_length, block_length=1,
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _parse(record, path, split):
    """`(jpeg bytes, label in [0, 1000))` of one record; names `path` on bad records."""
    features = tf.io.parse_single_example(record, {
        split.image_key: tf.io.FixedLenFeature([], tf.string, default_value=""),
        split.label_key: tf.io.FixedLenFeature([], tf.int64, default_value=_MISSING),
    })
    jpeg, stored = features[split.image_key], features[split.label_key]
    low, high = split.label_offset, split.label_offset + _imagenet_files.NUM_CLASSES - 1
    expected = f"expected the keys {split.image_key!r} (JPEG bytes) and {split.label_key!r}"
    checks = [
        tf.debugging.Assert(tf.strings.length(jpeg) > 0, [
            "Data file", path, f"holds a record without {split.image_key!r};", expected]),
        tf.debugging.Assert(tf.not_equal(stored, _MISSING), [
            "Data file", path, f"holds a record without {split.label_key!r};", expected]),
        tf.debugging.Assert(tf.logical_or(tf.equal(stored, _MISSING), tf.logical_and(
            stored >= low, stored <= high)), [
            "Data file", path, "holds label", stored, f"under {split.label_key!r}, outside "
            f"[{low}, {high}]."]),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(jpeg), stored - split.label_offset


def _options(dataset, auto_shard):
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.AUTO if auto_shard
        else tf.data.experimental.AutoShardPolicy.OFF)
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


def training_dataset(split, image, global_batch_size, shard, batch, seed, start_step):
    """Endless per-replica batches of `batch` examples; see the module docstring.

    `split` is a `SplitFiles`, `image` the source's image settings.
    """
    worker, workers = shard
    worker_batch = global_batch_size // workers
    per_epoch = split.num_examples // global_batch_size * worker_batch
    window = min(image.shuffle_buffer, per_epoch)
    count = len(split.files)
    by_file = count >= workers
    cycle_length = min(CYCLE_LENGTH, -(-count // workers) if by_file else count)
    paths = tf.constant(split.files)
    sizes = tf.constant(split.sizes, tf.int64)

    def one_pass(epoch, pass_index):
        order = tf.random.experimental.stateless_shuffle(tf.range(count), _key(seed, epoch, 0))
        if by_file:
            order = order[worker::workers]
        records = _read(tf.gather(paths, order), tf.gather(sizes, order), cycle_length)
        if not by_file and workers > 1:
            records = records.shard(workers, worker)

        def permute(index, window_records):
            key = _key(seed, epoch, 1, pass_index, index)
            size = tf.shape(window_records[0])[0]
            permutation = tf.random.experimental.stateless_shuffle(tf.range(size), key)
            return tuple(tf.gather(t, permutation) for t in window_records)

        return records.batch(window).enumerate().map(permute).unbatch()

    def one_epoch(epoch):
        passes = tf.data.Dataset.range(2**62).flat_map(lambda p: one_pass(epoch, p))
        return passes.take(per_epoch).enumerate().map(
            lambda index, element: (epoch, index, element))

    first_epoch, step = divmod(start_step, per_epoch // worker_batch)
    stream = one_epoch(tf.constant(first_epoch, tf.int64)).skip(step * worker_batch)
    stream = stream.concatenate(tf.data.Dataset.range(first_epoch + 1, 2**62).flat_map(one_epoch))

    def decode(epoch, index, element):
        jpeg, label = _parse(*element, split)
        position = index // worker_batch * global_batch_size + worker * worker_batch + (
            index % worker_batch)
        x = preprocessing.train_image(
            jpeg, _key(seed, epoch, 2, position), image.image_size, image.area_range,
            image.aspect_ratio_range, image.eval_resize, image.flip)
        return x, label

    stream = stream.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _options(stream.batch(batch, drop_remainder=True), auto_shard=False)


def evaluation_dataset(split, image, global_batch_size):
    """One ordered pass of center crops in global batches; see the module docstring."""
    records = _read(tf.constant(split.files), tf.constant(split.sizes, tf.int64),
                    min(CYCLE_LENGTH, len(split.files)))

    def decode(record, path):
        jpeg, label = _parse(record, path, split)
        return preprocessing.eval_image(jpeg, image.image_size, image.eval_resize), label

    stream = records.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _options(stream.batch(global_batch_size, drop_remainder=image.eval_drop_remainder),
                    auto_shard=True)
