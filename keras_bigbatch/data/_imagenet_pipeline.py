"""tf.data pipelines over ImageNet TFRecord files (both formats share them).

Training, worker w of W, global batch B, worker batch b = B / W,
S = N // B steps per epoch:

```
epoch e (key = (seed, e)):
    files   = stateless permutation of the files, key (e, 0)
    W <= #files: worker w reads files[w::W]        (sharding by files)
    else:        every worker reads all files, keeps record w of every W
    records = interleave(files, cycle_length = min(16, #files read), block 1)
    shuffle = consecutive windows of min(shuffle_buffer, S * b) records, each
              permuted by a stateless permutation keyed by (e, 1, pass, window);
              per window, the bytes read per file are checked against the
              file's size where the file ends (damaged files are named)
    repeat the passes (only needed when a worker's files hold < S * b
              records), take exactly S * b records
start_step t: epoch t // S, skipping (t % S) * b records before decoding
    (so does a batch-size schedule's epoch resumed k steps in: k * b records)
record i of the worker's epoch: global position
    g = (i // b) * B + w * b + i % b,  crop and flip seeded by (seed, e, 2, g)
decode + crop in parallel (deterministic order), per-replica batches
```

Every random choice is a stateless function of its key, so for given files
and settings (shuffle_buffer, image options, CYCLE_LENGTH) what worker w
yields from step t on is a pure function of (seed, t, W, w): the same on
every machine, under any AUTOTUNE parallelism, and after any restart
(`start_step`). With one worker, global batch t is a pure function of
(seed, t). With several it also depends on W: each worker reads other files
(or other records), so which examples make up global batch t, and their
crops (keyed by g), change with the number of workers. Resuming therefore
needs the same number of workers; a start_step re-reads, but does not
decode, the skipped records of its epoch.

`epoch_examples` yields one such epoch, decoded and unbatched, for a
global batch that may change from epoch to epoch (batch-size schedules),
from global batch k on: the first k * b records are read, not decoded.

Evaluation: the files in order, interleaved 16 at a time (deterministic),
center crops, global batches, the last partial batch kept (or dropped with
`eval_drop_remainder`, for the fixed shapes TPUs need).
"""

import tensorflow as tf

from keras_bigbatch.data import _image_preprocessing as preprocessing
from keras_bigbatch.data import _imagenet_files
from keras_bigbatch.data import order
from keras_bigbatch.data._tfrecords import account
from keras_bigbatch.data._tfrecords import check_that
from keras_bigbatch.data._tfrecords import checked_records
from keras_bigbatch.data._tfrecords import records_with_end

# Pipeline functions are plain TensorFlow (no Python control flow on
# tensors): skipping AutoGraph's conversion makes building a pipeline faster.
_plain = tf.autograph.experimental.do_not_convert
CYCLE_LENGTH = 16  # files read at once; fixed, because the order depends on it
_MISSING = -(2**62)  # label default: the key is absent


def _key(*parts):
    """A stateless-RNG seed (shape [2]) from a list of int scalars."""
    key = tf.stack([tf.cast(parts[0], tf.int64), tf.cast(parts[1], tf.int64)])
    for part in parts[2:]:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(part, tf.int64))
    return key


