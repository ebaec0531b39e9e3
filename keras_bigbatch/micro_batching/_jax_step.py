"""The micro-batched train step of JAX (stateless, one XLA program).

```
for j in 0 .. k-1:                       keras.ops.scan (lax.scan: one compiled body)
    (L_j, aux), g_j = value_and_grad(compute_loss_and_updates / k)(w, s_j, ...)
    G += g_j;  S += float non-trainables of pass j   (each pass from the step's s)
    metrics += (L_j, y_j)                            (streaming: as over the whole batch)
w, opt = optimizer.stateless_apply(opt, G, w)        one update (G: the mean gradient)
s <- S / k (float), the last pass's (the others: seed states)
```

Under `keras.distribution` the rows of every micro-batch lie on every device
(`split.py`), and XLA all-reduces the accumulated gradient once, where
`stateless_apply` reads it.
"""

import jax
import keras
from keras import ops

from keras_bigbatch.micro_batching import _common
from keras_bigbatch.micro_batching.statistics import is_averaged


def train_step(model, state, data, micro_batch_size):
    """`(logs, state)` of one optimizer update (see the module)."""
    trainable, non_trainable, optimizer_variables, metrics_variables = state
    batch = _common.Batch.cut(model, data, micro_batch_size)
    averaged = [is_averaged(v) for v in model.non_trainable_variables]
    k = batch.passes()

    def share(*args, **kwargs):
        # scale / k per pass: the k scaled gradients sum to the whole batch's,
        # with its magnitudes (float16 overflows where the whole batch would)
        loss, aux = model.compute_loss_and_updates(*args, **kwargs)
        return loss / k, aux

    grad_fn = jax.value_and_grad(share, has_aux=True)

    def body(carry, micro):
        grads_sum, stats_sum, chained, metrics = carry
        x, y, sample_weight = _common.Batch.unpack(micro)
        inputs = [s if a else c for s, c, a in zip(non_trainable, chained, averaged)]
        (_, (loss, y_pred, outputs, metrics)), grads = grad_fn(
            trainable, inputs, metrics, x, y, sample_weight, training=True,
            optimizer_variables=optimizer_variables)
        metrics = _stateless_metrics(model, metrics, loss, x, y, y_pred, sample_weight)
        carry = ([a + g for a, g in zip(grads_sum, grads)],
                 [a + ops.cast(o, a.dtype) for a, o in zip(stats_sum, outputs)],
                 outputs, metrics)
        return carry, None

    init = ([ops.zeros_like(v) for v in trainable], [ops.zeros_like(v) for v in non_trainable],
            list(non_trainable), list(metrics_variables))
    carry, _ = ops.scan(body, init, batch.micro)
    grads, stats_sum, chained, metrics_variables = carry
    trainable, optimizer_variables = model.optimizer.stateless_apply(
        optimizer_variables, grads, trainable)
    non_trainable = [ops.cast(s / k, v.dtype) if a else c
                     for s, c, a, v in zip(stats_sum, chained, averaged, non_trainable)]
    mapping = list(zip(model.metrics_variables, metrics_variables))
    with keras.StatelessScope(state_mapping=mapping):
        logs = model.get_metrics_result()
    return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)


def _stateless_metrics(model, metrics_variables, loss, x, y, y_pred, sample_weight):
    """The metrics' values after one pass's loss and predictions (streaming
    metrics: k passes sum to the whole batch's update)."""
    mapping = list(zip(model.metrics_variables, metrics_variables))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        _common.track_loss(model, loss, _common.rows(x))
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
    updated = []
    for variable in model.metrics_variables:
        value = scope.get_current_value(variable)
        updated.append(variable.value if value is None else value)
    return updated
