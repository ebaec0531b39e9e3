"""`DataSource`: what the trainer needs to know about a data set.

A source knows its size, its classes and the shape of one example, and builds
batches from the *global* batch size; it holds no tf.data code (`pipeline.py`
builds the pipelines):

```
dataset(split, global_batch_size, input_context=None, seed, start_step)
                       a tf.data.Dataset (every source)
batches(split, global_batch_size, shard=(w, W), seed, start_step)
                       numpy batches, for the trainer on JAX and PyTorch (no
                       TensorFlow); sources that declare NUMPY_BATCHES
scheduled_dataset(scheduler, num_replicas, input_context, seed)
                       training batches whose size follows a batch-size
                       schedule; sources that declare BATCH_SIZE_SCHEDULES

training (split "train"): endless, shuffled, only full global batches; global
    batch t is a pure function of (seed, t) (the order: `order.py`), so a run
    can start at any step (`start_step`) and see what an uninterrupted run
    would have seen.
with `input_context` (tf.distribute): worker w of W yields slice w of every
    global batch, cut into per-replica batches of B / num_replicas_in_sync,
    so over all replicas step t sees exactly global batch t.
with `shard=(w, W)` (numpy batches): worker w of W gets rows
    [w B / W, (w + 1) B / W) of every global batch.
evaluation (split "test" or "validation", or training=False): one pass in
    order, the last partial batch kept.
validation: only on a source from `hold_out(count)`, which moves a fixed
    draw of `count` training examples into a "validation" split.
```

What a source supports is declared in its `features` (never inferred):
`NUMPY_BATCHES` (it implements `_batches`) and `BATCH_SIZE_SCHEDULES` (it
implements `_epoch_examples`). Every source implements `num_examples`,
`num_classes`, `element_spec` and `_dataset` (see `ArraySource`); the
arguments of `dataset` and `batches` are checked here, once, before a hook
is called.
"""

from keras_bigbatch import durations
from keras_bigbatch.data._checks import check_request
from keras_bigbatch.data._checks import check_shard

NUMPY_BATCHES = "numpy_batches"
BATCH_SIZE_SCHEDULES = "batch_size_schedules"
FEATURES = (NUMPY_BATCHES, BATCH_SIZE_SCHEDULES)


class DataSource:
    """Base class of the trainer's data sources.

    Attributes:
        name: the registered name (`"fashion_mnist"`, ...).
        features: what the source supports beyond tf.data `dataset`, a
            frozenset of `FEATURES` (see the module docstring).
    """

    name = "source"
    features = frozenset()

    def supports(self, feature):
        """Whether the source declares `feature` (one of `FEATURES`)."""
        if feature not in FEATURES:
            raise ValueError(
                f"Argument `feature` must be one of {FEATURES}. Received: feature={feature!r}")
        return feature in self.features

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
                training set, `seed` or `start_step` < 0, or `input_context`
                or `start_step` on an evaluation dataset.
        """
        shard, replicas, distributed = (0, 1), 1, None
        if input_context is not None:
            shard = (input_context.input_pipeline_id, input_context.num_input_pipelines)
            replicas = input_context.num_replicas_in_sync
            distributed = ("input_context", input_context)
        training = check_request(self, split, global_batch_size, seed=seed, training=training,
                                 start_step=start_step, replicas=replicas,
                                 distributed=distributed)
        batch = global_batch_size // replicas  # per replica
        return self._dataset(split, global_batch_size, shard, batch, seed, training, start_step)

    def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
        """Builds the pipeline; arguments already checked (see `dataset`).

        Training: worker `shard[0]` of `shard[1]`'s slice of every global
        batch from step `start_step` on, in batches of `batch` (per replica).
        Evaluation: whole global batches in order.
        """
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
        shard = check_shard(shard)
        training = check_request(self, split, global_batch_size, seed=seed, training=training,
                                 start_step=start_step, replicas=shard[1],
                                 distributed=("shard", shard) if shard[1] > 1 else None)
        if not self.supports(NUMPY_BATCHES):
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
        resumed k steps into epoch e (`BatchSizeScheduler.resume_at`):
            global batches k, ..., N // B_e - 1 of epoch e, the same as an
            uninterrupted run's; batches 0..k-1 are not built (the source
            starts at batch k, `_epoch_examples(..., first_batch=k)`)
        ```

        The callback writes (e, B_e) into the feed at `on_epoch_begin`, so one
        `fit` runs the whole batch-size schedule (see
        `keras_bigbatch.callbacks.BatchSizeScheduler`). With an
        `input_context` each worker yields its slice of every global batch,
        cut into per-replica batches, as in `dataset`. Sources that declare
        `BATCH_SIZE_SCHEDULES` implement `_epoch_examples`.

        Args:
            scheduler: the `BatchSizeScheduler` also passed to `fit`.
            num_replicas: replicas in sync; must divide every scheduled batch.
            input_context: a `tf.distribute.InputContext` or None.
            seed: the data-order seed.
        """
        self.check_batch_size_schedules()
        from keras_bigbatch.data import pipeline

        return pipeline.scheduled_source_dataset(
            scheduler, self.num_examples("train"), num_replicas, input_context,
            lambda epoch, shard, global_batch, first_batch: self._epoch_examples(
                seed, epoch, shard, global_batch, first_batch))

    def check_batch_size_schedules(self):
        """Raises `ValueError` unless the source supports `scheduled_dataset`."""
        if not self.supports(BATCH_SIZE_SCHEDULES):
            raise ValueError(
                f"Data source {self.name!r} does not support batch-size schedules "
                "(batch_growth.enabled=true): its `features` do not include "
                "BATCH_SIZE_SCHEDULES (a source that implements `_epoch_examples` declares it).")

    def _epoch_examples(self, seed, epoch, shard, global_batch_size, first_batch):
        """Worker `shard[0]` of `shard[1]`'s training examples of `epoch`, unbatched.

        `epoch`, `global_batch_size` and `first_batch` are scalar int64
        tensors. The stream starts at global batch k = `first_batch` (a run
        resumed k steps into the epoch) and must hold at least
        `(N // B - k) * B / workers` examples, in the order the worker's
        slices of global batches k, k + 1, ... of the epoch are cut: what an
        uninterrupted epoch yields after its first k batches, without
        building (decoding) those. Only sources that declare
        `BATCH_SIZE_SCHEDULES` implement it.
        """
        raise NotImplementedError(
            f"Data source {self.name!r} does not support batch-size schedules "
            "(batch_growth); it implements no _epoch_examples.")

    def __repr__(self):
        splits = ", ".join(f"{split}={self.num_examples(split)}"
                           for split in ("train", "validation", "test") if self.has_split(split))
        try:
            classes = self.num_classes
        except ValueError:  # an adapter not told its classes
            classes = None
        return f"{type(self).__name__}(name={self.name!r}, {splits}, classes={classes})"


class Batches:
    """One ordered pass over an evaluation split, as often as it is iterated."""

    def __init__(self, generate):
        self._generate = generate

    def __iter__(self):
        return iter(self._generate())
