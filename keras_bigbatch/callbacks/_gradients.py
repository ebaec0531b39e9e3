"""Loss gradients of a model on a batch, on the TF, JAX and torch backends.

The instrument callbacks need gradients outside the train step. The model
is called with `training=False`, so nothing is updated (no batch-norm
moving statistics, no dropout): a probe, not a training step.
"""

import keras

from keras_bigbatch.losses import SmallLossDiscarding


def resolve_loss(model, loss=None):
    """`loss`, or the single loss `model.compile` received, as a callable."""
    loss = model.loss if loss is None else loss
    if isinstance(loss, (dict, list, tuple)) or loss is None:
        raise ValueError(
            "Argument `loss` is needed: the model has no single compiled loss "
            f"(model.loss={model.loss!r}). Pass a loss callable."
        )
    if isinstance(loss, SmallLossDiscarding):
        loss = loss.loss  # probe the plain per-sample loss
    return keras.losses.get(loss)


class GradientProbe:
    """`probe(x, y)` returns the gradients of the mean loss, one per variable.

    Args:
        get_model: a callable returning the model. Callbacks pass
            `lambda: self.model`: on JAX, `Callback.model` syncs the training
            state into the variables, which hold no value mid-`fit` otherwise.
        loss: per-sample loss; default the model's compiled loss.
    """

    def __init__(self, get_model, loss=None):
        self._get_model = get_model
        self.loss = resolve_loss(get_model(), loss)
        self._function = None

    @property
    def model(self):
        return self._get_model()

    @property
    def variables(self):
        return self.model.trainable_variables

    def _mean_loss(self, y, prediction):
        return keras.ops.mean(self.loss(y, prediction))

    def __call__(self, x, y):
        if self._function is None:
            self._function = getattr(self, "_build_" + keras.backend.backend())()
        return [keras.ops.convert_to_numpy(g) for g in self._function(x, y)]

    def _build_tensorflow(self):
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def gradients(x, y):
            with tf.GradientTape() as tape:
                value = self._mean_loss(y, self.model(x, training=False))
            return tape.gradient(value, self.variables)

        return gradients

    def _build_jax(self):
        import jax

        def value(trainable, non_trainable, x, y):
            prediction, _ = self.model.stateless_call(trainable, non_trainable, x, training=False)
            return self._mean_loss(y, prediction)

        grad = jax.jit(jax.grad(value))

        def gradients(x, y):
            trainable = [v.value for v in self.variables]
            non_trainable = [v.value for v in self.model.non_trainable_variables]
            return grad(trainable, non_trainable, x, y)

        return gradients

    def _build_torch(self):
        import torch

        def gradients(x, y):
            value = self._mean_loss(y, self.model(x, training=False))
            return torch.autograd.grad(value, [v.value for v in self.variables])

        return gradients
