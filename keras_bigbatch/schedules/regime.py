"""Training regimes and Hoffer et al.'s regime adaptation."""

import keras

from keras_bigbatch import durations
from keras_bigbatch.arguments import check_choice
from keras_bigbatch.arguments import check_non_negative
from keras_bigbatch.arguments import check_positive
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.schedules.mlperf import MLPerfPolynomialDecay
from keras_bigbatch.schedules.scaling import RULES
from keras_bigbatch.schedules.scaling import scale_learning_rate
from keras_bigbatch.schedules.warmup import Warmup


# How a regime counts epochs and offsets its polynomial decay (see Regime).
CONVENTIONS = ("whole_steps", "mlperf")


def _steps_per_epoch(dataset_size, batch_size):
    """`durations.steps_per_epoch`, at least 1 (a schedule over 0 steps is undefined)."""
    return max(1, durations.steps_per_epoch(dataset_size, batch_size))


def _piecewise_constant(boundary_steps, values):
    """`values[i]` for the updates `boundary_steps[i-1] <= t < boundary_steps[i]`.

    `t` is the 0-based update index (`optimizer.iterations` when the update
    reads its rate), so the update `t = boundary_steps[i]`, the first one of
    the new phase, already uses `values[i + 1]`. Keras's
    `PiecewiseConstantDecay` switches for `step > boundary`, so it gets each
    boundary one step earlier (`t > s - 1` is `t >= s` for whole steps).
    """
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        [int(s) - 1 for s in boundary_steps], list(values)
    )


