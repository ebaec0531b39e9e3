"""`DataSource`: what the trainer needs to know about a data set.

A source knows its size, its classes and the shape of one example, and builds
`tf.data` pipelines from the *global* batch size:

```
dataset(split, global_batch_size, input_context=None, seed, start_step)

training (split "train"): endless, shuffled, only full global batches;
    global batch t holds examples  perm(seed, t // S)[(t % S) * B : (t % S + 1) * B]
    (S = steps per epoch, B = global batch): a pure function of (seed, t),
    so a run can start at any step (`start_step`) and see what an
    uninterrupted run would have seen.
with `input_context` (tf.distribute): worker w of W yields slice w of every
    global batch, cut into per-replica batches of B / num_replicas_in_sync,
    so over all replicas step t sees exactly global batch t.
evaluation (split "test" or "validation", or training=False): one pass in
    order, the last partial batch kept.
validation: only on a source from `hold_out(count)`, which moves a fixed
    draw of `count` training examples into a "validation" split.
```

Subclasses implement `num_examples`, `num_classes`, `element_spec` and
`_dataset` (see `ArraySource`); `dataset` needs TensorFlow, like everything
that builds `tf.data` pipelines.

`batches(split, global_batch_size, shard=(w, W), seed, start_step)` yields the
same kind of batches as numpy arrays, for the trainer on JAX and PyTorch
(no TensorFlow): worker w of W gets rows `[w B / W, (w + 1) B / W)` of every
global batch, and global batch t is again a pure function of (seed, t). Its
per-epoch permutation is numpy's (`np.random.default_rng([seed, epoch])`),
not `tf.random.experimental.index_shuffle`: the same seed orders the data
differently on TensorFlow than on the other backends. Sources that support it
implement `_batches` (`ArraySource`, `SyntheticSource`).
"""

import numpy as np

from keras_bigbatch import durations
from keras_bigbatch.arguments import check_non_negative_int
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.distribute.batching import per_replica_batch_size

SPLITS = ("train", "validation", "test")


