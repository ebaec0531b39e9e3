"""Global batch size as a function of the epoch (backend-agnostic)."""

import keras

from keras_bigbatch import durations
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.distribute.batching import per_replica_batch_size


def _check_epoch(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            "Argument `schedule` must map epochs (integers >= 0) to global "
            f"batch sizes. Received the epoch {value!r}"
        )
    return value


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class BatchSizeSchedule:
    """Maps an epoch index (0-based) to a *global* batch size.

    A dict `{first_epoch: batch_size, ...}` holds each batch size from its
    epoch until the next key:

    ```
    batch_size(epoch) = schedule[max(k for k in schedule if k <= epoch)]
    ```

    The first key must be 0 and the batch sizes must not decrease:
    `BatchSizeScheduler` needs that (see its docstring), and it is what
    Smith et al. and Gao & Zhong do. A callable `epoch -> batch size` is
    checked lazily, epoch by epoch, with the same rules.

    Args:
        schedule: a non-empty dict `{epoch: global_batch_size}` with key 0,
            or a callable.

    Example:

        >>> schedule = BatchSizeSchedule({0: 128, 3: 640, 6: 3200})
        >>> [schedule(e) for e in range(8)]
        [128, 128, 128, 640, 640, 640, 3200, 3200]
        >>> schedule.steps_per_epoch(60000, 7)
        18

    References:
        Smith, Kindermans & Le 2018, "Don't decay the learning rate,
        increase the batch size", section 3 and Figure 1.
        Gao & Zhong, section 3.2 (a small batch in the first epoch).
    """

    def __init__(self, schedule):
        if callable(schedule) and not isinstance(schedule, BatchSizeSchedule):
            self._function = schedule
            self.boundaries = None
            return
        if isinstance(schedule, BatchSizeSchedule):
            self._function, self.boundaries = schedule._function, schedule.boundaries
            return
        if not isinstance(schedule, dict) or not schedule:
            raise ValueError(
                "Argument `schedule` must be a non-empty dict {epoch: global "
                "batch size} or a callable. "
                f" Received: schedule={schedule!r}"
            )
        items = sorted((_check_epoch(k), v) for k, v in schedule.items())
        if items[0][0] != 0:
            raise ValueError(
                "Argument `schedule` must start at epoch 0 (the batch size of "
                f"the first epoch). Received: schedule={schedule!r}"
            )
        for epoch, size in items:
            check_positive_int(f"schedule[{epoch}]", size)
        for (_, a), (epoch, b) in zip(items, items[1:]):
            if b < a:
                raise ValueError(
                    "Argument `schedule` must not decrease the batch size "
                    f"(epoch {epoch}: {b} < {a}). Received: schedule={schedule!r}"
                )
        self._function = None
        self.boundaries = dict(items)

    def __call__(self, epoch):
        epoch = _check_epoch(epoch)
        if self._function is None:
            return self.boundaries[max(k for k in self.boundaries if k <= epoch)]
        size = self._function(epoch)
        check_positive_int(f"schedule({epoch})", size)
        if epoch > 0:
            previous = self._function(epoch - 1)
            if size < previous:
                raise ValueError(
                    "Argument `schedule` must not decrease the batch size: "
                    f"schedule({epoch})={size} < schedule({epoch - 1})={previous}"
                )
        return size

    def steps_per_epoch(self, dataset_size, epoch):
        """Whole batches in `epoch` (the remainder is dropped)."""
        size = self(epoch)
        check_positive_int("dataset_size", dataset_size)
        if size > dataset_size:
            raise ValueError(
                f"The batch size of epoch {epoch} ({size}) exceeds the data "
                f"set ({dataset_size} examples). Argument `schedule` must stay "
                f"<= dataset_size={dataset_size}"
            )
        return durations.steps_per_epoch(dataset_size, size)

    def total_steps(self, dataset_size, epochs, initial_epoch=0):
        """Optimizer updates over epochs `initial_epoch .. epochs - 1`."""
        return sum(
            self.steps_per_epoch(dataset_size, e) for e in range(initial_epoch, epochs)
        )

    def check(self, dataset_size, num_replicas_in_sync):
        """For a dict schedule, checks every batch size against the data set
        size and the replica count (a callable is checked epoch by epoch)."""
        if self.boundaries is None:
            return
        for epoch in self.boundaries:
            self.steps_per_epoch(dataset_size, epoch)
            try:
                per_replica_batch_size(self(epoch), num_replicas_in_sync)
            except ValueError as error:
                raise ValueError(f"Epoch {epoch} of the batch-size schedule: {error}") from None

    @classmethod
    def small_first_epoch(cls, small_batch_size, batch_size):
        """Gao & Zhong's preset: `small_batch_size` in epoch 0, then `batch_size`.

        Section 3.2 of the paper: batch 512 in the first epoch, 8192 after
        (their learning rate also changes, 0.005 then 0.05: pass a matching
        learning-rate schedule to the optimizer).
        """
        check_positive_int("small_batch_size", small_batch_size)
        check_positive_int("batch_size", batch_size)
        if small_batch_size > batch_size:
            raise ValueError(
                "Argument `small_batch_size` must be <= `batch_size`. Received: "
                f"small_batch_size={small_batch_size}, batch_size={batch_size}"
            )
        return cls({0: small_batch_size, 1: batch_size})

    def get_config(self):
        if self._function is not None:
            return {"schedule": keras.saving.serialize_keras_object(self._function)}
        return {"schedule": {str(k): v for k, v in self.boundaries.items()}}

    @classmethod
    def from_config(cls, config):
        schedule = config["schedule"]
        if not isinstance(schedule, dict) or "class_name" in schedule or (
            "module" in schedule
        ):
            return cls(keras.saving.deserialize_keras_object(schedule))
        # JSON turns the integer epochs into strings.
        return cls({int(k): v for k, v in schedule.items()})

    def __repr__(self):
        inner = self.boundaries if self._function is None else self._function
        return f"BatchSizeSchedule({inner!r})"