def _nearest_divisor(total, target):
    """The divisor of `total` nearest to `target`, the smaller on a tie."""
    divisors = set()
    for d in range(1, int(total**0.5) + 1):
        if total % d == 0:
            divisors.update((d, total // d))
    return min(divisors, key=lambda d: (abs(d - target), d))


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class Regime:
    """A training regime: batch size, epochs and learning rates.

    Step decay (the default):

    ```
    lr(epoch) = learning_rate                      for epoch < boundaries[0]
    lr(epoch) = learning_rate * decay ** i         for boundaries[i-1] <= epoch
    ```

    Polynomial decay, with `polynomial_power=p` (You et al. 2017 use p=2):

    ```
    lr(t) = (learning_rate - end_learning_rate)
            * (1 - (t - warmup) / (total - warmup)) ** p + end_learning_rate
    ```

    Warm-up (`warmup_epochs` > 0) ramps linearly from `warmup_learning_rate`
    (0 by default; Goyal et al. start from the small-batch rate) to
    `learning_rate` over the first `warmup_epochs`.

    Boundaries are in epochs (floats allowed). `batch_size` is the *global*
    batch size.

    Length. By default the regime trains `round(epochs * (N // B))`
    updates; a source that counts updates gives them as `updates` (T), and
    the run trains exactly T (Google's MLPerf runs: `--train_steps`).

    Conventions (`convention`), for polynomial decay:

    ```
    "whole_steps"  an epoch is N // B updates; warm-up over
                   w = round(warmup_epochs * (N // B)) updates from 0; then
                   (lr - end) * (1 - (t - w) / (T - w)) ** p + end
    "mlperf"       Google's MLPerf LARS runs: an epoch is N / B (a float),
                   warm-up lr * (t / (N / B)) / warmup_epochs while that is
                   <= warmup_epochs, then poly on max(1, t - w) over
                   T - w + 1 updates, w = floor(warmup_epochs * N / B)
                   (`MLPerfPolynomialDecay`)
    ```

    Args:
        batch_size: global batch size, > 0.
        epochs: training length in epochs, > 0 (may be fractional).
        learning_rate: initial learning rate, >= 0.
        boundaries: increasing epochs at which the rate is multiplied by
            `decay`; each in (0, epochs). Default: none.
        decay: factor applied at each boundary, in (0, 1]. Default 0.1.
        warmup_epochs: epochs of linear warm-up from 0, >= 0. Default 0.
        polynomial_power: None (step decay) or a power > 0: decay
            polynomially to 0 over the steps after the warm-up; then
            `boundaries` must be empty.
        end_learning_rate: the rate polynomial decay ends at, in
            [0, learning_rate]. Default 0 (MLPerf's LARS runs use 1e-4).
        warmup_learning_rate: the rate warm-up starts from, >= 0.
            Default 0.
        updates: the updates of the whole regime (T), a positive int, or
            None (default): `round(epochs * (N // B))`. With T, `epochs`
            only names the length (reports, batch growth).
        convention: `"whole_steps"` (default) or `"mlperf"` (see above;
            needs `polynomial_power`, `updates` and warm-up from 0).

    Example:

        >>> small = Regime(batch_size=128, epochs=10, learning_rate=0.1,
        ...                boundaries=(6, 8))
        >>> large = small.adapt(4096, learning_rate_rule="sqrt")
        >>> large.epochs, large.boundaries, round(large.learning_rate, 3)
        (320.0, (192.0, 256.0), 0.566)
    """

    def __init__(
        self,
        batch_size,
        epochs,
        learning_rate,
        boundaries=(),
        decay=0.1,
        warmup_epochs=0.0,
        polynomial_power=None,
        end_learning_rate=0.0,
        warmup_learning_rate=0.0,
        updates=None,
        convention="whole_steps",
    ):
        check_positive_int("batch_size", batch_size)  # the global batch size
        check_positive("epochs", epochs)
        check_non_negative("learning_rate", learning_rate)
        boundaries = tuple(float(b) for b in boundaries)
        if any(not 0 < b < epochs for b in boundaries) or any(
            a >= b for a, b in zip(boundaries, boundaries[1:])
        ):
            raise ValueError(
                "Argument `boundaries` must be strictly increasing epochs in "
                f"(0, epochs={epochs}). Received: boundaries={boundaries}"
            )
        if not 0 < decay <= 1:
            raise ValueError(f"Argument `decay` must be in (0, 1]. Received: decay={decay}")
        if not 0 <= warmup_epochs < epochs:
            raise ValueError(
                f"Argument `warmup_epochs` must be in [0, epochs={epochs}). "
                f"Received: warmup_epochs={warmup_epochs}"
            )
        if boundaries and warmup_epochs >= boundaries[0]:
            raise ValueError(
                "Argument `warmup_epochs` must end before the first boundary "
                f"({boundaries[0]}). Received: warmup_epochs={warmup_epochs}"
            )
        if polynomial_power is not None:
            if isinstance(polynomial_power, bool) or not polynomial_power > 0:
                raise ValueError(
                    "Argument `polynomial_power` must be None (step decay) or "
                    f"> 0. Received: polynomial_power={polynomial_power!r}"
                )
            if boundaries:
                raise ValueError(
                    "Argument `boundaries` must be empty with polynomial decay. "
                    f"Received: boundaries={boundaries}, "
                    f"polynomial_power={polynomial_power}"
                )
            polynomial_power = float(polynomial_power)
        check_non_negative("end_learning_rate", end_learning_rate)
        if end_learning_rate and polynomial_power is None:
            raise ValueError(
                "Argument `end_learning_rate` applies to polynomial decay only; set "
                "`polynomial_power` or leave end_learning_rate=0. "
                f"Received: end_learning_rate={end_learning_rate}"
            )
        if end_learning_rate > learning_rate:
            raise ValueError(
                f"Argument `end_learning_rate` must be <= learning_rate ({learning_rate}). "
                f"Received: end_learning_rate={end_learning_rate}"
            )
        check_non_negative("warmup_learning_rate", warmup_learning_rate)
        if warmup_learning_rate and not warmup_epochs:
            raise ValueError(
                "Argument `warmup_learning_rate` (the rate warm-up starts from) needs "
                f"warmup_epochs > 0. Received: warmup_learning_rate={warmup_learning_rate}, "
                f"warmup_epochs={warmup_epochs}"
            )
        if updates is not None:
            check_positive_int("updates", updates)
        check_choice("convention", convention, CONVENTIONS)
        if convention == "mlperf" and (polynomial_power is None or warmup_learning_rate
                                       or not warmup_epochs or updates is None):
            raise ValueError(
                "Argument `convention`='mlperf' is MLPerf's LARS schedule: it needs "
                "`polynomial_power`, warmup_epochs > 0, warm-up from 0 "
                "(warmup_learning_rate=0) and the run's length in `updates` "
                f"(--train_steps). Received: polynomial_power={polynomial_power}, "
                f"warmup_epochs={warmup_epochs}, warmup_learning_rate={warmup_learning_rate}, "
                f"updates={updates}")
        self.updates = updates
        self.convention = convention
        self.end_learning_rate = float(end_learning_rate)
        self.warmup_learning_rate = float(warmup_learning_rate)
        self.polynomial_power = polynomial_power
        self.batch_size = batch_size
        self.epochs = float(epochs)
        self.learning_rate = float(learning_rate)
        self.boundaries = boundaries
        self.decay = float(decay)
        self.warmup_epochs = float(warmup_epochs)

    def replace(self, **changes):
        """Returns a copy with some arguments changed."""
        config = self.get_config()
        config.update(changes)
        return Regime(**config)

    def adapt(
        self,
        batch_size,
        learning_rate_rule="sqrt",
        updates_fraction=1.0,
        dataset_size=None,
    ):
        """Regime adaptation: the same number of updates at a larger batch.

        ```
        r              = batch_size / self.batch_size
        epochs'        = epochs * r * updates_fraction
        boundaries'    = boundaries * r * updates_fraction
        warmup_epochs' = warmup_epochs * r * updates_fraction
        learning_rate' = scale_learning_rate(learning_rate, self.batch_size,
                                             batch_size, learning_rate_rule)
        ```

        With `dataset_size`, `r` is the ratio of whole steps per epoch,
        `(N // B_small) / (N // B_large)`, so that update counts match under
        `drop_remainder=True` rather than only approximately.

        Args:
            batch_size: the new global batch size.
            learning_rate_rule: `"linear"`, `"sqrt"` (Hoffer et al.'s
                choice, default) or None to keep the rate.
            updates_fraction: share of the small-batch update count to
                keep, in (0, 1]. 1.0 is full regime adaptation.
            dataset_size: examples per epoch, for the exact ratio above.

        Returns:
            A new `Regime`.

        References:
            Hoffer, Hubara & Soudry 2017, section 5 ("Regime Adaptation"):
            train so that the number of iterations is the same for all
            batch sizes.
        """
        check_choice("learning_rate_rule", learning_rate_rule, (*RULES, None))
        if not 0 < updates_fraction <= 1:
            raise ValueError(
                "Argument `updates_fraction` must be in (0, 1]. "
                f"Received: updates_fraction={updates_fraction}"
            )
        check_positive_int("batch_size", batch_size)
        if dataset_size is None:
            ratio = batch_size / self.batch_size
        else:
            ratio = _steps_per_epoch(dataset_size, self.batch_size) / (
                _steps_per_epoch(dataset_size, batch_size)
            )
        stretch = ratio * updates_fraction
        learning_rate = self.learning_rate
        if learning_rate_rule is not None:
            learning_rate = scale_learning_rate(
                learning_rate, self.batch_size, batch_size, learning_rate_rule
            )
        return Regime(
            batch_size=batch_size,
            epochs=self.epochs * stretch,
            learning_rate=learning_rate,
            boundaries=tuple(b * stretch for b in self.boundaries),
            decay=self.decay,
            warmup_epochs=self.warmup_epochs * stretch,
            polynomial_power=self.polynomial_power,
            end_learning_rate=self.end_learning_rate,
            warmup_learning_rate=self.warmup_learning_rate,
            updates=None if self.updates is None else max(1, round(self.updates * updates_fraction)),
            convention=self.convention,
        )

    def total_steps(self, dataset_size):
        """Optimizer steps of the whole regime over `dataset_size` examples.

        `updates` when given; else one epoch is `dataset_size // batch_size`
        steps (the last partial batch is dropped) and the total is rounded
        to whole steps.
        """
        if self.updates is not None:
            return self.updates
        return max(
            1,
            durations.epochs_to_steps(self.epochs, _steps_per_epoch(dataset_size, self.batch_size)),
        )

    def fit_arguments(self, dataset_size):
        """`model.fit` arguments that train exactly `total_steps(dataset_size)` updates.

        ```
        S = dataset_size // batch_size        (steps per pass over the data, >= 1)
        T = total_steps(dataset_size)         = round(epochs * S)
        steps_per_epoch = the divisor of T nearest to S (the smaller on a tie)
        epochs          = T // steps_per_epoch      so epochs * steps_per_epoch == T
        ```

        `model.fit` takes whole epochs only, and `int(regime.epochs)` would
        lose the last partial epoch's updates. When the regime is whole
        epochs (S divides T), Keras's epochs are the passes over the data.
        Otherwise (e.g. `adapt` gives 334.29 epochs) a Keras epoch is
        `steps_per_epoch` updates of an endless stream, not one pass: the
        learning rate, read from `optimizer.iterations`, is unaffected, but
        epoch-based callbacks and validation run every `steps_per_epoch`
        updates (a prime T has only the divisors 1 and T).

        Feed the endless stream, `make_dataset(x, y, batch_size,
        repeat=True)`, whose step t is a pure function of (seed, t) and
        whose epochs of S steps reshuffle on their own. A one-pass dataset
        (`repeat=False`) of S batches works only when `steps_per_epoch == S`;
        with fewer steps per Keras epoch, Keras would cut epochs short when
        that pass runs out.

        Example:

            >>> regime = Regime(128, 10, 0.1, boundaries=(6, 8)).adapt(
            ...     4096, dataset_size=60000)
            >>> round(regime.epochs, 2), regime.total_steps(60000)
            (334.29, 4680)
            >>> regime.fit_arguments(60000)  # 360 * 13 = 4680
            {'epochs': 360, 'steps_per_epoch': 13}

            ```
            train = make_dataset(x, y, regime.batch_size, repeat=True)
            model.compile(optimizer=keras.optimizers.SGD(regime.to_schedule(len(x))), ...)
            model.fit(train, **regime.fit_arguments(len(x)))
            ```

        Args:
            dataset_size: training examples in one pass, > 0.

        Returns:
            `{"epochs": int, "steps_per_epoch": int}`.
        """
        check_positive_int("dataset_size", dataset_size)
        steps = _steps_per_epoch(dataset_size, self.batch_size)
        total = self.total_steps(dataset_size)
        per_epoch = _nearest_divisor(total, steps)
        return {"epochs": total // per_epoch, "steps_per_epoch": per_epoch}

    def to_schedule(self, dataset_size):
        """The regime as a Keras `LearningRateSchedule` over optimizer steps.

        Boundaries become `round(boundary * steps_per_epoch)` steps, and the
        update with that 0-based index (the first update of the boundary
        epoch: `optimizer.iterations` equals it when the rate is read)
        already uses the decayed rate. Warm-up covers the updates
        `0 .. warmup_steps - 1`; update `warmup_steps` runs at the full
        rate. With a warm-up, the decay schedule is wrapped in `Warmup` and
        its boundaries are moved `warmup_steps` earlier, so that the decays
        happen at the absolute steps the regime names.
        """
        if self.convention == "mlperf":
            return MLPerfPolynomialDecay(
                self.learning_rate, self.total_steps(dataset_size), self.warmup_epochs,
                dataset_size, self.batch_size, self.end_learning_rate, self.polynomial_power)
        steps = _steps_per_epoch(dataset_size, self.batch_size)
        warmup_steps = durations.epochs_to_steps(self.warmup_epochs, steps)
        boundaries = [durations.boundary_step(b, steps) - warmup_steps for b in self.boundaries]
        if self.polynomial_power is not None:
            total = self.total_steps(dataset_size)
            schedule = keras.optimizers.schedules.PolynomialDecay(
                self.learning_rate,
                decay_steps=max(1, total - warmup_steps),
                end_learning_rate=self.end_learning_rate,
                power=self.polynomial_power,
            )
        elif boundaries:
            values = [
                self.learning_rate * self.decay**i
                for i in range(len(boundaries) + 1)
            ]
            schedule = _piecewise_constant(boundaries, values)
        else:
            schedule = self.learning_rate
        if warmup_steps:
            return Warmup(schedule, warmup_steps, self.warmup_learning_rate)
        return schedule

    def get_config(self):
        return {
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "boundaries": self.boundaries,
            "decay": self.decay,
            "warmup_epochs": self.warmup_epochs,
            "polynomial_power": self.polynomial_power,
            "end_learning_rate": self.end_learning_rate,
            "warmup_learning_rate": self.warmup_learning_rate,
            "updates": self.updates,
            "convention": self.convention,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, Regime) and self.get_config() == other.get_config()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"Regime({args})"

    def describe(self):
        """One line for logs: batch, epochs and learning rates."""
        rate = f"lr={self.learning_rate:g}"
        if self.polynomial_power is not None:
            rate += f" poly(power {self.polynomial_power:g}) to {self.end_learning_rate:g}"
        if self.boundaries:
            marks = ",".join(f"{b:g}" for b in self.boundaries)
            rate += f" x{self.decay:g} at epochs {marks}"
        if self.warmup_epochs:
            rate += f", warm-up {self.warmup_epochs:g} epochs"
            if self.warmup_learning_rate:
                rate += f" from {self.warmup_learning_rate:g}"
        length = f"{self.epochs:g} epochs"
        if self.updates is not None:
            length += f" ({self.updates} updates)"
        if self.convention != "whole_steps":
            rate += f" ({self.convention} convention)"
        return f"batch {self.batch_size}, {length}, {rate}"

