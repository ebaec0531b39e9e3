"""tf.data input pipelines that take a *global* batch size.

TensorFlow-only by design: this is the input side of `tf.distribute`.

`make_dataset` yields batches of `global_batch_size` examples. Under a
strategy, `model.fit` splits each one into `num_replicas_in_sync` per-replica
batches of `global_batch_size // num_replicas_in_sync`; the builder checks that
this division is exact, so every replica (and every ghost batch of a
`GhostBatchNormalization` layer) sees a full batch.
"""

import numpy as np
import tensorflow as tf

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.data.arrays import check_examples
from keras_bigbatch.durations import check_steps_per_epoch
from keras_bigbatch.durations import steps_per_epoch
from keras_bigbatch.distribute.batching import per_replica_batch_size


def make_dataset(
    x,
    y,
    global_batch_size,
    *,
    strategy=None,
    shuffle=True,
    seed=0,
    drop_remainder=True,
    repeat=False,
    shard=None,
    start_step=0,
):
    """Builds a batched, shuffled `tf.data.Dataset` from in-memory arrays.

    Args:
        x: array of inputs, first axis = examples.
        y: array of targets with the same first axis.
        global_batch_size: examples per optimizer step over all replicas.
        strategy: optional `tf.distribute.Strategy`; its
            `num_replicas_in_sync` must divide `global_batch_size`.
        shuffle: a new seeded permutation every epoch. Default True.
        seed: shuffle seed; the same seed gives the same batches, in the
            same order within each batch, with or without a strategy.
            Default 0.
        drop_remainder: drop the last partial batch so every step has exactly
            `global_batch_size` examples (and a static batch shape). Default
            True; use False for evaluation.
        repeat: repeat forever (then pass `steps_per_epoch` to `fit`).
        shard: optional `(index, count)`: yield only slice `index` of `count`
            equal contiguous slices of every global batch (what one worker
            of a multi-worker job feeds; see
            `tf.distribute.InputContext.input_pipeline_id`). `count` must
            divide `global_batch_size`; requires `drop_remainder=True`.
        start_step: with `repeat=True`, the first global batch to yield:
            batch t of the endless stream depends only on (seed, t), so
            starting at t continues an interrupted run exactly.

    Returns:
        A `tf.data.Dataset` of `(x_batch, y_batch)` global batches.
    """
    check_positive_int("global_batch_size", global_batch_size)
    num_replicas = strategy.num_replicas_in_sync if strategy else 1
    per_replica_batch_size(global_batch_size, num_replicas)
    check_examples(x, y)
    if drop_remainder:
        check_steps_per_epoch(len(x), global_batch_size)  # at least one full batch
    if shard is not None:
        index, count = shard
        check_positive_int("shard count", count)
        if not 0 <= index < count or global_batch_size % count or not drop_remainder:
            raise ValueError(
                "Argument `shard` must be (index, count) with 0 <= index < "
                f"count, count dividing global_batch_size ({global_batch_size})"
                f" and drop_remainder=True. Received: shard={shard!r}"
            )
    if start_step and not repeat:
        raise ValueError(
            "Argument `start_step` needs repeat=True (an endless stream of "
            f"global batches). Received: start_step={start_step}, repeat={repeat}"
        )
    dataset = _index_batches(
        np.asarray(x), np.asarray(y), global_batch_size, shuffle, seed,
        drop_remainder, repeat, shard, start_step,
    )
    return finish(dataset)


def finish(dataset):
    """Deterministic order, element-wise sharding, prefetching."""
    options = tf.data.Options()
    # In-memory data has no files to shard: each worker shards by element.
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    options.deterministic = True
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


def _index_batches(
    x, y, global_batch_size, shuffle, seed, drop_remainder, repeat, shard, start_step=0
):
    """Batches gathered by index from a stateless per-epoch permutation.

    Example `i` of epoch `e` is `x[index_shuffle(i, seed=[seed, e])]`. With
    `repeat=True` (what the trainer uses) the permutation is a pure function
    of (seed, epoch), unlike a seeded
    `Dataset.shuffle`, whose order changes when `tf.distribute` rewrites the
    input graph; here the global batches, and their order, are identical
    under every strategy (which `GhostBatchNormalization` needs, since it
    normalizes consecutive examples together).
    """
    count = len(x)
    batches_per_epoch = steps_per_epoch(count, global_batch_size, drop_remainder)
    x_all = tf.constant(x)
    y_all = tf.constant(y)
    last = tf.constant(count - 1, tf.int64)
    slice_size = global_batch_size // shard[1] if shard else global_batch_size

    def gather(batch, epoch):
        start = (batch % batches_per_epoch) * global_batch_size
        stop = tf.minimum(start + global_batch_size, count)
        if shard is not None:
            start = start + shard[0] * slice_size
            stop = start + slice_size
        positions = tf.range(start, stop, dtype=tf.int64)
        if shuffle:
            seeds = tf.stack([tf.constant(seed, tf.int64), epoch])
            positions = tf.random.experimental.index_shuffle(
                positions, seed=seeds, max_index=last
            )
        return tf.gather(x_all, positions), tf.gather(y_all, positions)

    if repeat:
        # Epoch e of the endless stream is permutation (seed, e).
        dataset = tf.data.Dataset.range(start_step, 2**62).map(
            lambda b: gather(b, b // batches_per_epoch),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
        )
    else:
        # Each pass over the dataset draws a fresh epoch key from a seeded
        # stream, so `fit(epochs=k)` still reshuffles every epoch.
        keys = tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True
        ).take(1)
        dataset = keys.flat_map(
            lambda key: tf.data.Dataset.range(batches_per_epoch).map(
                lambda b: gather(b, key),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
            )
        )
    if drop_remainder:
        batch_shape = (slice_size,)
        dataset = dataset.map(
            lambda a, b: (
                tf.ensure_shape(a, batch_shape + x.shape[1:]),
                tf.ensure_shape(b, batch_shape + y.shape[1:]),
            )
        )
    return dataset