class DataSource:
    """Base class of the trainer's data sources.

    Attributes:
        name: the registered name (`"fashion_mnist"`, ...).
    """

    name = "source"

    def num_examples(self, split):
        """Examples in `split` ("train", "test"; "validation" after `hold_out`)."""
        raise NotImplementedError

    def hold_out(self, count):
        """This source with `count` training examples moved to a "validation" split.

        The held-out examples are a fixed draw (the same for every run seed,
        so tuner trials are compared on the same examples); the training split
        keeps the others in their order.

        Raises:
            ValueError: the source cannot hold examples out (only in-memory
                sources can), or `count` leaves no training example.
        """
        raise ValueError(
            f"Data source {self.name!r} cannot hold out a validation split "
            f"(evaluation.validation_examples={count}): only in-memory sources "
            "(ArraySource: fashion_mnist, digits) can. Use one of those, or "
            "evaluation.validation_examples=0.")

    def has_split(self, split):
        """Whether `dataset(split, ...)` can be built."""
        return split in ("train", "test")

    @property
    def num_classes(self):
        raise NotImplementedError

    @property
    def element_spec(self):
        """`(x_spec, y_spec)` of one example, without the batch dimension."""
        raise NotImplementedError

    def example_shape(self):
        """The shape of one input example, without the batch dimension."""
        return tuple(self.element_spec[0].shape)

    def steps_per_epoch(self, global_batch_size):
        """Training steps per epoch (full global batches only); > 0 or an error."""
        return durations.check_steps_per_epoch(self.num_examples("train"), global_batch_size)

    def dataset(self, split, global_batch_size, input_context=None, *, seed=0,
                training=None, start_step=0):
        """A `tf.data.Dataset` of `(x, y)` batches of `split`.

        Args:
            split: "train" or "test".
            global_batch_size: examples per step summed over all replicas.
            input_context: a `tf.distribute.InputContext` (from
                `strategy.distribute_datasets_from_function`): shard per
                worker and batch per replica (training only). None: whole
                global batches.
            seed: seed of the per-epoch permutation (training only).
            training: endless shuffled full batches (default for "train")
                or one ordered pass (default for "test").
            start_step: first global step to yield (training only): the
                dataset then continues exactly where a run that already made
                `start_step` updates would be.

        Raises:
            ValueError: unknown split, a global batch the replicas (or
                workers) do not divide, a global batch larger than the
                training set, `start_step` < 0, or `input_context` or
                `start_step` on an evaluation dataset.
        """
        if split not in SPLITS:
            raise ValueError(f"Argument `split` must be one of {SPLITS}. Received: split={split!r}")
        if not self.has_split(split):
            raise ValueError(
                f"Data source {self.name!r} has no {split!r} split: `hold_out(count)` "
                "(config: evaluation.validation_examples) makes one. Received: "
                f"split={split!r}")
        check_positive_int("global_batch_size", global_batch_size)
        check_non_negative_int("start_step", start_step)
        training = split == "train" if training is None else training
        shard, batch = (0, 1), global_batch_size
        if input_context is not None:
            per_replica_batch_size(global_batch_size, input_context.num_replicas_in_sync)
            shard = (input_context.input_pipeline_id, input_context.num_input_pipelines)
            batch = input_context.get_per_replica_batch_size(global_batch_size)
        if training:
            self.steps_per_epoch(global_batch_size)
        elif input_context is not None:
            raise ValueError(
                "Argument `input_context` applies to training datasets only: an "
                "evaluation dataset yields whole global batches, which "
                "`strategy.experimental_distribute_dataset` splits. "
                f"Received: input_context={input_context!r}, training=False")
        elif start_step:
            raise ValueError("Argument `start_step` applies to training datasets only. "
                             f"Received: start_step={start_step}, training=False")
        return self._dataset(split, global_batch_size, shard, batch, seed, training, start_step)

    def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
        """Builds the pipeline; arguments already checked (see `dataset`)."""
        raise NotImplementedError

    def batches(self, split, global_batch_size, *, shard=(0, 1), seed=0, training=None,
                start_step=0):
        """Numpy `(x, y)` batches of `split`, without TensorFlow (see the module docstring).

        Args:
            split: "train", "test" or "validation".
            global_batch_size: examples per step over all workers.
            shard: `(worker, workers)`: this process yields its slice of
                `global_batch_size / workers` rows of every global batch
                (training only; keras.distribution cuts it per device).
            seed: seed of the per-epoch permutation (training only).
            training: an endless generator of shuffled full batches (default
                for "train"), or a re-iterable `Batches`: one ordered pass,
                the last batch partial (default otherwise).
            start_step: first global step to yield (training only).

        Raises:
            ValueError: as `dataset`; also a `shard` whose worker count does not
                divide the global batch, or a source without numpy batches.
        """
        if split not in SPLITS:
            raise ValueError(f"Argument `split` must be one of {SPLITS}. Received: split={split!r}")
        if not self.has_split(split):
            raise ValueError(f"Data source {self.name!r} has no {split!r} split. "
                             f"Received: split={split!r}")
        check_positive_int("global_batch_size", global_batch_size)
        check_non_negative_int("start_step", start_step)
        check_non_negative_int("seed", seed)
        if (not isinstance(shard, (tuple, list)) or len(shard) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) for v in shard)
                or not 0 <= shard[0] < shard[1]):
            raise ValueError(f"Argument `shard` must be (worker, workers), ints with 0 <= "
                             f"worker < workers. Received: shard={shard!r}")
        workers = shard[1]
        training = split == "train" if training is None else training
        if training:
            durations.check_steps_per_epoch(self.num_examples(split), global_batch_size)
            per_replica_batch_size(global_batch_size, workers)
        elif workers > 1 or start_step:
            raise ValueError(
                "Arguments `shard` and `start_step` apply to training batches only: "
                "evaluation yields whole global batches in order. "
                f"Received: shard={shard!r}, start_step={start_step}, training=False")
        if type(self)._batches is DataSource._batches:
            raise ValueError(
                f"Data source {self.name!r} builds tf.data pipelines only (it needs the "
                "TensorFlow backend); numpy batches for JAX and PyTorch come from "
                "in-memory sources (fashion_mnist, digits) and synthetic.")
        if training:
            return self._batches(split, global_batch_size, shard, seed, True, start_step)
        return Batches(lambda: self._batches(split, global_batch_size, shard, seed, False, 0))

    def _batches(self, split, global_batch_size, shard, seed, training, start_step):
        """A generator of numpy batches; arguments already checked (see `batches`)."""
        raise NotImplementedError

    def scheduled_dataset(self, scheduler, num_replicas, input_context=None, *, seed=0):
        """Training batches whose global batch size follows a `BatchSizeScheduler`.

        ```
        epoch e (one iterator; Keras opens one per epoch without steps_per_epoch):
            B_e   = scheduler.schedule(e)            (read once, from the feed)
            steps = N // B_e    batches of B_e / num_replicas per replica
        ```

        The callback writes (e, B_e) into the feed at `on_epoch_begin`, so one
        `fit` runs the whole batch-size schedule (see
        `keras_bigbatch.callbacks.BatchSizeScheduler`). With an
        `input_context` each worker yields its slice of every global batch,
        cut into per-replica batches, as in `dataset`. Sources implement
        `_epoch_examples`.

        Args:
            scheduler: the `BatchSizeScheduler` also passed to `fit`.
            num_replicas: replicas in sync; must divide every scheduled batch.
            input_context: a `tf.distribute.InputContext` or None.
            seed: the data-order seed.
        """
        import tensorflow as tf

        from keras_bigbatch.data.scheduled import ScheduleFeed

        self.check_batch_size_schedules()
        count = self.num_examples("train")
        scheduler.schedule.check(count, num_replicas)
        feed = ScheduleFeed(count, num_replicas, scheduler.schedule(0))
        scheduler.attach_feed(feed)
        shard, local_replicas = (0, 1), num_replicas
        if input_context is not None:
            shard = (input_context.input_pipeline_id, input_context.num_input_pipelines)
            local_replicas = num_replicas // shard[1]

        def one_epoch(_):
            epoch = feed.epoch.read_value()  # read once per iterator: one batch size per epoch
            global_batch = feed.batch_size.read_value()
            worker_batch = global_batch // shard[1]
            skip = feed.skip.read_value() * local_replicas  # a resumed epoch's steps done
            examples = self._epoch_examples(seed, epoch, shard, global_batch)
            return examples.take((count // global_batch) * worker_batch).batch(
                worker_batch // local_replicas, drop_remainder=True).skip(skip)

        return tf.data.Dataset.range(1).flat_map(one_epoch).prefetch(tf.data.AUTOTUNE)

    def check_batch_size_schedules(self):
        """Raises `ValueError` unless the source supports `scheduled_dataset`."""
        if type(self)._epoch_examples is DataSource._epoch_examples:
            raise ValueError(
                f"Data source {self.name!r} does not support batch-size schedules "
                "(batch_growth.enabled=true): it implements no _epoch_examples.")

    def _epoch_examples(self, seed, epoch, shard, global_batch_size):
        """Worker `shard[0]` of `shard[1]`'s training examples of `epoch`, unbatched.

        `epoch` and `global_batch_size` are scalar int64 tensors. The stream
        must hold at least `(N // B) * B / workers` examples, in the order the
        worker's slices of global batches 0, 1, ... of the epoch are cut.
        Sources without it do not support batch-size schedules.
        """
        raise NotImplementedError(
            f"Data source {self.name!r} does not support batch-size schedules "
            "(batch_growth); it implements no _epoch_examples.")

    def __repr__(self):
        return (f"{type(self).__name__}(name={self.name!r}, train={self.num_examples('train')}, "
                f"test={self.num_examples('test')}, classes={self.num_classes})")


class Batches:
    """One ordered pass over an evaluation split, as often as it is iterated."""

    def __init__(self, generate):
        self._generate = generate

    def __iter__(self):
        return iter(self._generate())


def epoch_order(seed, epoch, count):
    """The training permutation of `epoch`: `np.random.default_rng([seed, epoch])`."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(count)
