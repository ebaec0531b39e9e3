"""LARS: layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017)."""

import keras
from keras import ops

from keras_bigbatch import arguments
from keras_bigbatch.optimizers import _statistics
from keras_bigbatch.optimizers.layerwise import LayerwiseOptimizer


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class LARS(LayerwiseOptimizer):
    """Layer-wise Adaptive Rate Scaling.

    For each variable `w` (a layer's kernel, say) with gradient `g`:

    ```
    lam = trust_coefficient * ||w|| / (||g|| + wd * ||w|| + epsilon)
    lam = 1                      if ||w|| == 0 or ||g|| == 0
    lam = min(lam, 1)            if clip_trust_ratio
    v   = momentum * v + lr * lam * (g + wd * w)
    w   = w - v
    ```

    `wd` is `weight_decay`, coupled inside the trust ratio as in the paper
    (0 for variables excluded from weight decay). Variables excluded from
    layer adaptation use `lam = 1`, i.e. plain momentum SGD; by default
    these are the variables with ndim <= 1 (biases, normalization scales
    and offsets). `clip_trust_ratio=True` is the LARC "clip" mode with the
    ratio expressed relative to the global rate: a layer's rate `lr * lam`
    never exceeds `lr`. (NVIDIA Apex's LARC caps the absolute rate
    `trust_coefficient * ||w|| / ||g||` at `lr` instead; pass
    `trust_coefficient / lr` to reproduce it with a constant `lr`.)

    The norms are taken on the all-reduced (global-batch) gradient under
    `tf.distribute`, on unscaled gradients inside `LossScaleOptimizer`, and
    in float32 for float16/bfloat16 variables.

    Args:
        learning_rate: float, schedule or callable, the global rate `lr`.
            With the default trust coefficient, typical values are 1-10
            times the SGD rate for the same batch; use warm-up.
        momentum: float in [0, 1). Defaults to 0.9.
        nesterov: bool. Defaults to False.
        trust_coefficient: float > 0, `eta` in the paper. Defaults to 0.001.
        weight_decay: float >= 0, coupled L2 decay `beta`. Defaults to 0.
        epsilon: float >= 0 in the ratio's denominator. Defaults to 0.
        exclude_from_weight_decay: None (ndim <= 1), regex(es) searched in
            `variable.path`, or a callable(variable) -> bool.
        exclude_from_layer_adaptation: the same, for `lam = 1`.
        clip_trust_ratio: bool, LARC clip mode. Defaults to False.
        **kwargs: Keras optimizer arguments (`clipnorm`, `global_clipnorm`,
            `use_ema`, `loss_scale_factor`, `name`, ...).

    Example:

        >>> import keras, numpy as np
        >>> from keras_bigbatch.optimizers import LARS
        >>> w = keras.Variable(np.full((2, 2), 3.0, "float32"))
        >>> opt = LARS(learning_rate=1.0, momentum=0.0, trust_coefficient=0.1)
        >>> opt.apply([np.full((2, 2), 4.0, "float32")], [w])
        >>> # ||w|| = 6, ||g|| = 8, lam = 0.1 * 6 / 8 = 0.075, w = 3 - 0.075 * 4
        >>> round(float(w.numpy()[0, 0]), 6)
        2.7

    References:
        - You, Gitman & Ginsburg 2017, "Large Batch Training of Convolutional
          Networks" (arXiv:1708.03888), Algorithm 1 and eq. for the local
          LR `lambda^l = eta * ||w^l|| / (||grad L(w^l)|| + beta ||w^l||)`.
    """

    def __init__(
        self,
        learning_rate=0.1,
        momentum=0.9,
        nesterov=False,
        trust_coefficient=0.001,
        weight_decay=0.0,
        epsilon=0.0,
        exclude_from_weight_decay=None,
        exclude_from_layer_adaptation=None,
        clip_trust_ratio=False,
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
        self.trust_coefficient = arguments.check_positive("trust_coefficient", trust_coefficient)
        self.clip_trust_ratio = arguments.check_bool("clip_trust_ratio", clip_trust_ratio)

    def layer_scale(self, gradient, variable, weight_decay):
        dtype = _statistics.stat_dtype(variable.dtype)
        w_norm = _statistics.l2_norm(variable, dtype)
        g_norm = _statistics.l2_norm(gradient, dtype)
        denominator = g_norm + weight_decay * w_norm + self.epsilon
        ratio = _statistics.safe_ratio(self.trust_coefficient * w_norm, denominator)
        ratio = ops.where(ops.greater(g_norm, 0), ratio, ops.ones_like(ratio))
        if self.clip_trust_ratio:
            ratio = ops.minimum(ratio, 1.0)
        return ratio

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "trust_coefficient": self.trust_coefficient,
                "clip_trust_ratio": self.clip_trust_ratio,
            }
        )
        return config
