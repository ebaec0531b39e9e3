"""`from_generator`: a Python generator of numpy batches as a `DataSource`.

```
generator_fn(split, global_batch_size, *, epoch=0, seed=0)
    -> an iterable of numpy (x, y) batches: one pass over the split
```

Training: epoch e is `generator_fn("train", B, epoch=e, seed=seed)` (each
keyword only if the function takes it); its first N // B batches, each of
exactly B rows, are the epoch's steps (N: the declared training examples).
A pass that yields fewer, or a batch of another size before them, stops
training with an error naming the epoch and the counts: it never silently
trains short or wraps into the next epoch. A run resumed at step t calls
epoch t // (N // B) and skips the first t mod (N // B) batches.
Evaluation: one pass, the last batch partial allowed.

Numpy batches feed JAX and PyTorch (keras.distribution: worker w of W
takes rows [w B / W, (w + 1) B / W) of every global batch); on TensorFlow
the same stream goes through `tf.data.Dataset.from_generator`.
"""

import itertools

import numpy as np

from keras_bigbatch.data import _factories
from keras_bigbatch.data.source import NUMPY_BATCHES
from keras_bigbatch.data.source import DataSource

_OPTIONAL = ("epoch", "seed")


class GeneratorSource(DataSource):
    """A generator function as a `DataSource` (see the module docstring and `from_generator`)."""

    features = frozenset({NUMPY_BATCHES})

    def __init__(self, generator_fn, num_examples, *, num_classes=None, name="generator"):
        if not callable(generator_fn):
            raise ValueError("Argument `generator_fn` must be a function "
                             "(split, global_batch_size, **options) -> iterable of numpy "
                             f"(x, y) batches. Received: generator_fn={generator_fn!r}")
        self.name = name
        self._function = generator_fn
        self._takes = _factories.declared(generator_fn, _OPTIONAL)
        self._counts = _factories.example_counts(num_examples)
        self._num_classes = num_classes
        self._first = None

    def num_examples(self, split):
        if split not in self._counts:
            raise ValueError(f"Data source {self.name!r} has no {split!r} split (its "
                             f"num_examples names {sorted(self._counts)}). Received: "
                             f"split={split!r}")
        return self._counts[split]

    def has_split(self, split):
        return split in self._counts

    @property
    def num_classes(self):
        return _factories.check_classes(self._num_classes, self.name)

    def _first_batch(self):
        if self._first is None:
            batches = iter(_factories.call(self._function, self._takes, "train", 2,
                                           epoch=0, seed=0))
            try:
                x, y = next(batches)
            except StopIteration:
                raise ValueError(f"Argument `generator_fn` of data source {self.name!r} "
                                 "yielded no training batch.") from None
            self._first = (np.asarray(x), np.asarray(y))
        return self._first

    def example_shape(self):
        return tuple(self._first_batch()[0].shape[1:])

    @property
    def element_spec(self):
        from keras_bigbatch.data import _global_batches

        return tuple(_global_batches.tensor_spec(a.shape[1:], a.dtype)
                     for a in self._first_batch())

    def _stream(self, split, global_batch_size, seed, start_step):
        """The training steps from `start_step` on, epoch after epoch (checked)."""
        steps = self.num_examples(split) // global_batch_size
        for epoch in itertools.count(start_step // steps):
            batches = iter(_factories.call(self._function, self._takes, split,
                                           global_batch_size, epoch=epoch, seed=seed))
            skip = start_step % steps if epoch == start_step // steps else 0
            for index in range(steps):
                batch = next(batches, None)
                if batch is None or len(batch[1]) != global_batch_size:
                    raise ValueError(_short(self, epoch, index, batch, steps,
                                            global_batch_size))
                if index >= skip:
                    yield np.asarray(batch[0]), np.asarray(batch[1])

    def _batches(self, split, global_batch_size, shard, seed, training, start_step):
        if not training:
            return ((np.asarray(x), np.asarray(y)) for x, y in _factories.call(
                self._function, self._takes, split, global_batch_size, epoch=0, seed=seed))
        worker, workers = shard
        rows = global_batch_size // workers
        return ((x[worker * rows:(worker + 1) * rows], y[worker * rows:(worker + 1) * rows])
                for x, y in self._stream(split, global_batch_size, seed, start_step))

    def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
        from keras_bigbatch.data import _global_batches

        spec = self.element_spec
        if not training:
            return _global_batches.from_numpy(
                lambda: self._batches(split, global_batch_size, (0, 1), seed, False, 0), spec)
        dataset = _global_batches.from_numpy(
            lambda: self._stream(split, global_batch_size, seed, start_step), spec)
        return _global_batches.for_replicas(dataset, global_batch_size, shard, batch)


def _short(source, epoch, index, batch, steps, global_batch_size):
    got = "ended" if batch is None else f"yielded a batch of {len(batch[1])} rows"
    return (f"Data generator of source {source.name!r} ran short: in epoch {epoch} it {got} "
            f"after {index} full batches of {global_batch_size}, but num_examples['train'] = "
            f"{source.num_examples('train')} needs {steps} per epoch. Yield full batches of "
            "`global_batch_size` rows, or declare the examples one pass really holds.")


def from_generator(generator_fn, num_examples, *, num_classes=None, name="generator"):
    """A Python generator of numpy batches as a data source for `training.train(config, data=...)`.

    Args:
        generator_fn: `(split, global_batch_size, *, epoch=0, seed=0) ->`
            an iterable of numpy `(x, y)` batches, one pass over the split
            (see the module docstring).
        num_examples: the training split's example count, or
            `{"train": N, "test": M}`: the splits it has.
        num_classes: the number of classes (needed by the registered models).
        name: the source's name in logs and errors.

    Returns:
        A `GeneratorSource`.
    """
    return GeneratorSource(generator_fn, num_examples, num_classes=num_classes, name=name)
