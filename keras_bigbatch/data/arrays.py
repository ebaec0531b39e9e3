"""`ArraySource`: a data source held in memory as numpy arrays."""

import functools

import numpy as np

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.data.source import DataSource
from keras_bigbatch.data.source import epoch_order


class ArraySource(DataSource):
    """In-memory train/test arrays as a `DataSource`.

    Training batches are gathered by index from the stateless per-epoch
    permutation of `make_dataset` (`tf.random.experimental.index_shuffle`
    keyed by (seed, epoch)), so batch t is the same under every strategy and
    after any restart. `batches` (JAX, PyTorch) gathers them from numpy's
    permutation `epoch_order(seed, epoch)` instead.

    Args:
        name: the source's name.
        train: `(x, y)` training arrays, first axis = examples.
        test: `(x, y)` test arrays.
        num_classes: number of classes (default: 1 + the largest label).
        validation: `(x, y)` validation arrays, or None (see `hold_out`).
    """

    def __init__(self, name, train, test, num_classes=None, validation=None):
        self.name = name
        self._arrays = {"train": tuple(map(_read_only, train)), "test": tuple(map(_read_only, test))}
        if validation is not None:
            self._arrays["validation"] = tuple(map(_read_only, validation))
        for x, y in self._arrays.values():
            check_examples(x, y)
        if num_classes is None:
            num_classes = int(max(y.max(initial=0) for _, y in self._arrays.values())) + 1
        self._num_classes = num_classes

    def arrays(self, split):
        """`(x, y)` of `split`, as numpy arrays."""
        return self._arrays[split]

    def num_examples(self, split):
        if split not in self._arrays:
            raise ValueError(f"Data source {self.name!r} has no {split!r} split; it has "
                             f"{sorted(self._arrays)}. Received: split={split!r}")
        return len(self._arrays[split][0])

    def has_split(self, split):
        return split in self._arrays

    def hold_out(self, count):
        """See `DataSource.hold_out`: examples `permutation(seed 0)[:count]`
        of the training split become the "validation" split."""
        check_positive_int("validation_examples", count)
        total = self.num_examples("train")
        if count >= total:
            raise ValueError(
                f"Argument `evaluation.validation_examples` ({count}) must be smaller than "
                f"the training split of {self.name!r} ({total} examples). "
                f"Received: validation_examples={count}")
        return _held_out(self, count)

    @property
    def num_classes(self):
        return self._num_classes

    def example_shape(self):
        return tuple(self._arrays["train"][0].shape[1:])

    @property
    def element_spec(self):
        import tensorflow as tf

        x, y = self._arrays["train"]
        return (tf.TensorSpec(x.shape[1:], tf.as_dtype(x.dtype)),
                tf.TensorSpec(y.shape[1:], tf.as_dtype(y.dtype)))

    def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
        from keras_bigbatch.data.pipeline import make_dataset

        x, y = self._arrays[split]
        if not training:
            # Evaluation: whole global batches in order; tf.distribute splits them.
            return make_dataset(x, y, global_batch_size, shuffle=False, drop_remainder=False)
        dataset = make_dataset(x, y, global_batch_size, seed=seed, repeat=True,
                               shard=shard if shard[1] > 1 else None, start_step=start_step)
        slice_size = global_batch_size // shard[1]
        return dataset if batch == slice_size else dataset.rebatch(batch)

    def _batches(self, split, global_batch_size, shard, seed, training, start_step):
        x, y = self._arrays[split]
        if not training:  # one ordered pass, the last batch partial
            return ((x[i:i + global_batch_size], y[i:i + global_batch_size])
                    for i in range(0, len(x), global_batch_size))
        return _training_batches(x, y, global_batch_size, shard, seed, start_step)

    def _epoch_examples(self, seed, epoch, shard, global_batch_size):
        import tensorflow as tf

        x, y = self._arrays["train"]
        x_all, y_all = tf.constant(x), tf.constant(y)
        count = len(x)
        worker_batch = global_batch_size // shard[1]
        key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])

        def batch_slice(step):
            # global batch `step` of the epoch's permutation, worker shard[0]'s slice
            start = step * global_batch_size + shard[0] * worker_batch
            positions = tf.random.experimental.index_shuffle(
                tf.range(start, start + worker_batch), seed=key, max_index=count - 1)
            return tf.gather(x_all, positions), tf.gather(y_all, positions)

        steps = count // global_batch_size
        return tf.data.Dataset.range(steps).map(
            batch_slice, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()


def _training_batches(x, y, global_batch_size, shard, seed, start_step):
    """Worker `shard[0]`'s slice of global batches `start_step`, `start_step + 1`, ...

    ```
    global batch t = examples epoch_order(seed, t // S)[(t % S) B : (t % S + 1) B]
    worker w of W  = rows [w B / W, (w + 1) B / W) of it
    ```
    """
    count, steps = len(x), len(x) // global_batch_size
    part = global_batch_size // shard[1]
    step, epoch, order = start_step, None, None
    while True:
        this_epoch, index = divmod(step, steps)
        if this_epoch != epoch:
            epoch, order = this_epoch, epoch_order(seed, this_epoch, count)
        start = index * global_batch_size + shard[0] * part
        rows = order[start:start + part]
        yield x[rows], y[rows]
        step += 1


@functools.lru_cache(maxsize=4)
def _held_out(source, count):  # cached: a run builds its source several times
    x, y = source.arrays("train")
    order = np.random.default_rng(0).permutation(len(x))
    held, kept = order[:count], np.sort(order[count:])
    return ArraySource(source.name, (x[kept], y[kept]), source.arrays("test"),
                       num_classes=source.num_classes, validation=(x[held], y[held]))


def take_examples(arrays, count, name):
    """The first `count` examples of every array in `arrays` (all for None).

    `name` is the argument's name in the error for a bad `count`.
    """
    if count is None:
        return tuple(arrays)
    check_positive_int(name, count)
    return tuple(a[:count] for a in arrays)


def check_examples(x, y):
    """Raises unless `x` and `y` hold the same number of examples."""
    if len(x) != len(y):
        raise ValueError(
            "Arguments `x` and `y` must have the same number of examples. "
            f"Received: len(x)={len(x)}, len(y)={len(y)}"
        )


def _read_only(array):
    """A read-only view of `array` (sources are cached and shared between runs)."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view
