"""CBLR: curvature-based learning rate per parameter (Gao & Zhong, eqs. 9-11)."""

import keras
from keras import ops

from keras_bigbatch import arguments
from keras_bigbatch.optimizers.layerwise import LayerwiseOptimizer


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class CBLR(LayerwiseOptimizer):
    """Curvature-based learning rate: each parameter steps by its curvature radius.

    Gao & Zhong's eq. 9 gives the curvature radius of the loss along
    parameter `w_i`, eq. 10 a rate proportional to it and eq. 11 the step:

    ```
    R_i  = (1 + g_i^2)^(3/2) / (|h_i| + epsilon)      # eq. 9, h_i = d2L/dw_i^2
    w_i  = w_i - lr * R_i * (g_i + wd * w_i)          # eqs. 10-11
    ```

    with momentum as in `LayerwiseOptimizer`. The Hessian diagonal `h` is
    estimated Hutchinson-style, `h ~ z * (H z)` with Rademacher `z`
    (E[z z^T] = I), from one Hessian-vector product per step, smoothed by an
    exponential moving average (`curvature_momentum`; the first estimate is
    taken as is). Near a minimum `g` is small and `R_i ~ 1 / h_i`: a
    diagonal Newton step, so `learning_rate` is a fraction of the Newton
    step (<= 1). `epsilon` bounds the rate where the curvature vanishes:
    `R_i <= (1 + g_i^2)^(3/2) / epsilon`. Far from a minimum eq. 9 works
    against stability: the factor `(1 + g_i^2)^(3/2)` lengthens the step
    where the gradient is large (a step is `(1 + g^2)^(3/2)` Newton steps
    long: 5.7x at |g| = 1.5), so keep `learning_rate` small or clip gradients
    (`clipvalue`) early in training.

    The optimizer only sees gradients, so the curvature comes from the
    training step: build the model as a
    `keras_bigbatch.training.CurvatureModel` (TensorFlow backend), whose
    `train_step` computes the Hessian-vector product and calls
    `update_curvature` before `apply`. Compiling an ordinary model with
    CBLR raises an error when the step is traced. Supported: the
    TensorFlow backend, one replica (MirroredStrategy and TPUStrategy are
    refused with a clear error: the curvature slots are written per
    replica).

    Variables excluded from layer adaptation (default: ndim <= 1) take
    plain momentum SGD steps and need no curvature.

    Args:
        learning_rate: float, schedule or callable; `gamma` of eq. 10.
        momentum: float in [0, 1). Defaults to 0.
        nesterov: bool. Defaults to False.
        weight_decay: float >= 0, coupled L2 decay. Defaults to 0.
        epsilon: float > 0 added to |h|. Defaults to 1e-2.
        curvature_momentum: float in [0, 1), EMA factor of the Hessian
            diagonal estimates. Defaults to 0.9.
        exclude_from_weight_decay: a mask as in `LayerwiseOptimizer`.
        exclude_from_layer_adaptation: a mask as in `LayerwiseOptimizer`.
        **kwargs: Keras optimizer arguments.

    References:
        - Gao & Zhong, "Towards understanding and improving large batch
          training", section 4, eqs. 9-11.
        - Hutchinson 1990, "A stochastic estimator of the trace of the
          influence matrix"; Bekas, Kokiopoulou & Saad 2007 (diagonal).
    """

    def __init__(
        self,
        learning_rate=0.1,
        momentum=0.0,
        nesterov=False,
        weight_decay=0.0,
        epsilon=1e-2,
        curvature_momentum=0.9,
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
            epsilon=arguments.check_positive("epsilon", epsilon),
            exclude_from_weight_decay=exclude_from_weight_decay,
            exclude_from_layer_adaptation=exclude_from_layer_adaptation,
            name=name,
            **kwargs,
        )
        self.curvature_momentum = arguments.check_fraction("curvature_momentum", curvature_momentum)
        self._curvature_fed = False

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._curvatures = self.add_optimizer_variables(variables, "curvature")

    def update_curvature(self, hessian_diagonals, variables):
        """Folds new Hessian-diagonal estimates into the moving average.

        Args:
            hessian_diagonals: one tensor per variable (None to skip).
            variables: the trainable variables, in the same order.
        """
        if not self.built:
            self.build(variables)
        self._curvature_fed = True
        first = ops.equal(self.iterations, 0)
        momentum = self.curvature_momentum
        for estimate, variable in zip(hessian_diagonals, variables):
            if estimate is None:
                continue
            slot = self._curvatures[self._get_variable_index(variable)]
            estimate = ops.cast(estimate, slot.dtype)
            self.assign(slot, ops.where(first, estimate, momentum * slot + (1 - momentum) * estimate))

    def layer_scale(self, gradient, variable, weight_decay):
        if not self._curvature_fed:
            raise ValueError(
                "CBLR needs the Hessian diagonal, which a plain `fit` does not "
                "compute: build the model as keras_bigbatch.training.CurvatureModel "
                "(e.g. `CurvatureModel(model.inputs, model.outputs)`), or call "
                "`optimizer.update_curvature(...)` before `apply`."
            )
        curvature = self._curvatures[self._get_variable_index(variable)]
        g = ops.cast(gradient, curvature.dtype)
        return ops.power(1 + ops.square(g), 1.5) / (ops.abs(curvature) + self.epsilon)

    def get_config(self):
        config = super().get_config()
        config["curvature_momentum"] = self.curvature_momentum
        return config
