"""Linear learning-rate warm-up in front of any schedule."""

import keras
from keras import ops

from keras_bigbatch.arguments import check_non_negative
from keras_bigbatch.arguments import check_non_negative_int


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class Warmup(keras.optimizers.schedules.LearningRateSchedule):
    """Ramps the learning rate linearly, then hands over to a schedule.

    ```
    target = schedule(0) if schedule is a schedule else schedule
    lr(step) = initial_learning_rate
               + (target - initial_learning_rate) * step / warmup_steps
                                                   if step < warmup_steps
    lr(step) = schedule(step - warmup_steps)        otherwise
    ```

    The wrapped schedule therefore starts at its own step 0 when warm-up
    ends: put its milestones `warmup_steps` earlier if they are meant as
    absolute steps (`Regime.to_schedule` does this for you).

    Args:
        schedule: a float learning rate, or a `LearningRateSchedule`.
        warmup_steps: number of warm-up steps, an int >= 0 (0 = no warm-up).
        initial_learning_rate: rate at step 0, >= 0. Default 0.0.

    Example:

        >>> lr = Warmup(0.4, warmup_steps=4)
        >>> [round(float(lr(s)), 6) for s in range(6)]   # float32, rounded
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.4]

    References:
        Goyal et al. 2017, "Accurate, Large Minibatch SGD: Training ImageNet
        in 1 Hour", section 2.2 (gradual warm-up). You, Gitman & Ginsburg
        2017, "Large Batch Training of Convolutional Networks" (LARS with
        warm-up). Hoffer et al. 2017 note that gradient clipping acts as a
        warm-up.
    """

    def __init__(self, schedule, warmup_steps, initial_learning_rate=0.0):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        if not isinstance(
            schedule, keras.optimizers.schedules.LearningRateSchedule
        ):
            try:
                schedule = float(schedule)
            except (TypeError, ValueError):
                raise ValueError(
                    "Argument `schedule` must be a float or a "
                    "keras.optimizers.schedules.LearningRateSchedule. "
                    f"Received: schedule={schedule!r}"
                ) from None
            if not schedule >= 0:
                raise ValueError(
                    "Argument `schedule` (the target learning rate) must be "
                    f">= 0. Received: schedule={schedule}"
                )
        check_non_negative_int("warmup_steps", warmup_steps)
        check_non_negative("initial_learning_rate", initial_learning_rate)
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.initial_learning_rate = float(initial_learning_rate)

    def _after(self, step):
        if isinstance(self.schedule, float):
            return ops.convert_to_tensor(self.schedule, "float32")
        return ops.cast(self.schedule(step), "float32")

    def __call__(self, step):
        step = ops.cast(step, "float32")
        if self.warmup_steps == 0:
            return self._after(step)
        warmup_steps = float(self.warmup_steps)
        target = self._after(ops.convert_to_tensor(0.0, "float32"))
        fraction = ops.minimum(step / warmup_steps, 1.0)
        ramp = self.initial_learning_rate + (
            target - self.initial_learning_rate
        ) * fraction
        after = self._after(ops.maximum(step - warmup_steps, 0.0))
        return ops.where(step < warmup_steps, ramp, after)

    def get_config(self):
        schedule = self.schedule
        if not isinstance(schedule, float):
            schedule = keras.optimizers.schedules.serialize(schedule)
        return {
            "schedule": schedule,
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
        }
