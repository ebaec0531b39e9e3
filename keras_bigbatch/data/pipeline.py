"""The tf.data pipelines: global batches from arrays and from any source.

TensorFlow-only by design (tf.data is the input side of every Keras
backend's `fit` on TensorFlow); nothing here imports a source module. The
order of the examples is `order.py`'s tf form.

```
make_dataset(x, y, B)                  arrays -> global batches of B
make_scheduled_dataset(x, y, sched)    arrays -> global batches of B_e in epoch e
make_scheduled_dataset_from_function(  your pipeline of B_e -> the same, from `fn(B_e)`
    fn, sched, N)
array_dataset(x, y, ...)               an in-memory source's `dataset`
array_epoch_examples(x, y, ...)        ... and one epoch of its `scheduled_dataset`
scheduled_source_dataset(...)          any source's `scheduled_dataset`
```

`make_dataset` yields batches of `global_batch_size` examples. Under a
strategy, `model.fit` splits each one into `num_replicas_in_sync` per-replica
batches of `global_batch_size // num_replicas_in_sync`; the builder checks that
this division is exact, so every replica (and every ghost batch of a
`GhostBatchNormalization` layer) sees a full batch.

Lengths: a finite dataset reports its length, `N // B` batches
(`ceil(N / B)` without `drop_remainder`), and an endless one
`tf.data.INFINITE_CARDINALITY`. Keras on TensorFlow, given a dataset of
unknown length, runs one more train call per epoch to find its end, and that
call increments `optimizer.iterations` without an update (the "phantom
step": a `Regime` schedule read from the iterations then decays early); a
reported length has Keras stop after the last batch.

Batch-size schedules: `make_scheduled_dataset`,
`make_scheduled_dataset_from_function` and `scheduled_source_dataset` pair with `keras_bigbatch.callbacks.BatchSizeScheduler`. The callback writes
the epoch and its batch size into the variables of a `ScheduleFeed` at
`on_epoch_begin`, and every new iterator (Keras makes one per epoch when no
`steps_per_epoch` is given) reads them once, when its first element is made.
Prefetching can therefore never mix two batch sizes: one iterator is one
epoch at one batch size. A run resumed k steps into an epoch starts that
epoch's iterator at global batch k: the source's stream begins there (the
index range starts at k, or records are skipped before decoding), so the
k batches already trained are never gathered or decoded. Their length
changes from epoch to epoch, so they report none; `BatchSizeScheduler`
knows each epoch's `N // B_e` and takes the phantom step back at
`on_epoch_end`, so `optimizer.iterations` counts the updates made.
"""

import inspect
import warnings

