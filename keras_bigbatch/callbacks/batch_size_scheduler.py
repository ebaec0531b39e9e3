"""Changing the global batch size between epochs inside one `fit`."""

import warnings

import keras

from keras_bigbatch.callbacks._steps import optimizer_steps
from keras_bigbatch.distribute.batching import per_replica_batch_size
from keras_bigbatch.schedules.batch_size import BatchSizeSchedule

# Keras prints this when an epoch's iterator ends before the step count it
# remembered from the first epoch: with a growing batch that is by design.
_RAN_OUT = "Your input ran out of data"


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class BatchSizeScheduler(keras.callbacks.Callback):
    """Sets each epoch's global batch size from a `BatchSizeSchedule`.

    ```
    scheduler = BatchSizeScheduler({0: 128, 3: 640, 6: 3200})
    train = keras_bigbatch.data.make_scheduled_dataset(x, y, scheduler,
                                                       strategy=strategy)
    model.fit(train, epochs=8, callbacks=[scheduler])
    ```

    Your own tf.data pipeline, as a function of the global batch size:

    ```
    examples = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x)).map(augment)

    def pipeline(global_batch_size):  # rebuilt every epoch: shuffle outside it
        return examples.batch(global_batch_size, drop_remainder=True)

    train = keras_bigbatch.data.make_scheduled_dataset_from_function(
        pipeline, scheduler, len(x))
    ```

    At `on_epoch_begin(epoch)` the callback writes `epoch` and
    `schedule(epoch)` into the dataset's variables; Keras then opens a new
    iterator, which yields `N // schedule(epoch)` batches of exactly
    `schedule(epoch)` examples (the remainder of each epoch's permutation is
    dropped). One `fit` call runs the whole schedule, so learning-rate
    schedules, `optimizer.iterations`, `History` and every other callback
    continue across phases. `optimizer.iterations` counts the updates made,
    `sum(N // schedule(e))` over the epochs run: the epochs' datasets
    cannot report a length (it changes), so Keras on TensorFlow runs one
    more, empty, train call per epoch that increments the iterations; the
    callback takes that phantom step back at `on_epoch_end`, before the next
    update reads its learning rate.

    Why the batch size must not decrease: without `steps_per_epoch`, Keras
    runs the first epoch until the data ends and then never runs an epoch
    longer than that. Epochs of a growing batch are shorter and end when
    their data ends (exact); a shrinking batch would be cut short, so the
    schedule refuses it. Do not pass `steps_per_epoch` (the callback raises
    if you do). The "Your input ran out of data" warning Keras gives at the
    end of those shorter epochs is expected and silenced while this callback
    trains.

    The train function sees an unknown batch dimension, so TensorFlow
    traces it once for all batch sizes; JAX compiles once per distinct
    batch size. Under a `tf.distribute` strategy every batch size must be
    divisible by the replica count (checked when the dataset is built and
    again at each epoch's start, before any step runs).

    `logs["batch_size"]` holds each epoch's global batch size, and
    `history` the (epoch, batch size, steps) of every epoch run.

    Args:
        schedule: a `keras_bigbatch.schedules.BatchSizeSchedule`, or a dict
            `{first_epoch: global_batch_size}` / callable to build one.

    References:
        Smith, Kindermans & Le 2018, "Don't decay the learning rate,
        increase the batch size" (section 3).
        Gao & Zhong, section 3.2 (small batch in the first epoch):
        `BatchSizeSchedule.small_first_epoch`.
    """

    def __init__(self, schedule):
        super().__init__()
        self.schedule = BatchSizeSchedule(schedule)
        self._feeds = []
        self._filters = None
        self._first_batch_size = None
        self._resume = None
        self.history = {"epoch": [], "batch_size": [], "steps": []}

    def attach_feed(self, feed):
        """Registers a dataset's `ScheduleFeed` (called by the dataset builders:
        `make_scheduled_dataset`, `make_scheduled_dataset_from_function`,
        `DataSource.scheduled_dataset`)."""
        self._feeds.append(feed)

    def set_schedule(self, schedule):
        """Replaces the schedule for the epochs not yet started."""
        self.schedule = BatchSizeSchedule(schedule)

    def resume_at(self, epoch, steps_done):
        """Starts the next `fit`'s epoch `epoch` after its first `steps_done` steps
        (a run resumed mid-epoch from a checkpoint)."""
        self._resume = (epoch, steps_done)

    def get_state(self):
        """The epochs run and the schedule (which `GradientNoiseScale` may have
        changed); checkpointed with a run."""
        boundaries = getattr(self.schedule, "boundaries", None)
        return {"history": {k: list(v) for k, v in self.history.items()},
                "boundaries": None if boundaries is None else
                [[int(k), int(v)] for k, v in sorted(boundaries.items())]}

    def set_state(self, state):
        self.history = {k: list(v) for k, v in state["history"].items()}
        if state.get("boundaries") is not None:
            self.set_schedule({k: v for k, v in state["boundaries"]})

    def on_train_begin(self, logs=None):
        if not self._feeds:
            raise ValueError(
                "BatchSizeScheduler feeds no dataset: build the training data "
                "with keras_bigbatch.data.make_scheduled_dataset(x, y, "
                "scheduler) or keras_bigbatch.data.make_scheduled_dataset_from_"
                "function(dataset_fn, scheduler, dataset_size) and pass that "
                "dataset to fit()."
            )
        if self.params.get("steps"):
            raise ValueError(
                "BatchSizeScheduler sets each epoch's length from its batch "
                "size: call fit() without `steps_per_epoch` (received "
                f"steps_per_epoch={self.params['steps']})."
            )
        self._first_batch_size = None
        self._filters = list(warnings.filters)
        warnings.filterwarnings("ignore", message=_RAN_OUT)

    def on_epoch_begin(self, epoch, logs=None):
        batch_size = self.schedule(epoch)
        feed = self._feeds[-1]  # the most recently built dataset
        per_replica_batch_size(batch_size, feed.num_replicas_in_sync)
        steps = self.schedule.steps_per_epoch(feed.dataset_size, epoch)
        skip = 0
        if self._resume is not None and self._resume[0] == epoch:
            skip, self._resume = self._resume[1], None
        if self._first_batch_size is None:
            self._first_batch_size = batch_size
        elif batch_size < self._first_batch_size:
            raise ValueError(
                f"The batch size of epoch {epoch} ({batch_size}) is below that "
                f"of the first epoch of this fit ({self._first_batch_size}): "
                "Keras would cut the epoch short. Argument `schedule` must not "
                "decrease the batch size."
            )
        for each in self._feeds:
            each.set_epoch(epoch, batch_size, skip)
        self._epoch_start = optimizer_steps(self.model)
        self._epoch_steps = steps - skip
        if skip:  # the rest of an epoch already in the history
            return
        self.history["epoch"].append(epoch)
        self.history["batch_size"].append(batch_size)
        self.history["steps"].append(steps)

    def on_epoch_end(self, epoch, logs=None):
        # Keras 3.15 (TensorFlow backend, steps_per_execution=1) increments
        # `optimizer.iterations`, and nothing else, once more when an epoch's
        # iterator runs out. Undo that phantom step so step-based learning
        # rate schedules stay aligned with the updates really made.
        expected = self._epoch_start + self._epoch_steps
        if optimizer_steps(self.model) > expected:
            self.model.optimizer.iterations.assign(expected)
        if logs is not None:
            logs["batch_size"] = self.history["batch_size"][-1]

    def on_train_end(self, logs=None):
        if self._filters is not None:
            warnings.filters[:] = self._filters
            self._filters = None

    def get_config(self):
        return {"schedule": self.schedule.get_config()["schedule"]}

    @classmethod
    def from_config(cls, config):
        return cls(BatchSizeSchedule.from_config(config))
