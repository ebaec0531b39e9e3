"""LayerwiseOptimizer: the shared base of LARS, MCLR, PercentDelta and CBLR."""

import keras
from keras import ops

from keras_bigbatch import arguments
from keras_bigbatch.optimizers import _masks


class LayerwiseOptimizer(keras.optimizers.Optimizer):
    """Momentum SGD on a per-variable scaled direction with coupled decay.

    Subclasses supply only `layer_scale`, the per-variable ("layer-wise")
    factor on the learning rate. For every trainable variable `w` with
    all-reduced gradient `g`:

    ```
    wd  = weight_decay if w is not excluded from weight decay else 0
    d   = g + wd * w                      # coupled weight decay
    s   = layer_scale(g, w, wd)           # 1 if excluded from adaptation
    v   = momentum * v + lr * s * d       # (no v when momentum == 0)
    w   = w - v                           # nesterov: w - (momentum * v + lr * s * d)
    ```

    Weight decay is coupled (added to the gradient, and seen by the
    scale), as in You et al. 2017 (LARS, Algorithm 1) and Gao & Zhong
    eq. 22. Keras's decoupled decay (`Optimizer._apply_weight_decay`) is
    switched off: `weight_decay` here means the coupled decay only.

    With every variable excluded from adaptation this is exactly
    `keras.optimizers.SGD(momentum, nesterov)` with L2 regularization
    `wd/2 * ||w||^2` on the non-excluded variables.

    Under `tf.distribute`, Keras all-reduces gradients before
    `update_step`, so every statistic a subclass takes (norms, medians)
    sees the global-batch gradient. Inside
    `keras.optimizers.LossScaleOptimizer` the gradients arrive unscaled.
    Statistics of float16/bfloat16 variables are computed in float32.

    Args:
        learning_rate: float, schedule or callable; the global rate `lr`.
        momentum: float in [0, 1). Defaults to 0.
        nesterov: bool, Nesterov momentum. Defaults to False.
        weight_decay: float >= 0, coupled L2 decay. Defaults to 0.
        epsilon: float >= 0 added to the scale's denominator. Defaults to 0.
        exclude_from_weight_decay: mask (see below) of variables without
            weight decay. Defaults to None: variables with ndim <= 1.
        exclude_from_layer_adaptation: mask of variables whose scale is 1
            (plain momentum SGD). Defaults to None: variables with ndim <= 1.
        **kwargs: Keras optimizer arguments (`clipnorm`, `global_clipnorm`,
            `use_ema`, `loss_scale_factor`, `gradient_accumulation_steps`,
            `name`, ...).

    A mask is None (the ndim <= 1 rule), a regex string or list of regex
    strings searched in `variable.path` (an explicit list replaces the
    default rule; `[]` excludes nothing), or a callable
    `fn(variable) -> bool` returning True to exclude. All masks are part of
    `get_config` and survive `.keras` saving (a callable must be registered
    with `keras.saving.register_keras_serializable`).
    """

    def __init__(
        self,
        learning_rate,
        momentum=0.0,
        nesterov=False,
        weight_decay=0.0,
        epsilon=0.0,
        exclude_from_weight_decay=None,
        exclude_from_layer_adaptation=None,
        name=None,
        **kwargs,
    ):
        learning_rate = arguments.check_learning_rate(learning_rate)
        momentum = arguments.check_fraction("momentum", momentum)
        nesterov = arguments.check_bool("nesterov", nesterov)
        weight_decay = arguments.check_non_negative("weight_decay", weight_decay)
        epsilon = arguments.check_non_negative("epsilon", epsilon)
        decay_mask = _masks.check_mask("exclude_from_weight_decay", _masks.deserialize_mask(exclude_from_weight_decay))
        adapt_mask = _masks.check_mask(
            "exclude_from_layer_adaptation", _masks.deserialize_mask(exclude_from_layer_adaptation)
        )
        super().__init__(learning_rate=learning_rate, weight_decay=None, name=name, **kwargs)
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.epsilon = epsilon
        self._decay_mask = decay_mask
        self._adapt_mask = adapt_mask

    def layer_scale(self, gradient, variable, weight_decay):
        """The per-variable factor `s` on the learning rate.

        Args:
            gradient: the all-reduced gradient, in the variable's dtype.
            variable: the model variable.
            weight_decay: the coupled decay applied to this variable (0 if
                it is excluded from weight decay), a Python float.

        Returns:
            A scalar tensor (any float dtype), or a tensor of the
            variable's shape for per-parameter rates.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `layer_scale`.")

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momenta = []
        if self.momentum:
            self._momenta = self.add_optimizer_variables(variables, "momentum")
        self._decay_excluded = [_masks.is_excluded(self._decay_mask, v) for v in variables]
        self._adapt_excluded = [_masks.is_excluded(self._adapt_mask, v) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        rate = ops.cast(learning_rate, dtype)
        weight_decay = 0.0 if self._decay_excluded[index] else self.weight_decay
        direction = gradient + ops.cast(weight_decay, dtype) * variable if weight_decay else gradient
        if not self._adapt_excluded[index]:
            rate = rate * ops.cast(self.layer_scale(gradient, variable, weight_decay), dtype)
        step = rate * direction
        if self.momentum:
            velocity = self._momenta[index]
            momentum = ops.cast(self.momentum, dtype)
            self.assign(velocity, momentum * velocity + step)
            step = momentum * velocity + step if self.nesterov else velocity
        self.assign_sub(variable, step)

    def _apply_weight_decay(self, variables):
        """No decoupled decay: `weight_decay` is coupled in `update_step`."""

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Not supported: pass `exclude_from_weight_decay=` to the constructor.

        Keras's method keeps its exclusions outside `get_config`, so they
        would be lost on saving; this optimizer takes them as a constructor
        argument instead.
        """
        raise ValueError(
            f"{type(self).__name__} takes its weight-decay exclusions as the "
            "constructor argument `exclude_from_weight_decay` (regexes matched "
            "against `variable.path`, or a callable), so that they survive "
            "`get_config` and `.keras` saving. Received a call to "
            f"exclude_from_weight_decay(var_list={var_list!r}, var_names={var_names!r})."
        )

    @property
    def exclusions(self):
        """{"weight_decay": [...paths], "layer_adaptation": [...paths]} once built."""
        if not self.built:
            return None
        paths = [v.path for v in self._trainable_variables]
        return {
            "weight_decay": [p for p, x in zip(paths, self._decay_excluded) if x],
            "layer_adaptation": [p for p, x in zip(paths, self._adapt_excluded) if x],
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "momentum": self.momentum,
                "nesterov": self.nesterov,
                "weight_decay": self.weight_decay,
                "epsilon": self.epsilon,
                "exclude_from_weight_decay": _masks.serialize_mask(self._decay_mask),
                "exclude_from_layer_adaptation": _masks.serialize_mask(self._adapt_mask),
            }
        )
        return config