import numpy as np
import tensorflow as tf

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.data import order
from keras_bigbatch.data._checks import check_examples
from keras_bigbatch.distribute.batching import per_replica_batch_size
from keras_bigbatch.durations import check_steps_per_epoch
from keras_bigbatch.durations import steps_per_epoch


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
        repeat: repeat forever (then pass `steps_per_epoch` to `fit`, e.g.
            `**Regime.fit_arguments(len(x))`). Default False: one pass per
            iteration, a new permutation each pass.
        shard: optional `(index, count)`: yield only slice `index` of `count`
            equal contiguous slices of every global batch (what one worker
            of a multi-worker job feeds; see
            `tf.distribute.InputContext.input_pipeline_id`). `count` must
            divide `global_batch_size`; requires `drop_remainder=True`.
        start_step: with `repeat=True`, the first global batch to yield:
            batch t of the endless stream depends only on (seed, t), so
            starting at t continues an interrupted run exactly.

    Returns:
        A `tf.data.Dataset` of `(x_batch, y_batch)` global batches whose
        `cardinality()` is the true length: `len(x) // global_batch_size`
        (`ceil(len(x) / global_batch_size)` with `drop_remainder=False`),
        or `tf.data.INFINITE_CARDINALITY` with `repeat=True`. So
        `model.fit(dataset, epochs=E)` makes exactly `E * len(x) //
        global_batch_size` updates and `optimizer.iterations` counts them.
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
        drop_remainder, repeat, shard or (0, 1), start_step,
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

    Example `i` of epoch `e` is `x[index_shuffle(i, seed=[seed, e])]`
    (`order.tf_permuted`). With `repeat=True` (what the trainer uses) the
    permutation is a pure function of (seed, epoch), unlike a seeded
    `Dataset.shuffle`, whose order changes when `tf.distribute` rewrites the
    input graph; here the global batches, and their order, are identical
    under every strategy (which `GhostBatchNormalization` needs, since it
    normalizes consecutive examples together).

    Length (`cardinality()`): `steps_per_epoch(N, B, drop_remainder)` for
    one pass, `tf.data.INFINITE_CARDINALITY` with `repeat=True`.
    """
    count = len(x)
    batches_per_epoch = steps_per_epoch(count, global_batch_size, drop_remainder)
    x_all = tf.constant(x)
    y_all = tf.constant(y)

    def gather(index, epoch):
        start, stop = order.slice_positions(index, global_batch_size, shard)
        if not drop_remainder:  # the last batch of the pass may be partial
            stop = tf.minimum(stop, count)
        positions = tf.range(start, stop, dtype=tf.int64)
        if shuffle:
            positions = order.tf_permuted(seed, epoch, positions, count)
        return tf.gather(x_all, positions), tf.gather(y_all, positions)

    def gather_step(step):
        epoch, index = order.epoch_and_index(step, batches_per_epoch)
        return gather(index, epoch)

    if repeat:
        # Epoch e of the endless stream is permutation (seed, e).
        dataset = tf.data.Dataset.range(start_step, 2**62).map(
            gather_step, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
        ).apply(tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY))
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
        # `flat_map` hides the length; Keras on TensorFlow then runs one more
        # train call per epoch to find the end, and that call increments
        # `optimizer.iterations` with no update (step schedules decay early).
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches_per_epoch))
    if drop_remainder:
        batch_shape = (global_batch_size // shard[1],)
        dataset = dataset.map(
            lambda a, b: (
                tf.ensure_shape(a, batch_shape + x.shape[1:]),
                tf.ensure_shape(b, batch_shape + y.shape[1:]),
            )
        )
    return dataset


def array_dataset(x, y, global_batch_size, shard, batch, seed, training, start_step):
    """`DataSource.dataset` of in-memory arrays; arguments already checked.

    Training: worker `shard[0]`'s slices of global batches `start_step`, ...
    in `order.py`'s order, cut into per-replica batches of `batch`.
    Evaluation: whole global batches in order, the last one partial.
    Lengths: `ceil(N / global_batch_size)` (evaluation), infinite (training).
    """
    if not training:  # tf.distribute splits the global batches
        return finish(_index_batches(x, y, global_batch_size, False, 0, False, False, (0, 1)))
    dataset = finish(_index_batches(x, y, global_batch_size, True, seed, True, True, shard,
                                    start_step))
    if batch == global_batch_size // shard[1]:
        return dataset
    # `rebatch` forgets the length; the stream is still endless
    return dataset.rebatch(batch).apply(
        tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY))


class ScheduleFeed:
    """The variables a scheduled dataset reads: epoch, batch size and steps to skip.

    `skip` = k > 0 starts the epoch's iterator at global batch k (a run
    resumed mid-epoch, see `BatchSizeScheduler.resume_at`); batches 0..k-1
    of the epoch are not built.
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


def _attach_feed(scheduler, dataset_size, num_replicas):
    """A new `ScheduleFeed` for `scheduler`, its schedule checked and the feed attached."""
    if not hasattr(scheduler, "attach_feed"):
        raise ValueError(
            "Argument `scheduler` must be a keras_bigbatch.callbacks."
            f"BatchSizeScheduler. Received: scheduler={scheduler!r}"
        )
    scheduler.schedule.check(dataset_size, num_replicas)
    feed = ScheduleFeed(dataset_size, num_replicas, scheduler.schedule(0))
    scheduler.attach_feed(feed)
    return feed