def _interleave(files, read, cycle_length):
    return files.interleave(read, cycle_length=cycle_length, block_length=1,
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _parse(record, index, split, paths):
    """`(jpeg bytes, label in [0, 1000))` of one record of file `paths[index]`; checked."""
    features = tf.io.parse_single_example(record, {
        split.image_key: tf.io.FixedLenFeature([], tf.string, default_value=""),
        split.label_key: tf.io.FixedLenFeature([], tf.int64, default_value=_MISSING),
    })
    jpeg, stored = features[split.image_key], features[split.label_key]
    low, high = split.label_offset, split.label_offset + _imagenet_files.NUM_CLASSES - 1
    expected = f"expected the keys `{split.image_key}` (JPEG bytes) and `{split.label_key}`."

    def path():
        return (tf.gather(paths, index),)

    checks = [
        check_that(tf.strings.length(jpeg) > 0,
                   f"Data file {{}} holds a record without `{split.image_key}`; {expected}", path),
        check_that(tf.not_equal(stored, _MISSING),
                   f"Data file {{}} holds a record without `{split.label_key}`; {expected}", path),
        check_that(tf.logical_or(tf.equal(stored, _MISSING),
                                 tf.logical_and(stored >= low, stored <= high)),
                   f"Data file {{}} holds label {{}} under `{split.label_key}`, outside "
                   f"[{low}, {high}].", lambda: path() + (stored,)),
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


def _epoch_records(split, image, seed, epoch, shard, global_batch_size):
    """Worker `shard[0]`'s undecoded records `(record, file index)` of `epoch`: exactly S * b.

    `epoch` and `global_batch_size` may be tensors (batch-size schedules).
    """
    worker, workers = shard
    count = len(split.files)
    by_file = count >= workers
    cycle_length = min(CYCLE_LENGTH, -(-count // workers) if by_file else count)
    per_epoch = split.num_examples // global_batch_size * (global_batch_size // workers)
    window = tf.minimum(tf.cast(image.shuffle_buffer, tf.int64), tf.cast(per_epoch, tf.int64))
    paths = tf.constant(split.files)
    sizes = tf.constant(split.sizes, tf.int64)

    @_plain
    def one_pass(pass_index):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64), _key(seed, epoch, 0))
        if by_file:
            # Each file ends in an end mark; the bytes read are checked per window.
            order = order[worker::workers]
            files = tf.data.Dataset.from_tensor_slices((tf.gather(paths, order), order))
            records = _interleave(files, records_with_end, cycle_length)
        else:
            # Every worker reads every file, checked record by record, and keeps
            # every W-th record.
            files = tf.data.Dataset.from_tensor_slices(
                (tf.gather(paths, order), tf.gather(sizes, order), order))
            records = _interleave(files, checked_records, cycle_length).shard(workers, worker)

        @_plain
        def check(state, window_records):
            consumed, window_index = state
            records, indices = window_records
            if by_file:
                consumed, checked = account(consumed, records, indices, paths, sizes)
                with tf.control_dependencies([checked]):
                    records = tf.identity(records)
            return (consumed, window_index + 1), (window_index, records, indices)

        @_plain
        def permute(window_index, records, indices):
            kept = tf.where(tf.strings.length(records) > 0)[:, 0]  # drop the end marks
            key = _key(seed, epoch, 1, pass_index, window_index)
            kept = tf.random.experimental.stateless_shuffle(kept, key)
            return tf.gather(records, kept), tf.gather(indices, kept)

        start = (tf.zeros([count], tf.int64), tf.constant(0, tf.int64))
        # prefetch(1): the next window is read while this one is decoded (one
        # window of records in memory ahead; without it decoding stalls at
        # every window boundary)
        return records.batch(window).scan(start, check).map(permute).prefetch(1).unbatch()

    return tf.data.Dataset.range(2**62).flat_map(one_pass).take(per_epoch)


def _train_example(split, image, seed, shard, global_batch_size):
    """`decode(epoch, index, (record, file index)) -> (image, label)` for training."""
    worker_batch = global_batch_size // shard[1]
    paths = tf.constant(split.files)

    @_plain
    def decode(epoch, index, element):
        jpeg, label = _parse(*element, split, paths)
        start, _ = order.slice_positions(index // worker_batch, global_batch_size, shard)
        position = start + index % worker_batch  # in the global batch order
        x = preprocessing.train_image(
            jpeg, _key(seed, epoch, 2, position), image.image_size, image.area_range,
            image.aspect_ratio_range, image.eval_resize, image.flip)
        return x, label

    return decode


def training_dataset(split, image, global_batch_size, shard, batch, seed, start_step):
    """Endless per-replica batches of `batch` examples; see the module docstring.

    `split` is a `SplitFiles`, `image` the source's image settings.
    """
    worker_batch = global_batch_size // shard[1]
    per_epoch = split.num_examples // global_batch_size * worker_batch
    first_epoch, step = divmod(start_step, per_epoch // worker_batch)
    stream = tf.data.Dataset.range(first_epoch, 2**62).flat_map(_plain(
        lambda epoch: _epoch_records(split, image, seed, epoch, shard, global_batch_size)))
    # n = the record's index in the worker's endless stream; nothing decoded yet.
    stream = stream.enumerate(start=first_epoch * per_epoch).skip(step * worker_batch)
    decode = _train_example(split, image, seed, shard, global_batch_size)
    stream = stream.map(_plain(lambda n, element: decode(n // per_epoch, n % per_epoch, element)),
                        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _options(stream.batch(batch, drop_remainder=True), auto_shard=False)


def epoch_examples(split, image, seed, epoch, shard, global_batch_size, first_batch=0):
    """Worker `shard[0]`'s decoded training examples of `epoch`, unbatched.

    For batch-size schedules (`DataSource.scheduled_dataset`): `epoch`,
    `global_batch_size` and `first_batch` are int64 scalars; epoch e with
    global batch B is what `training_dataset` yields in epoch e with B,
    from global batch k = `first_batch` on. The first k * b records of the
    epoch are read (the shuffle windows need them) but skipped before they
    are parsed or decoded; record i keeps its index i (its crop key).
    """
    decode = _train_example(split, image, seed, shard, global_batch_size)
    worker_batch = global_batch_size // shard[1]
    records = _epoch_records(split, image, seed, epoch, shard, global_batch_size).enumerate()
    records = records.skip(first_batch * worker_batch)  # nothing decoded yet
    return records.map(_plain(lambda index, element: decode(epoch, index, element)),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def evaluation_dataset(split, image, global_batch_size):
    """One ordered pass of center crops in global batches; see the module docstring."""
    paths = tf.constant(split.files)
    files = tf.data.Dataset.from_tensor_slices(
        (paths, tf.constant(split.sizes, tf.int64), tf.range(len(split.files), dtype=tf.int64)))
    records = _interleave(files, checked_records, min(CYCLE_LENGTH, len(split.files)))

    @_plain
    def decode(record, index):
        jpeg, label = _parse(record, index, split, paths)
        return preprocessing.eval_image(jpeg, image.image_size, image.eval_resize), label

    stream = records.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _options(stream.batch(global_batch_size, drop_remainder=image.eval_drop_remainder),
                    auto_shard=True)
