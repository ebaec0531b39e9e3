"""Smith et al.'s SGD noise scale, and schedules that keep it equal.

```
g = learning_rate * N / (B * (1 - m))          (Smith, Kindermans & Le 2018, eq. 6)
```

Dividing the learning rate by k or multiplying the batch size by k lowers
`g` by the same factor; shrinking `1 - m` k-fold raises it k-fold, so
`B ∝ 1 / (1 - m)` keeps it when the momentum changes.
`plan_batch_growth` turns a step-decay `Regime` into the equivalent
"increase batch" or "hybrid" plan.
"""

from keras_bigbatch import durations
from keras_bigbatch.arguments import check_fraction
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.schedules.batch_size import BatchSizeSchedule
from keras_bigbatch.schedules.regime import Regime
from keras_bigbatch.schedules.regime import _piecewise_constant
from keras_bigbatch.schedules.warmup import Warmup


def noise_scale(learning_rate, dataset_size, batch_size, momentum=0.0):
    """Smith et al.'s SGD noise scale `g = lr * N / (B * (1 - m))`.

    Args:
        learning_rate: the learning rate, >= 0.
        dataset_size: training examples N, > 0.
        batch_size: global batch size B, > 0.
        momentum: SGD momentum m in [0, 1). Default 0.

    Example:

        >>> round(noise_scale(0.1, 50000, 128, momentum=0.9), 3)
        390.625

    References:
        Smith, Kindermans & Le 2018, section 2, eq. 6 (and eq. 7 with
        momentum).
    """
    if not learning_rate >= 0:
        raise ValueError(
            f"Argument `learning_rate` must be >= 0. Received: learning_rate={learning_rate}"
        )
    check_positive_int("dataset_size", dataset_size)
    check_positive_int("batch_size", batch_size)
    check_fraction("momentum", momentum)
    return learning_rate * dataset_size / (batch_size * (1.0 - momentum))


def momentum_scaled_batch_size(batch_size, momentum, new_momentum):
    """The batch size that keeps `g` when momentum changes: `B ∝ 1/(1-m)`.

    ```
    B' = round(B * (1 - m) / (1 - m'))
    ```

    Example:

        >>> momentum_scaled_batch_size(128, 0.9, 0.98)
        640

    References:
        Smith, Kindermans & Le 2018, section 5.3 ("Increasing the effective
        learning rate"): `B ∝ 1 / (1 - m)` at constant learning rate.
    """
    check_positive_int("batch_size", batch_size)
    check_fraction("momentum", momentum)
    check_fraction("new_momentum", new_momentum)
    return max(1, round(batch_size * (1.0 - momentum) / (1.0 - new_momentum)))


class BatchGrowthPlan:
    """Epoch-indexed batch sizes and learning rates; one of Smith's schedules.

    Attributes:
        epochs: training length in epochs.
        batch_size: a `BatchSizeSchedule` (global batch sizes).
        learning_rates: `{first_epoch: learning_rate}`.
        warmup_epochs: linear warm-up at the start (in epochs of the first
            batch size).
        warmup_learning_rate: the rate warm-up starts from.
    """

    def __init__(self, epochs, batch_size, learning_rates, warmup_epochs=0.0,
                 warmup_learning_rate=0.0):
        self.epochs = epochs
        self.warmup_learning_rate = warmup_learning_rate
        self.batch_size = BatchSizeSchedule(batch_size)
        self.learning_rates = dict(sorted(learning_rates.items()))
        self.warmup_epochs = warmup_epochs

    def learning_rate(self, epoch):
        return self.learning_rates[max(k for k in self.learning_rates if k <= epoch)]

    def updates(self, dataset_size):
        """Optimizer updates over the whole plan."""
        return self.batch_size.total_steps(dataset_size, self.epochs)

    def noise_scale(self, epoch, dataset_size, momentum=0.0):
        """`g` during `epoch` (after warm-up)."""
        return noise_scale(self.learning_rate(epoch), dataset_size,
                           self.batch_size(epoch), momentum)

    def to_learning_rate_schedule(self, dataset_size):
        """The learning rates as a Keras schedule over optimizer steps.

        Each epoch boundary becomes the number of updates run before it,
        which depends on the batch sizes of the earlier epochs; that is the
        0-based index of the first update of the epoch, and that update
        already uses the epoch's rate (as in `Regime.to_schedule`).
        """
        def step_of(epoch):
            return self.batch_size.total_steps(dataset_size, epoch)

        warmup_steps = durations.epochs_to_steps(
            self.warmup_epochs, self.batch_size.steps_per_epoch(dataset_size, 0))
        epochs = [e for e in self.learning_rates if e > 0]
        values = [self.learning_rates[0]] + [self.learning_rates[e] for e in epochs]
        if epochs:
            # The first update of epoch e (0-based index step_of(e)) gets the
            # new rate, as in `Regime.to_schedule`.
            schedule = _piecewise_constant(
                [step_of(e) - warmup_steps for e in epochs], values)  # step_of(e): epoch e's first update
        else:
            schedule = values[0]
        if warmup_steps:
            return Warmup(schedule, warmup_steps, self.warmup_learning_rate)
        return schedule

    def describe(self, dataset_size):
        phases = ", ".join(
            f"e{e}: B={self.batch_size(e)} lr={self.learning_rate(e):g}"
            for e in sorted(set(self.learning_rates) | set(self.batch_size.boundaries)))
        return f"{self.epochs} epochs, {self.updates(dataset_size)} updates ({phases})"

    def __repr__(self):
        return (f"BatchGrowthPlan(epochs={self.epochs}, batch_size="
                f"{self.batch_size.boundaries}, learning_rates={self.learning_rates})")


