"""Each stateful backend's autodiff: what a train step cannot say in `keras.ops`.

```
gradients(forward, variables) -> (loss, y_pred, grads)
    forward() -> (loss, scaled_loss, y_pred);  grads = d scaled_loss / d variables
```

TensorFlow records with `tf.GradientTape`, PyTorch asks `torch.autograd.grad`
(so `.grad` is left alone). JAX is stateless and differentiates a function
of the variables' values instead (`_jax_step.py`). Each backend's module is
imported only on that backend, as Keras's own trainers do.
"""

import contextlib

import keras
from keras import ops


def gradients(forward, variables):
    """`(loss, y_pred, grads)`; a variable the loss does not reach gets zeros."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, scaled, y_pred = forward()
        grads = tape.gradient(scaled, variables)
    elif backend == "torch":
        import torch

        loss, scaled, y_pred = forward()
        grads = torch.autograd.grad(scaled, [v.value for v in variables], allow_unused=True)
    else:
        raise ValueError(f"No stateful train step for the {backend!r} backend.")
    grads = [ops.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
    return loss, y_pred, grads


def update_context():
    """Where the optimizer's update runs: PyTorch's `no_grad`, as Keras's trainer."""
    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()

