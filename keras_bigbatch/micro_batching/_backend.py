"""Each stateful backend's autodiff: what a train step cannot say in `keras.ops`.

```
gradients(forward, variables) -> (loss, y_pred, grads)
    forward() -> (loss, scaled_loss, y_pred);  grads = d scaled_loss / d variables
passes(k, body, init) -> carry      body(j, carry) -> carry, for j = 0 .. k-1, one at a time
```

`passes` is `keras.ops.fori_loop` but on TensorFlow, where it is a
`tf.while_loop` with `parallel_iterations=1`: the passes read the weights,
not the carry, so TensorFlow's default (10) would run several forward
passes at once, holding their activations together (the memory the micro
batch is there to bound), and Grappler's add rewrite then names one
temporary variable in two iterations at once (`AlreadyExistsError ...
AddOpsRewrite ... tmp_var`, seen with ResNet-50 under
`steps_per_execution` > 1).

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



def passes(k, body, init):
    """`body(j, carry)` for j = 0 .. k-1, strictly one after the other."""
    if keras.backend.backend() != "tensorflow":
        return ops.fori_loop(0, k, body, init)
    import tensorflow as tf

    _, carry = tf.while_loop(lambda j, _: j < k, lambda j, carry: (j + 1, body(j, carry)),
                             (tf.constant(0), init), parallel_iterations=1)
    return carry