def _epochs(feed, one_epoch):
    """`one_epoch(epoch, global_batch, skip)` of what `feed` holds when an iterator opens."""

    def read(_):  # once per iterator: the whole epoch has one batch size
        return one_epoch(feed.epoch.read_value(), feed.batch_size.read_value(),
                         feed.skip.read_value())

    return tf.data.Dataset.range(1).flat_map(read)


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
        dimension (so one traced train function serves every batch size)
        and an unknown length (it changes with the epoch; the scheduler
        keeps `optimizer.iterations` equal to the updates made).
    """
    x, y = np.asarray(x), np.asarray(y)
    check_examples(x, y)
    count = check_positive_int("len(x)", len(x))
    feed = _attach_feed(scheduler, count, strategy.num_replicas_in_sync if strategy else 1)
    x_all, y_all = tf.constant(x), tf.constant(y)

    def gather(index, epoch, batch_size):
        start, stop = order.slice_positions(index, batch_size)
        positions = tf.range(start, stop, dtype=tf.int64)
        if shuffle:
            positions = order.tf_permuted(seed, epoch, positions, count)
        return tf.gather(x_all, positions), tf.gather(y_all, positions)

    def one_epoch(epoch, batch_size, skip):
        return tf.data.Dataset.range(skip, count // batch_size).map(
            lambda index: gather(index, epoch, batch_size),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
        )

    return finish(_epochs(feed, one_epoch))


def make_scheduled_dataset_from_function(dataset_fn, scheduler, dataset_size, *,
                                         strategy=None):
    """Builds a `BatchSizeScheduler`'s training dataset from your own tf.data pipeline.

    ```
    epoch e (B_e = scheduler.schedule(e), S_e = dataset_size // B_e):
        dataset_fn(B_e)  or  dataset_fn(B_e, e)      called once per epoch
        -> exactly S_e batches of exactly B_e examples (global)
    ```

    Every epoch opens a new iterator (see `BatchSizeScheduler`); when it
    opens, `dataset_fn` builds that epoch's pipeline from the batch size the
    scheduler wrote into the feed. The function is traced once, inside a
    `flat_map`: `global_batch_size` (and `epoch`, when `dataset_fn` takes a
    second argument) are int64 scalar tensors, so `batch(global_batch_size,
    drop_remainder=True)` works as written, and Python-side code in a `map`
    is converted by AutoGraph as in any tf.data pipeline.

    Randomness: what `dataset_fn` creates is rebuilt every epoch, so a
    `shuffle` or `tf.random.uniform` inside it restarts from its seeds; with
    a seed, or after `keras.utils.set_random_seed`, every epoch would repeat
    the first one's order and augmentation (this function warns when it
    finds such ops). Shuffle and augment in a dataset built outside
    `dataset_fn` (each epoch's new iterator of it reshuffles, as in a plain
    `fit`), and batch inside; or derive the randomness from `epoch` with
    stateless ops (`tf.random.experimental.index_shuffle`,
    `tf.random.stateless_uniform` with seed `[s, epoch]`).

    The length is checked, not trusted: a batch of another size (a missing
    `drop_remainder=True`) or an epoch of other than S_e batches (a wrong
    `dataset_size`) fails at that element, before it trains, because the
    scheduler's step count (and the learning rate read from
    `optimizer.iterations`) assumes S_e. A run resumed k steps into an epoch
    skips the first k batches of that epoch's pipeline (built, then
    dropped).

    Example:

    ```
    examples = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x)).map(augment)

    def pipeline(global_batch_size):
        return examples.batch(global_batch_size, drop_remainder=True)

    scheduler = BatchSizeScheduler({0: 128, 3: 512})
    train = make_scheduled_dataset_from_function(pipeline, scheduler, len(x))
    model.fit(train, epochs=6, callbacks=[scheduler])  # 3 epochs at 128, 3 at 512
    ```

    Args:
        dataset_fn: `dataset_fn(global_batch_size)` or
            `dataset_fn(global_batch_size, epoch)` returning a finite
            `tf.data.Dataset` of `dataset_size // global_batch_size` global
            batches of `global_batch_size` examples (any structure of
            tensors, each with that leading dimension).
        scheduler: the `keras_bigbatch.callbacks.BatchSizeScheduler` that
            must also be passed to `fit(callbacks=[...])`.
        dataset_size: examples in one epoch of the pipeline, > 0.
        strategy: optional `tf.distribute.Strategy` (one worker: its
            `fit` splits every global batch); its replicas must divide
            every scheduled batch size.

    Returns:
        A `tf.data.Dataset` of global batches with an unknown batch
        dimension (one traced train function serves every batch size).
    """
    if not callable(dataset_fn):
        raise ValueError(
            "Argument `dataset_fn` must be a function of the global batch size "
            f"returning a tf.data.Dataset. Received: dataset_fn={dataset_fn!r}")
    dataset_size = check_positive_int("dataset_size", dataset_size)
    feed = _attach_feed(scheduler, dataset_size,
                        strategy.num_replicas_in_sync if strategy else 1)
    wants_epoch = _takes_two_arguments(dataset_fn)
    restarting = []  # found while `one_epoch` is traced

    def one_epoch(epoch, global_batch, skip):
        batches = dataset_fn(global_batch, epoch) if wants_epoch else dataset_fn(global_batch)
        if not isinstance(batches, tf.data.Dataset):
            raise ValueError(
                "Argument `dataset_fn` must return a tf.data.Dataset of global batches. "
                f"Received: dataset_fn(global_batch_size) = {batches!r}")
        restarting.extend(_restarting_random_ops(tf.compat.v1.get_default_graph()))
        return batches.map(lambda *batch: _check_rows(batch, global_batch)).apply(
            tf.data.experimental.assert_cardinality(dataset_size // global_batch)).skip(skip)

    dataset = _epochs(feed, one_epoch).prefetch(tf.data.AUTOTUNE)
    if restarting:
        warnings.warn(
            f"Argument `dataset_fn` creates random ops ({', '.join(restarting)}) and is "
            "rebuilt every epoch, so they restart each epoch: with a seed, or after "
            "keras.utils.set_random_seed, every epoch repeats the first one's order and "
            "augmentation. Shuffle and augment in a dataset built outside dataset_fn "
            "(`examples = ...shuffle(n); dataset_fn = lambda b: examples.batch(b, "
            "drop_remainder=True)`), or derive the randomness from the epoch "
            "(`dataset_fn(global_batch_size, epoch)` with tf.random.stateless_* ops).",
            stacklevel=2)
    return dataset


# Random ops that draw from a kernel created with the dataset: rebuilt each
# epoch, they restart from their seeds (stateless ops, `tf.random.Generator`
# and Keras seed generators keep their state outside and are not listed).
_RESTARTING_RANDOM_OPS = frozenset({
    "ShuffleDataset", "ShuffleDatasetV2", "ShuffleDatasetV3", "ShuffleAndRepeatDataset",
    "ShuffleAndRepeatDatasetV2", "RandomDataset", "RandomDatasetV2", "RandomUniform",
    "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal", "RandomShuffle",
    "Multinomial", "RandomGamma", "RandomPoisson", "RandomPoissonV2",
    "ParameterizedTruncatedNormal", "SampleDistortedBoundingBox", "SampleDistortedBoundingBoxV2",
})


def _restarting_random_ops(graph):
    """The `_RESTARTING_RANDOM_OPS` in `graph` (the traced `dataset_fn`) and its functions."""
    definition = graph.as_graph_def()
    ops = {node.op for node in definition.node} | {
        node.op for function in definition.library.function for node in function.node_def}
    return sorted(ops & _RESTARTING_RANDOM_OPS)


def _takes_two_arguments(function):
    """Whether `function(global_batch_size, epoch)` binds."""
    try:
        inspect.signature(function).bind(0, 0)
    except (TypeError, ValueError):
        return False
    return True


def _check_rows(batch, global_batch):
    """`batch` (a map's arguments) unchanged, after checking every leaf has `global_batch` rows."""
    checks = [
        tf.debugging.assert_equal(
            tf.shape(leaf, out_type=tf.int64)[0], global_batch,
            message="Argument `dataset_fn` must yield batches of exactly global_batch_size "
                    "examples (batch(global_batch_size, drop_remainder=True)); this batch's "
                    "leading dimension differs")
        for leaf in tf.nest.flatten(batch)]
    with tf.control_dependencies(checks):
        batch = tf.nest.map_structure(tf.identity, batch)
    return batch[0] if len(batch) == 1 else batch


def scheduled_source_dataset(scheduler, dataset_size, num_replicas, input_context,
                             epoch_examples):
    """`DataSource.scheduled_dataset`: per-replica batches of B_e / num_replicas in epoch e.

    ```
    epoch e, resumed k steps in (the feed's skip; 0 otherwise):
        global batches k, k + 1, ..., N // B_e - 1 of epoch e
        = epoch_examples(e, shard, B_e, k), cut into per-replica batches
    ```

    `epoch_examples(epoch, shard, global_batch, first_batch)` is the
    source's worker slice of one epoch from global batch `first_batch` on,
    unbatched (`_epoch_examples`): the source starts there itself, so the
    batches a resumed run already trained are never built (nothing is
    skipped here, after decoding). With an `input_context` each worker
    yields its slice of every global batch.
    """
    feed = _attach_feed(scheduler, dataset_size, num_replicas)
    shard, local_replicas = (0, 1), num_replicas
    if input_context is not None:
        shard = (input_context.input_pipeline_id, input_context.num_input_pipelines)
        local_replicas = num_replicas // shard[1]

    def one_epoch(epoch, global_batch, skip):
        worker_batch = global_batch // shard[1]
        examples = epoch_examples(epoch, shard, global_batch, skip)
        return examples.take((dataset_size // global_batch - skip) * worker_batch).batch(
            worker_batch // local_replicas, drop_remainder=True)

    return _epochs(feed, one_epoch).prefetch(tf.data.AUTOTUNE)


def array_epoch_examples(x, y, seed, epoch, shard, global_batch_size, first_batch=0):
    """Worker `shard[0]`'s examples of `epoch` of in-memory arrays, unbatched (`order.py`).

    Global batches `first_batch`, ..., N // B - 1 of the epoch: the index
    range starts at `first_batch`, so earlier batches are never gathered.
    `epoch`, `global_batch_size` and `first_batch` are int64 scalars.
    """
    x_all, y_all = tf.constant(x), tf.constant(y)
    count = len(x)

    def batch_slice(index):  # global batch `index` of the epoch, worker shard[0]'s slice
        rows = order.tf_batch_rows(seed, epoch, index, count, global_batch_size, shard)
        return tf.gather(x_all, rows), tf.gather(y_all, rows)

    return tf.data.Dataset.range(first_batch, count // global_batch_size).map(
        batch_slice, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()


def array_spec(x, y):
    """The element spec of one `(x, y)` example of arrays `x`, `y`."""
    return (tf.TensorSpec(x.shape[1:], tf.as_dtype(x.dtype)),
            tf.TensorSpec(y.shape[1:], tf.as_dtype(y.dtype)))


def image_spec(image_size):
    """The element spec of uint8 RGB images of side `image_size` with int64 labels."""
    return (tf.TensorSpec((image_size, image_size, 3), tf.uint8), tf.TensorSpec((), tf.int64))


def random_images(size, image_size, num_classes, seed):
    """A dataset of one batch of `size` random uint8 images and labels in
    `[0, num_classes)`, a pure function of `seed`, generated once (cached)."""

    def generate(_):
        key = tf.constant([seed, 0], tf.int64)
        shape = tf.stack([tf.cast(size, tf.int64), image_size, image_size, 3])
        x = tf.random.stateless_uniform(shape, key, minval=0, maxval=256, dtype=tf.int32)
        y = tf.random.stateless_uniform(shape[:1], tf.constant([seed, 1], tf.int64), minval=0,
                                        maxval=num_classes, dtype=tf.int64)
        return tf.cast(x, tf.uint8), y

    return tf.data.Dataset.from_tensors(0).map(generate).cache()


def one_pass(pool, count, global_batch_size):
    """`count` examples in global batches cut from `pool` (a one-batch
    dataset of at least `min(global_batch_size, count)` rows): the full
    batches, then the rest."""
    dataset = pool.repeat(count // global_batch_size)
    rest = count % global_batch_size
    if rest:
        dataset = dataset.concatenate(pool.map(lambda x, y: (x[:rest], y[:rest])))
    return dataset
