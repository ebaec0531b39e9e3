"""A tf.data pipeline whose global batch size follows a schedule.

TensorFlow-only (tf.data is the input side of every Keras backend's `fit`).
`make_scheduled_dataset` pairs with `keras_bigbatch.callbacks.BatchSizeScheduler`:
the callback writes the epoch and its batch size into two variables at
`on_epoch_begin`, and every new iterator (Keras makes one per epoch when no
`steps_per_epoch` is given) reads them once, when its first element is
made. Prefetching can therefore never mix two batch sizes: one iterator is
one epoch at one batch size.
"""

import numpy as np
import tensorflow as tf

from keras_bigbatch.data.arrays import check_examples
from keras_bigbatch.data.pipeline import finish
from keras_bigbatch.arguments import check_positive_int


class ScheduleFeed:
    """The variables a scheduled dataset reads: epoch, batch size and steps to skip.

    `skip` > 0 starts the epoch's iterator at that step (a run resumed
    mid-epoch, see `BatchSizeScheduler.resume_at`).
    """

    def __init__(self, dataset_size, num_replicas_in_sync, first_batch_size):
        self.dataset_size = dataset_size
        self.num_replicas_in_sync = num_replicas_in_sync
        with tf.init_scope():
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False,
                                     name="scheduled_epoch")
            self.batch_size = tf.Variable(first_batch_size, dtype=tf.int64,
                                          trainable=False,
                                          name="scheduled_batch_size")
            self.skip = tf.Variable(0, dtype=tf.int64, trainable=False,
                                    name="scheduled_skip")

    def set_epoch(self, epoch, global_batch_size, skip=0):
        self.epoch.assign(epoch)
        self.batch_size.assign(global_batch_size)
        self.skip.assign(skip)


def make_scheduled_dataset(x, y, scheduler, *, strategy=None, shuffle=True, seed=0):
    """Builds the training dataset for a `BatchSizeScheduler`.

    Epoch `e` yields `len(x) // scheduler.schedule(e)` batches of exactly
    `scheduler.schedule(e)` examples (global). The remainder policy: the
    last `len(x) % batch_size` examples of each epoch's permutation are
    dropped; the permutation is new every epoch, so no example is left out
    for good. Example `i` of epoch `e` is
    `x[index_shuffle(i, seed=[seed, e])]`, a pure function of the epoch:
    resuming at epoch `e` (`fit(initial_epoch=e)` or
    `keras.callbacks.BackupAndRestore`) sees the same data as an
    uninterrupted run, under every strategy.

    Args:
        x: array of inputs, first axis = examples.
        y: array of targets with the same first axis.
        scheduler: the `keras_bigbatch.callbacks.BatchSizeScheduler` that
            must also be passed to `fit(callbacks=[...])`.
        strategy: optional `tf.distribute.Strategy`; its replicas must divide
            every scheduled batch size (checked here for dict schedules, at
            each epoch's start for callables).
        shuffle: a new permutation every epoch. Default True.
        seed: permutation seed. Default 0.

    Returns:
        A `tf.data.Dataset` of `(x_batch, y_batch)` with an unknown batch
        dimension (so one traced train function serves every batch size).
    """
    if not hasattr(scheduler, "attach_feed"):
        raise ValueError(
            "Argument `scheduler` must be a keras_bigbatch.callbacks."
            f"BatchSizeScheduler. Received: scheduler={scheduler!r}"
        )
    x, y = np.asarray(x), np.asarray(y)
    check_examples(x, y)
    count = check_positive_int("len(x)", len(x))
    num_replicas = strategy.num_replicas_in_sync if strategy else 1
    scheduler.schedule.check(count, num_replicas)
    feed = ScheduleFeed(count, num_replicas, scheduler.schedule(0))
    scheduler.attach_feed(feed)

    x_all, y_all = tf.constant(x), tf.constant(y)
    last = tf.constant(count - 1, tf.int64)
    seed = tf.constant(seed, tf.int64)

    def gather(batch, epoch, batch_size):
        positions = tf.range(batch * batch_size, (batch + 1) * batch_size)
        if shuffle:
            positions = tf.random.experimental.index_shuffle(
                positions, seed=tf.stack([seed, epoch]), max_index=last
            )
        return tf.gather(x_all, positions), tf.gather(y_all, positions)

    def one_epoch(_):
        # Read once per iterator: the whole epoch has one batch size.
        epoch = feed.epoch.read_value()
        batch_size = feed.batch_size.read_value()
        return tf.data.Dataset.range(feed.skip.read_value(), count // batch_size).map(
            lambda b: gather(b, epoch, batch_size),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
        )

    return finish(tf.data.Dataset.range(1).flat_map(one_epoch))
