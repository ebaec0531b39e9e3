"""`from_dataset_fn`: your own tf.data pipeline as a `DataSource`.

```
dataset_fn(split, global_batch_size, *, input_context=None, seed=0, start_step=0)
    -> tf.data.Dataset of (x, y) batches
```

The factory declares the keyword arguments it handles; the adapter does the
job of each one it does not take:

```
input_context  taken: the factory shards per worker and batches per replica
               (`input_context.get_per_replica_batch_size(B)`), as in
               `strategy.distribute_datasets_from_function`.
               not taken: it yields whole global batches of B rows; worker w
               of W keeps rows [w B / W, (w + 1) B / W) of each, cut into
               per-replica batches, so step t sees global batch t.
seed           not taken: the factory's order is its own.
start_step     taken: the factory returns the endless training stream from
               global step start_step on (a one-epoch dataset would be
               repeated from that step again).
               not taken: a resumed run skips the first start_step batches
               of the stream (exact when the stream is deterministic; they
               are read, not trained on).
```

Batches of another size than the one asked for are dropped: a factory
that ignores `global_batch_size` (or, taking `input_context`, the
per-replica size) yields nothing to train on. A factory with `**kwargs`
is taken to handle all three arguments.

Training ("train"): the factory's dataset is one epoch or endless; the
adapter keeps its full batches (B rows; a partial last batch is dropped) and
repeats it, so `fit` with `steps_per_epoch = N // B` always finds a next
batch. Evaluation ("test", "validation"): one ordered pass of whole global
batches, the last one partial allowed.

On the JAX and PyTorch backends (keras.distribution) the same pipeline is
read as numpy batches when TensorFlow is installed (`batches`).
"""

from keras_bigbatch.data import _factories
from keras_bigbatch.data.source import NUMPY_BATCHES
from keras_bigbatch.data.source import DataSource

_OPTIONAL = ("input_context", "seed", "start_step")


class DatasetFunctionSource(DataSource):
    """A tf.data factory as a `DataSource` (see the module docstring and `from_dataset_fn`)."""

    features = frozenset({NUMPY_BATCHES})

    def __init__(self, dataset_fn, num_examples, *, num_classes=None, name="dataset_fn"):
        if not callable(dataset_fn):
            raise ValueError("Argument `dataset_fn` must be a function "
                             "(split, global_batch_size, **options) -> tf.data.Dataset. "
                             f"Received: dataset_fn={dataset_fn!r}")
        self.name = name
        self._function = dataset_fn
        self._takes = _factories.declared(dataset_fn, _OPTIONAL)
        self._counts = _factories.example_counts(num_examples)
        self._num_classes = num_classes
        self._spec = None

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

    @property
    def element_spec(self):
        """One example's `(x_spec, y_spec)`, read off the factory's training dataset."""
        if self._spec is None:
            batches = _factories.call(self._function, self._takes, "train", 2)
            self._spec = tuple(_unbatched(spec, "dataset_fn") for spec in batches.element_spec)
        return self._spec

    def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
        from keras_bigbatch.data import _global_batches

        if not training:
            return _factories.call(self._function, self._takes, split, global_batch_size)
        takes_context = "input_context" in self._takes
        context = _context(shard, global_batch_size // batch) if takes_context else None
        dataset = _factories.call(self._function, self._takes, split, global_batch_size,
                                  input_context=context, seed=seed, start_step=start_step)
        rows = batch if takes_context else global_batch_size  # what one element holds
        dataset = _global_batches.full_batches(dataset, rows).repeat()
        if start_step and "start_step" not in self._takes:
            # per-replica elements under a context: start_step global batches each
            dataset = dataset.skip(start_step * (global_batch_size // shard[1] // rows or 1))
        if takes_context:  # the factory already cut this worker's per-replica batches
            return _global_batches.for_replicas(dataset, batch, (0, 1), batch)
        return _global_batches.for_replicas(dataset, global_batch_size, shard, batch)

    def _batches(self, split, global_batch_size, shard, seed, training, start_step):
        batch = global_batch_size // shard[1]
        dataset = self._dataset(split, global_batch_size, shard, batch, seed, training,
                                start_step)
        return dataset.as_numpy_iterator()


def from_dataset_fn(dataset_fn, num_examples, *, num_classes=None, name="dataset_fn"):
    """Your tf.data pipeline as a data source for `training.train(config, data=...)`.

    Args:
        dataset_fn: `(split, global_batch_size, *, input_context=None, seed=0,
            start_step=0) -> tf.data.Dataset` of `(x, y)` batches; it takes
            the keyword arguments it handles (see the module docstring).
        num_examples: the training split's example count, or
            `{"train": N, "test": M}`: the splits it has (steps per epoch =
            N // global batch).
        num_classes: the number of classes (needed by the registered models,
            not by your own model).
        name: the source's name in logs and errors.

    Returns:
        A `DatasetFunctionSource`.
    """
    return DatasetFunctionSource(dataset_fn, num_examples, num_classes=num_classes, name=name)


def _unbatched(spec, argument):
    if spec.shape.rank is None or spec.shape.rank < 1:
        raise ValueError(f"Argument `{argument}` must yield batches (x, y) with a batch "
                         f"dimension. Received an element of spec {spec}")
    return type(spec)(spec.shape[1:], spec.dtype)


def _context(shard, replicas):
    import tensorflow as tf

    return tf.distribute.InputContext(num_input_pipelines=shard[1],
                                      input_pipeline_id=shard[0],
                                      num_replicas_in_sync=replicas)
