"""PercentDelta: a layer's rate from its mean relative gradient (eq. 24)."""

import keras
from keras import ops

from keras_bigbatch.optimizers import _statistics
from keras_bigbatch.optimizers.layerwise import LayerwiseOptimizer


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class PercentDelta(LayerwiseOptimizer):
    """PercentDelta: every layer changes by about `learning_rate` per step.

    Gao & Zhong's eq. 24 (after Abu-El-Haija 2017) gives each layer the rate
    `eta_g = lr * size(w) / ||g / w||_1`, i.e. `lr` over the mean relative
    gradient, so that the mean relative change `|dw / w|` of a layer is
    `lr`. For each variable `w` with gradient `g`, over its entries with
    `w_i != 0` (`n` of them):

    ```
    P = n / (sum_i |g_i / w_i| + n * wd + epsilon)    # = 1 / (mean|g/w| + wd)
    P = 1                  if n == 0 or sum_i |g_i / w_i| == 0
    v = momentum * v + lr * P * (g + wd * w)
    w = w - v
    ```

    Zero weights are left out of both `size(w)` and the sum (eq. 24 would
    divide by them); a tensor of all-zero weights or all-zero gradients
    falls back to `P = 1`, the global rate, as LARS does for a zero norm.
    Coupled weight decay adds `wd` to the mean relative gradient (the
    relative gradient of `wd/2 * ||w||^2` is exactly `wd`). Variables
    excluded from layer adaptation (by default ndim <= 1) use `P = 1`.

    Args:
        learning_rate: float, schedule or callable: the intended relative
            change per step (0.001-0.01 is typical).
        momentum: float in [0, 1). Defaults to 0.
        nesterov: bool. Defaults to False.
        weight_decay: float >= 0, coupled L2 decay. Defaults to 0.
        epsilon: float >= 0 in the denominator. Defaults to 1e-12.
        exclude_from_weight_decay: None (ndim <= 1), regex(es) searched in
            `variable.path`, or a callable(variable) -> bool.
        exclude_from_layer_adaptation: the same, for `P = 1`.
        **kwargs: Keras optimizer arguments.

    Example:

        >>> import keras, numpy as np
        >>> from keras_bigbatch.optimizers import PercentDelta
        >>> w = keras.Variable(np.array([[1.0, -2.0]], "float32"))
        >>> opt = PercentDelta(learning_rate=0.1, epsilon=0.0)
        >>> opt.apply([np.array([[0.5, 2.0]], "float32")], [w])
        >>> # mean|g/w| = (0.5 + 1) / 2 = 0.75, P = 4/3, w = w - 0.1 * 4/3 * g
        >>> np.round(w.numpy().astype(float), 4).tolist()
        [[0.9333, -2.2667]]

    References:
        - Gao & Zhong, "Towards understanding and improving large batch
          training", section 4, eq. 24.
        - Abu-El-Haija 2017, "Proportionate gradient updates with
          PercentDelta" (arXiv:1708.07227).
    """

    def __init__(
        self,
        learning_rate=0.001,
        momentum=0.0,
        nesterov=False,
        weight_decay=0.0,
        epsilon=1e-12,
        exclude_from_weight_decay=None,
        exclude_from_layer_adaptation=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            epsilon=epsilon,
            exclude_from_weight_decay=exclude_from_weight_decay,
            exclude_from_layer_adaptation=exclude_from_layer_adaptation,
            name=name,
            **kwargs,
        )

    def layer_scale(self, gradient, variable, weight_decay):
        dtype = _statistics.stat_dtype(variable.dtype)
        w = ops.cast(variable, dtype)
        g = ops.cast(gradient, dtype)
        nonzero = ops.not_equal(w, 0)
        safe_w = ops.where(nonzero, w, ops.ones_like(w))
        relative = ops.sum(ops.where(nonzero, ops.abs(g / safe_w), ops.zeros_like(w)))
        count = ops.sum(ops.cast(nonzero, dtype))
        denominator = relative + count * weight_decay + self.epsilon
        ratio = _statistics.safe_ratio(count, denominator)
        return ops.where(ops.greater(relative, 0), ratio, ops.ones_like(ratio))