def plan_batch_growth(regime, max_batch_size=None):
    """Smith's equivalents of a step-decay regime at equal noise scale.

    Every decay `lr *= d` of `regime` at epoch `e` becomes, from epoch `e`:

    ```
    "increase batch" (max_batch_size=None):  B *= 1/d      lr unchanged
    "hybrid":   B *= 1/d  while B / d <= max_batch_size, then  lr *= d
    ```

    so `g = lr * N / (B * (1 - m))` is the same as in `regime` at every
    epoch. `plan_batch_growth(regime, regime.batch_size)` is the original
    learning-rate decay, as a plan.

    Args:
        regime: a `Regime` with step decay (no `polynomial_power`) and
            integer epochs and boundaries.
        max_batch_size: None (grow the batch at every decay) or the
            largest global batch size allowed, >= `regime.batch_size`.

    Returns:
        A `BatchGrowthPlan`.

    Example:

        >>> regime = Regime(batch_size=128, epochs=10, learning_rate=0.1,
        ...                 boundaries=(3, 6, 8), decay=0.2)
        >>> plan_batch_growth(regime).batch_size.boundaries
        {0: 128, 3: 640, 6: 3200, 8: 16000}
        >>> hybrid = plan_batch_growth(regime, max_batch_size=3200)
        >>> hybrid.batch_size.boundaries, sorted(hybrid.learning_rates)
        ({0: 128, 3: 640, 6: 3200}, [0, 8])

    References:
        Smith, Kindermans & Le 2018, section 3 and Figure 1 ("decaying
        learning rate", "hybrid", "increasing batch size").
    """
    if not isinstance(regime, Regime):
        raise ValueError(f"Argument `regime` must be a Regime. Received: regime={regime!r}")
    if regime.polynomial_power is not None:
        raise ValueError(
            "Argument `regime` must use step decay (polynomial_power=None). "
            f"Received: polynomial_power={regime.polynomial_power}"
        )
    if regime.updates is not None:
        raise ValueError(
            "Argument `regime` must count its length in epochs (updates=None): a growing "
            f"batch changes the updates per epoch. Received: updates={regime.updates}")
    if not float(regime.epochs).is_integer() or any(
        not float(b).is_integer() for b in regime.boundaries
    ):
        raise ValueError(
            "Argument `regime` must have whole epochs and boundaries (batch "
            f"sizes change between epochs). Received: epochs={regime.epochs}, "
            f"boundaries={regime.boundaries}"
        )
    if max_batch_size is not None:
        check_positive_int("max_batch_size", max_batch_size)
        if max_batch_size < regime.batch_size:
            raise ValueError(
                f"Argument `max_batch_size` must be >= the regime's batch size "
                f"({regime.batch_size}). Received: max_batch_size={max_batch_size}"
            )
    factor = 1.0 / regime.decay
    batch, rate = regime.batch_size, regime.learning_rate
    batch_sizes, rates = {0: batch}, {0: rate}
    for boundary in regime.boundaries:
        epoch = int(boundary)
        grown = round(batch * factor)
        if max_batch_size is None or grown <= max_batch_size:
            batch = batch_sizes[epoch] = grown
        else:
            rate = rates[epoch] = rate * regime.decay
    return BatchGrowthPlan(int(regime.epochs), batch_sizes, rates, regime.warmup_epochs,
                           regime.warmup_learning_rate)
