"""Per-layer training-dynamics measurements of Gao & Zhong and Hoffer et al."""

import keras
import numpy as np

from keras_bigbatch.callbacks._gradients import GradientProbe
from keras_bigbatch.callbacks._steps import optimizer_steps
from keras_bigbatch.arguments import check_positive_int

QUANTITIES = ("distance", "grad_mean_abs", "stride", "loss_stride", "curvature_radius")


class LayerDiagnostics(keras.callbacks.Callback):
    """Per variable, every `every` steps: distance, E|g|, strides, curvature.

    At a measured step t, for every trainable variable w with `ndim >= 2`
    (kernels; `variables="all"` for every one), with a probe gradient `g` of
    the loss on `batch_size` random training examples taken just before the
    step (model called with `training=False`), `Δw = w_t - w_{t-1}` the
    step's update and `lr` the optimizer's learning rate at that step:

    ```
    distance         = ||w_t - w_0||                 Hoffer et al., Fig. 2
    grad_mean_abs    = mean |g_i|                    Gao & Zhong eq. 4
    stride           = mean |Δw_i| / lr              eq. 6 (normalized stride)
    loss_stride      = mean (-g_i Δw_i) / lr         eq. 8 (first-order loss
                                                     decrease per parameter)
    curvature_radius = median |w_i| / median |g_i|   eq. 20 (median R)
    ```

    For plain SGD, `Δw = -lr g` and the strides reduce to the paper's
    `E|g|` and `E(g^2)`; with momentum or a layer-wise optimizer they
    measure the real update. With `steps_per_execution > 1`, `Δw` spans the
    whole execution.

    Results: `history[quantity][path]` lists, with `history["step"]`; each
    epoch's logs get the latest values as `"{path}/{quantity}"`, so
    `History` and a following `keras.callbacks.TensorBoard` record them.
    `keras_bigbatch.callbacks.plot_diagnostics(history, "fig.png")` draws
    the paper-style panels.

    Args:
        x: training inputs to draw probe batches from.
        y: their labels.
        batch_size: probe batch size, > 0. Default min(256, len(x)).
        every: measure at steps 1, 1 + every, 1 + 2 * every, ... (> 0).
            Default 100.
        variables: `"kernels"` (ndim >= 2, default) or `"all"`.
        loss: per-sample loss; default the model's compiled loss.
        seed: seed of the probe draws.

    References:
        Gao & Zhong, section 2, eqs. 4, 6 and 8 (Figs. 3, 4 and 7) and
        section 4, eqs. 17 and 20 (Fig. 2). Hoffer, Hubara & Soudry 2017,
        section 3 (distance from initialization).
    """

    def __init__(self, x, y, batch_size=None, every=100, variables="kernels", loss=None, seed=0):
        super().__init__()
        self.x, self.y = np.asarray(x), np.asarray(y)
        if batch_size is None:
            batch_size = min(256, len(self.x))
        self.batch_size = check_positive_int("batch_size", batch_size)
        if batch_size > len(self.x):
            raise ValueError(
                f"Argument `batch_size` must be <= the number of examples "
                f"({len(self.x)}). Received: batch_size={batch_size}"
            )
        self.every = check_positive_int("every", every)
        if variables not in ("kernels", "all"):
            raise ValueError(
                "Argument `variables` must be 'kernels' or 'all'. "
                f"Received: variables={variables!r}"
            )
        self.variables = variables
        self.loss = loss
        self._rng = np.random.default_rng(seed)
        self._probe = None
        self._initial = None
        self._pending = None
        self._epoch_start = 0
        self.history = {"step": [], **{q: {} for q in QUANTITIES}}

    def _selected(self):
        chosen = []
        for index, v in enumerate(self.model.trainable_variables):
            if self.variables == "all" or len(v.shape) >= 2:
                chosen.append((index, v.path))
        return chosen

    def _weights(self):
        variables = self.model.trainable_variables
        return [keras.ops.convert_to_numpy(variables[i]).astype(np.float64)
                for i, _ in self._chosen]

    def _learning_rate(self):
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_begin(self, logs=None):
        if self._probe is None:  # one probe (one traced function) across fits
            self._probe = GradientProbe(lambda: self.model, self.loss)
        self._chosen = self._selected()
        if self._initial is None:
            self._initial = self._weights()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = optimizer_steps(self.model)

    def on_train_batch_begin(self, batch, logs=None):
        # Only batch-begin hooks: Keras keeps dispatching batch ends
        # asynchronously (a batch-end hook would sync the device every step).
        # The update of a measured step is read at the next step's begin.
        step = self._epoch_start + batch + 1  # the update about to run
        self._finish()
        if (step - 1) % self.every:
            return
        index = self._rng.choice(len(self.x), self.batch_size, replace=False)
        grads = self._probe(self.x[index], self.y[index])
        grads = [grads[i].astype(np.float64) for i, _ in self._chosen]
        self._pending = (step, self._weights(), grads, self._learning_rate())

    def _finish(self):
        if self._pending is None:
            return
        step, before, grads, rate = self._pending
        self._pending = None
        after = self._weights()
        self.history["step"].append(step)
        for (_, path), w0, w1, w2, g in zip(self._chosen, self._initial, before, after, grads):
            delta = w2 - w1
            median_g = np.median(np.abs(g))
            values = {
                "distance": float(np.linalg.norm(w2 - w0)),
                "grad_mean_abs": float(np.mean(np.abs(g))),
                "stride": float(np.mean(np.abs(delta)) / rate) if rate else float("nan"),
                "loss_stride": float(np.mean(-g * delta) / rate) if rate else float("nan"),
                "curvature_radius": (float(np.median(np.abs(w1)) / median_g)
                                     if median_g > 0 else float("inf")),
            }
            for quantity, value in values.items():
                self.history[quantity].setdefault(path, []).append(value)

    def on_epoch_end(self, epoch, logs=None):
        self._finish()
        if logs is None or not self.history["step"]:
            return
        for quantity in QUANTITIES:
            for path, values in self.history[quantity].items():
                logs[f"{path}/{quantity}"] = values[-1]


def plot_diagnostics(history, path, title=None):
    """Draws `LayerDiagnostics.history` as five panels (one line per layer) to PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {
        "distance": "||w - w0|| (Hoffer Fig. 2)",
        "grad_mean_abs": "E|g| (Gao eq. 4)",
        "stride": "E|Δw| / lr (eq. 6)",
        "loss_stride": "E(-g Δw) / lr (eq. 8)",
        "curvature_radius": "median|w| / median|g| (eq. 20)",
    }
    figure, axes = plt.subplots(1, len(QUANTITIES), figsize=(4 * len(QUANTITIES), 3.4))
    steps = history["step"]
    for axis, quantity in zip(axes, QUANTITIES):
        for name, values in history[quantity].items():
            axis.plot(steps, values, marker=".", label=name)
        axis.set_xscale("log")
        axis.set_yscale("log" if quantity != "loss_stride" else "symlog")
        axis.set_xlabel("update")
        axis.set_title(labels[quantity], fontsize=9)
    axes[0].legend(fontsize=6)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
