"""`ArraySource`: a data source held in memory as numpy arrays."""

import functools

import numpy as np

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.data import order
from keras_bigbatch.data._checks import check_examples
from keras_bigbatch.data.source import BATCH_SIZE_SCHEDULES
from keras_bigbatch.data.source import NUMPY_BATCHES
from keras_bigbatch.data.source import DataSource


class ArraySource(DataSource):
    """In-memory train/test arrays as a `DataSource`.

    Training batches are gathered by index in `order.py`'s order: global
    batch t is a pure function of (seed, t), the same under every strategy
    and after any restart. `dataset` and `scheduled_dataset` use its tf form
    (`index_shuffle` keyed by (seed, epoch), built by `pipeline.py`);
    `batches` (JAX, PyTorch) its numpy form (`epoch_permutation`).

    Args:
        name: the source's name.
        train: `(x, y)` training arrays, first axis = examples.
        test: `(x, y)` test arrays, or None (no test split).
        num_classes: number of classes (default: 1 + the largest label).
        validation: `(x, y)` validation arrays, or None (see `hold_out`).
    """

    features = frozenset({NUMPY_BATCHES, BATCH_SIZE_SCHEDULES})

    def __init__(self, name, train, test=None, num_classes=None, validation=None):
        self.name = name
        self._arrays = {"train": _pair("train", train)}
        if test is not None:
            self._arrays["test"] = _pair("test", test)
        if validation is not None:
            self._arrays["validation"] = _pair("validation", validation)
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
        from keras_bigbatch.data import pipeline

        return pipeline.array_spec(*self._arrays["train"])

    def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
        from keras_bigbatch.data import pipeline

        x, y = self._arrays[split]
        return pipeline.array_dataset(x, y, global_batch_size, shard, batch, seed, training,
                                      start_step)

    def _batches(self, split, global_batch_size, shard, seed, training, start_step):
        x, y = self._arrays[split]
        if not training:  # one ordered pass, the last batch partial
            return ((x[i:i + global_batch_size], y[i:i + global_batch_size])
                    for i in range(0, len(x), global_batch_size))
        rows = order.training_rows(seed, start_step, len(x), global_batch_size, shard)
        return ((x[r], y[r]) for r in rows)

    def _epoch_examples(self, seed, epoch, shard, global_batch_size, first_batch):
        from keras_bigbatch.data import pipeline

        x, y = self._arrays["train"]
        return pipeline.array_epoch_examples(x, y, seed, epoch, shard, global_batch_size,
                                             first_batch)


@functools.lru_cache(maxsize=4)
def _held_out(source, count):  # cached: a run builds its source several times
    x, y = source.arrays("train")
    draw = np.random.default_rng(0).permutation(len(x))
    held, kept = draw[:count], np.sort(draw[count:])
    return ArraySource(source.name, (x[kept], y[kept]), source._arrays.get("test"),
                       num_classes=source.num_classes, validation=(x[held], y[held]))


def take_examples(arrays, count, name):
    """The first `count` examples of every array in `arrays` (all for None).

    `name` is the argument's name in the error for a bad `count`.
    """
    if count is None:
        return tuple(arrays)
    check_positive_int(name, count)
    return tuple(a[:count] for a in arrays)


def from_arrays(train, test=None, *, validation=None, num_classes=None, name="arrays"):
    """Your numpy arrays as a data source for `training.train(config, data=...)`.

    Args:
        train: `(x, y)` training arrays, first axis = examples.
        test: `(x, y)` test arrays, or None.
        validation: `(x, y)` validation arrays, or None (the config's
            `evaluation.validation_examples` can also hold some out).
        num_classes: default 1 + the largest label.
        name: the source's name in logs and errors.

    Returns:
        An `ArraySource`: the package's own data order (exact resume) and
        every feature (numpy batches, batch-size schedules).
    """
    return ArraySource(name, train, test, num_classes=num_classes, validation=validation)


def _pair(split, arrays):
    if not isinstance(arrays, (tuple, list)) or len(arrays) != 2:
        raise ValueError(f"Argument `{split}` must be a pair (x, y) of arrays. "
                         f"Received: {split} of type {type(arrays).__name__}")
    return tuple(map(_read_only, arrays))


def _read_only(array):
    """A read-only view of `array` (sources are cached and shared between runs)."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view
