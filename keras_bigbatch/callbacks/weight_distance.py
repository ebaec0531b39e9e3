"""Distance of the weights from their initial values during training."""

import keras
import numpy as np

from keras_bigbatch.callbacks._steps import optimizer_steps


def log_spaced_steps(last_step, points):
    """About `points` integer steps spaced evenly in log(step), 1..last_step."""
    if last_step < 1:
        return []
    grid = np.unique(np.round(np.geomspace(1, last_step, points)).astype(int))
    return [int(s) for s in grid]


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class WeightDistance(keras.callbacks.Callback):
    """Records ||w_t - w_0|| against the update count t, on a log grid.

    ```
    distance(t) = sqrt( sum over trainable variables v of ||v_t - v_0||^2 )
    ```

    `w_0` is captured when training first begins (or on the first `fit` that
    sees this callback). Hoffer et al. observe that this distance grows like
    log(t) ("ultra-slow diffusion"); plot `steps` on a log axis to check.
    Measurements are taken after the updates in `log_spaced_steps(total_steps,
    points)` plus at every epoch end; `history` holds them and each epoch's
    logs get `weight_distance`.

    Args:
        total_steps: the last step of the log grid (e.g. epochs x steps per
            epoch). None measures at epoch ends only.
        points: points on the log grid. Default 40.

    References:
        Hoffer, Hubara & Soudry 2017, section 3 and Figure 2 (distance from
        initialization grows logarithmically with iterations).
    """

    def __init__(self, total_steps=None, points=40):
        super().__init__()
        if total_steps is not None and (
            not isinstance(total_steps, int) or total_steps <= 0
        ):
            raise ValueError(
                "Argument `total_steps` must be a positive integer or None. "
                f"Received: total_steps={total_steps!r}"
            )
        if not isinstance(points, int) or points <= 0:
            raise ValueError(
                f"Argument `points` must be a positive integer. Received: points={points!r}"
            )
        self.total_steps = total_steps
        self.points = points
        self._grid = set(log_spaced_steps(total_steps or 0, points))
        self._initial = None
        self._epoch_start = 0
        self.history = {"step": [], "distance": []}

    def _weights(self):
        return [keras.ops.convert_to_numpy(v) for v in self.model.trainable_variables]

    def distance(self):
        """Current ||w_t - w_0|| over all trainable variables."""
        total = 0.0
        for now, start in zip(self._weights(), self._initial):
            total += float(np.sum((now.astype(np.float64) - start) ** 2))
        return float(np.sqrt(total))

    def _record(self, step):
        if self.history["step"] and self.history["step"][-1] == step:
            return self.history["distance"][-1]
        value = self.distance()
        self.history["step"].append(step)
        self.history["distance"].append(value)
        return value

    def get_state(self):
        """w_0 and the measurements so far (checkpointed with a run)."""
        return {"initial": None if self._initial is None else list(self._initial),
                "history": {k: list(v) for k, v in self.history.items()}}

    def set_state(self, state):
        initial = state["initial"]
        self._initial = None if initial is None else [np.asarray(w) for w in initial]
        self.history = {k: list(v) for k, v in state["history"].items()}

    def on_train_begin(self, logs=None):
        if self._initial is None:
            self._initial = [w.astype(np.float64) for w in self._weights()]
            self._record(optimizer_steps(self.model))

    def on_epoch_begin(self, epoch, logs=None):
        # One read of the step counter per epoch; batch hooks add `batch`.
        self._epoch_start = optimizer_steps(self.model)

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the index of the last batch run, also when several
        # steps run per execution.
        step = self._epoch_start + batch + 1
        if step in self._grid:
            self._record(step)

    def on_epoch_end(self, epoch, logs=None):
        value = self._record(optimizer_steps(self.model))
        if logs is not None:
            logs["weight_distance"] = value

    def get_config(self):
        return {"total_steps": self.total_steps, "points": self.points}
