"""McCandlish et al.'s simple gradient noise scale, measured during `fit`."""

import keras
import numpy as np

from keras_bigbatch.callbacks._gradients import GradientProbe
from keras_bigbatch.callbacks._steps import optimizer_steps
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.arguments import check_fraction


def noise_scale_estimates(small_norm_sq, big_norm_sq, small_batch_size, big_batch_size):
    """Unbiased |G|^2 and tr(Sigma) from squared gradient norms at two batch sizes.

    ```
    |G|^2     ~ (B |G_B|^2 - b |G_b|^2) / (B - b)
    tr(Sigma) ~ (|G_b|^2 - |G_B|^2) / (1/b - 1/B)
    ```

    (McCandlish et al. 2018, Appendix A.1, with b < B.)
    """
    b, big = float(small_batch_size), float(big_batch_size)
    gradient_sq = (big * big_norm_sq - b * small_norm_sq) / (big - b)
    trace = (small_norm_sq - big_norm_sq) / (1.0 / b - 1.0 / big)
    return gradient_sq, trace


class GradientNoiseScale(keras.callbacks.Callback):
    """Estimates the critical batch size B_simple = tr(Sigma) / |G|^2.

    After every `every` optimizer updates the callback draws `batch_size` random
    training examples, splits them into `batch_size // micro_batch_size`
    micro-batches, and takes the loss gradient of each (model called with
    `training=False`, nothing updated):

    ```
    |G_b|^2 = mean over micro-batches of |g_micro|^2      (b = micro_batch_size)
    |G_B|^2 = |mean of g_micro|^2                          (B = batch_size)
    G2, S   = noise_scale_estimates(|G_b|^2, |G_B|^2, b, B)
    G2_ema  = ema * G2_ema + (1 - ema) * G2   (same for S; bias-corrected)
    B_simple = S_ema / G2_ema
    ```

    The two batch sizes play the roles of McCandlish et al.'s per-device
    and all-reduced gradients: with `micro_batch_size` = the per-replica
    batch and `batch_size` = the global batch, it measures what a
    data-parallel step sees, on one device or under a strategy (the probe
    runs outside the train step, in the strategy's cross-replica context).
    The numerator and denominator are averaged separately before the ratio,
    as the paper recommends, because each single estimate is noisy.

    Logs: each epoch's logs get `gradient_noise_scale` (the latest
    B_simple), so `History` and a `keras.callbacks.TensorBoard` placed after
    this callback record it; `history` holds every measurement
    (`step`, `b_simple`, `gradient_sq`, `trace`).

    Adaptive mode: with `scheduler` (a `BatchSizeScheduler` with a dict
    schedule), at each epoch end the next epoch's global batch size becomes

    ```
    B_next = clip(round_down(B_simple, multiple_of), B_now, max_batch_size)
    ```

    so the batch only grows (Keras cannot lengthen an epoch within one
    `fit`; see `BatchSizeScheduler`), up to `max_batch_size`.

    Args:
        x: training inputs to draw probe batches from (an array).
        y: their labels (an array).
        batch_size: probe batch B, a multiple of `micro_batch_size`.
        micro_batch_size: micro-batch b < B. Default `batch_size // 8`.
        every: measure every `every` optimizer steps, > 0. Default 100.
        ema: smoothing of G2 and S in [0, 1). Default 0.9.
        loss: per-sample loss; default the model's compiled loss.
        scheduler: optional `BatchSizeScheduler` to adapt (see above).
        max_batch_size: upper bound of the adaptive batch size.
        multiple_of: adaptive batch sizes are multiples of this (e.g. the
            replica count times a ghost batch). Default 1.
        seed: seed of the probe-batch draws. Default 0.

    References:
        McCandlish, Kaplan, Amodei et al. 2018, "An Empirical Model of
        Large-Batch Training", eq. 2.8 (B_simple) and Appendix A.1.
    """

    def __init__(self, x, y, batch_size, micro_batch_size=None, every=100, ema=0.9,
                 loss=None, scheduler=None, max_batch_size=None, multiple_of=1, seed=0):
        super().__init__()
        self.x, self.y = np.asarray(x), np.asarray(y)
        self.batch_size = check_positive_int("batch_size", batch_size)
        if micro_batch_size is None:
            micro_batch_size = max(1, batch_size // 8)
        self.micro_batch_size = check_positive_int("micro_batch_size", micro_batch_size)
        if micro_batch_size >= batch_size or batch_size % micro_batch_size:
            raise ValueError(
                f"Argument `micro_batch_size` ({micro_batch_size}) must be smaller "
                f"than `batch_size` ({batch_size}) and divide it. "
                f"Received: micro_batch_size={micro_batch_size}"
            )
        if batch_size > len(self.x):
            raise ValueError(
                f"Argument `batch_size` must be <= the number of examples "
                f"({len(self.x)}). Received: batch_size={batch_size}"
            )
        self.every = check_positive_int("every", every)
        self.ema = check_fraction("ema", ema)
        self.multiple_of = check_positive_int("multiple_of", multiple_of)
        if scheduler is not None:
            if getattr(scheduler.schedule, "boundaries", None) is None:
                raise ValueError(
                    "Argument `scheduler` must be a BatchSizeScheduler with a dict "
                    f"schedule. Received: scheduler={scheduler!r}"
                )
            check_positive_int("max_batch_size", max_batch_size)
        self.scheduler = scheduler
        self.max_batch_size = max_batch_size
        self.loss = loss
        self._rng = np.random.default_rng(seed)
        self._probe = None
        self._sums = np.zeros(2)
        self._weight = 0.0
        self._epoch_start = 0
        self.history = {"step": [], "b_simple": [], "gradient_sq": [], "trace": []}

    def get_state(self):
        """Sampler, running averages and history (checkpointed with a run)."""
        return {"rng": self._rng.bit_generator.state, "sums": self._sums.copy(),
                "weight": self._weight,
                "history": {k: list(v) for k, v in self.history.items()}}

    def set_state(self, state):
        self._rng.bit_generator.state = state["rng"]
        self._sums = np.asarray(state["sums"], np.float64).copy()
        self._weight = float(state["weight"])
        self.history = {k: list(v) for k, v in state["history"].items()}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = optimizer_steps(self.model)

    def on_train_batch_begin(self, batch, logs=None):
        # A batch-begin hook keeps Keras's asynchronous batch-end dispatch on
        # JAX and PyTorch (a batch-end hook would force a device sync every
        # step there; Keras's TensorFlow backend dispatches synchronously).
        done = self._epoch_start + batch  # updates made so far
        if done and done % self.every == 0:
            self.measure(done)

    def measure(self, step=None):
        """Takes one measurement now; returns the smoothed B_simple."""
        if self._probe is None:  # one probe (one traced function) across fits
            self._probe = GradientProbe(lambda: self.model, self.loss)
        index = self._rng.choice(len(self.x), self.batch_size, replace=False)
        micro = self.batch_size // self.micro_batch_size
        small_sq, total = 0.0, None
        for part in np.split(index, micro):
            grads = self._probe(self.x[part], self.y[part])
            flat = np.concatenate([g.astype(np.float64).ravel() for g in grads])
            small_sq += float(flat @ flat) / micro
            total = flat / micro if total is None else total + flat / micro
        big_sq = float(total @ total)
        gradient_sq, trace = noise_scale_estimates(
            small_sq, big_sq, self.micro_batch_size, self.batch_size)
        self._sums = self.ema * self._sums + (1 - self.ema) * np.array([gradient_sq, trace])
        self._weight = self.ema * self._weight + (1 - self.ema)
        g2, s = self._sums / self._weight
        b_simple = float(s / g2) if g2 > 0 else float("inf")
        for key, value in (("step", step), ("b_simple", b_simple),
                           ("gradient_sq", gradient_sq), ("trace", trace)):
            self.history[key].append(value)
        return b_simple

    def on_epoch_end(self, epoch, logs=None):
        if not self.history["b_simple"]:
            return
        b_simple = self.history["b_simple"][-1]
        if logs is not None:
            logs["gradient_noise_scale"] = b_simple
        if self.scheduler is not None and np.isfinite(b_simple):
            now = self.scheduler.schedule(epoch)
            target = int(b_simple) // self.multiple_of * self.multiple_of
            wanted = max(now, min(self.max_batch_size, target))
            if wanted != now:
                boundaries = {k: v for k, v in self.scheduler.schedule.boundaries.items()
                              if k <= epoch}
                boundaries[epoch + 1] = wanted
                self.scheduler.set_schedule(boundaries)
