"""MCLR: median-curvature learning rate (Gao & Zhong, eqs. 20-22)."""

import keras
from keras import ops

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.optimizers import _statistics
from keras_bigbatch.optimizers.layerwise import LayerwiseOptimizer


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class MCLR(LayerwiseOptimizer):
    """Median-curvature learning rate: a layer's rate is its median |w|/|g|.

    Gao & Zhong approximate the curvature radius of the loss along each
    parameter (eq. 17) by |w / g| (eq. 20), and give each layer ("group")
    the median of it, scaled by the global rate (eq. 21); with weight decay
    `beta` the gradient becomes `g + beta * w` (eq. 22). For each variable
    `w` with gradient `g`:

    ```
    R = median|w| / (median|g| + wd * median|w| + epsilon)
    R = 1                  if median|w| == 0 or median|g| == 0
    v = momentum * v + lr * R * (g + wd * w)
    w = w - v
    ```

    The paper writes "median values" without saying of what. We take the
    medians of absolute values, the reading under which `R` is a
    magnitude (a median of signed values is near 0 for zero-mean weights
    and makes `R` change sign at random); and we take the ratio of the two
    medians rather than the median of element-wise ratios, so that a single
    near-zero gradient cannot blow `R` up. A tensor whose gradient is zero
    for at least half its entries (median 0) falls back to `R = 1`, the
    global rate, as LARS does for a zero norm.

    Variables excluded from layer adaptation (by default those with
    ndim <= 1) use `R = 1`. Medians are exact (a sort of the tensor) unless
    `median_sample_size` is set: then tensors larger than it use the median
    of an evenly strided sample of that many entries, which costs a sort of
    the sample only (see `benchmarks/optimizer_step_time.py` for when it
    pays off). Statistics are taken on the all-reduced gradient under
    `tf.distribute` and in float32 for 16-bit variables.

    Args:
        learning_rate: float, schedule or callable, the global rate `gamma`.
            `R` is a step size in weight units per gradient unit, so
            `learning_rate` is a small fraction (0.001-0.05).
        momentum: float in [0, 1). Defaults to 0.
        nesterov: bool. Defaults to False.
        weight_decay: float >= 0, `beta` in eq. 22. Defaults to 0.
        epsilon: float >= 0 in the denominator. Defaults to 1e-12.
        exclude_from_weight_decay: None (ndim <= 1), regex(es) searched in
            `variable.path`, or a callable(variable) -> bool.
        exclude_from_layer_adaptation: the same, for `R = 1`.
        median_sample_size: None (exact medians) or an int > 0, the
            largest number of entries sorted per tensor.
        **kwargs: Keras optimizer arguments.

    Example:

        >>> import keras, numpy as np
        >>> from keras_bigbatch.optimizers import MCLR
        >>> w = keras.Variable(np.array([[1.0, -2.0, 4.0]], "float32"))
        >>> opt = MCLR(learning_rate=0.5, epsilon=0.0)
        >>> opt.apply([np.array([[0.5, 1.0, -0.25]], "float32")], [w])
        >>> # median|w| = 2, median|g| = 0.5, R = 4, w = w - 0.5 * 4 * g
        >>> w.numpy().tolist()
        [[0.0, -4.0, 4.5]]

    References:
        - Gao & Zhong, "Towards understanding and improving large batch
          training" (second-order view, MCLR), section 4, eqs. 17 and 20-22.
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
        weight_decay=0.0,
        epsilon=1e-12,
        exclude_from_weight_decay=None,
        exclude_from_layer_adaptation=None,
        median_sample_size=None,
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
        if median_sample_size is not None:
            check_positive_int("median_sample_size", median_sample_size)
        self.median_sample_size = median_sample_size

    def layer_scale(self, gradient, variable, weight_decay):
        dtype = _statistics.stat_dtype(variable.dtype)
        w_median = _statistics.median_abs(variable, dtype, self.median_sample_size)
        g_median = _statistics.median_abs(gradient, dtype, self.median_sample_size)
        denominator = g_median + weight_decay * w_median + self.epsilon
        ratio = _statistics.safe_ratio(w_median, denominator)
        return ops.where(ops.greater(g_median, 0), ratio, ops.ones_like(ratio))

    def get_config(self):
        config = super().get_config()
        config["median_sample_size"] = self.median_sample_size
        return config
