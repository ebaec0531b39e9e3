"""MLPerf's LARS learning rate: warm-up in float epochs, then polynomial decay.

The schedule of Google's MLPerf ResNet-50 LARS submissions, which count an
epoch as N / B updates (a float) and train a given number of updates:

```
e(t)  = t / (N / B)                              the float epoch of update t
w     = floor(W * N / B)                         the last warm-up update
D     = T - w + 1                                the decay length
lr(t) = peak * e(t) / W                          while e(t) <= W   (t <= w)
lr(t) = (peak - end) * (1 - min(max(1, t - w), D) / D) ** power + end
```

for the 0-based update index t (`optimizer.iterations` when the update
reads its rate), T updates in all and W warm-up epochs. Update 0 runs at
rate 0; the peak is reached at t = w (in float epochs, a little below
`peak`), the first decayed update t = w + 1 already uses decay counter 1,
and the last update t = T - 1 stops two counters short of D, so neither
`peak` after warm-up nor `end` is ever used exactly. (The `max(1, .)`
and the `<=` change a rate only where W * N / B is a whole number.)
Computed in float32, as the reference computes it.

The package's default (`Regime` with `convention="whole_steps"`) counts an
epoch as N // B updates instead, warms up over `round(W * (N // B))`
updates from 0 and decays over the updates after them from counter 0.

References:
    mlcommons/training_results_v1.0 (commit 50619b5d), Google's ResNet-50 on
    TPU v4-4096: Google/benchmarks/resnet/implementations/
    resnet-preview-TF-tpu-v4-4096/lars_util.py (`compute_lars_hp`,
    `poly_rate_schedule`) and resnet_main.py (`current_epoch =
    global_step / (num_train_images / train_batch_size)`); the same code in
    mlcommons/training_results_v0.7 (commit 0a8a85a2),
    resnet-research-TF-tpu-v3-8192/lars_util.py. The decay is TensorFlow's
    `tf.compat.v1.train.polynomial_decay` with `cycle=False`.
"""

import keras
from keras import ops

from keras_bigbatch.arguments import check_non_negative
from keras_bigbatch.arguments import check_positive
from keras_bigbatch.arguments import check_positive_int


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class MLPerfPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """MLPerf's LARS schedule (the module docstring states it).

    Args:
        learning_rate: the peak rate `peak`, > 0.
        total_steps: `T`, the updates of the whole run, a positive int.
        warmup_epochs: `W`, warm-up epochs, > 0 (floats allowed).
        dataset_size: `N`, training examples per epoch, a positive int.
        batch_size: `B`, the global batch, a positive int.
        end_learning_rate: `end`, in [0, learning_rate]. Default 1e-4 (the
            reference's).
        power: the decay's power, > 0. Default 2.0.

    Raises:
        ValueError: an argument out of range (named), or a warm-up that does
            not end before the last update.

    Example:

        >>> lr = MLPerfPolynomialDecay(29.0, total_steps=2355, warmup_epochs=18,
        ...                            dataset_size=1281167, batch_size=32768)
        >>> lr.warmup_steps, lr.decay_steps
        (703, 1653)
        >>> [round(float(lr(t)), 4) for t in (0, 1, 703, 704, 1500, 2354)]
        [0.0, 0.0412, 28.9684, 28.9649, 7.7769, 0.0001]
    """

    def __init__(self, learning_rate, total_steps, warmup_epochs, dataset_size, batch_size,
                 end_learning_rate=1e-4, power=2.0):
        check_positive("learning_rate", learning_rate)
        check_positive_int("total_steps", total_steps)
        check_positive("warmup_epochs", warmup_epochs)
        check_positive_int("dataset_size", dataset_size)
        check_positive_int("batch_size", batch_size)
        check_non_negative("end_learning_rate", end_learning_rate)
        check_positive("power", power)
        if end_learning_rate > learning_rate:
            raise ValueError(
                f"Argument `end_learning_rate` must be <= learning_rate ({learning_rate}). "
                f"Received: end_learning_rate={end_learning_rate}")
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_epochs = float(warmup_epochs)
        self.dataset_size = int(dataset_size)
        self.batch_size = int(batch_size)
        self.end_learning_rate = float(end_learning_rate)
        self.power = float(power)
        # lars_util.py: w_steps = w_epochs * num_train_images // batch_size
        self.warmup_steps = int(self.warmup_epochs * self.dataset_size // self.batch_size)
        if self.warmup_steps >= self.total_steps - 1:
            raise ValueError(
                f"Argument `warmup_epochs` must end before the last update: "
                f"{self.warmup_epochs:g} epochs are {self.warmup_steps} updates of "
                f"total_steps={self.total_steps}. Received: warmup_epochs={warmup_epochs}")
        self.decay_steps = self.total_steps - self.warmup_steps + 1

    def __call__(self, step):
        step = ops.cast(step, "float32")
        steps_per_epoch = self.dataset_size / self.batch_size  # a float, as the reference's
        epoch = step / steps_per_epoch
        warm = self.learning_rate * epoch / self.warmup_epochs
        counter = ops.minimum(ops.maximum(step - float(self.warmup_steps), 1.0),
                              float(self.decay_steps))
        decayed = (self.learning_rate - self.end_learning_rate) * ops.power(
            1.0 - counter / float(self.decay_steps), self.power) + self.end_learning_rate
        return ops.where(epoch <= self.warmup_epochs, warm, decayed)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "warmup_epochs": self.warmup_epochs,
            "dataset_size": self.dataset_size,
            "batch_size": self.batch_size,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
        }
