"""The micro-batched train step of the stateful backends (TensorFlow, PyTorch).

```
for j in 0 .. k-1:                       one pass at a time (_backend.passes: a tf.while_loop)
    y_j = model(x_j, training=True);  L_j = compute_loss(x_j, y_j)
    G  += d (scale_loss(L_j) / k) / dw   (_backend.py; the loss scale's share per pass)
    S  += float non-trainables after the pass; the others (seed states) carried
          to the next pass  (held in a StatelessScope: no variable of the model
          is assigned inside the loop, hence no cross-replica sync point)
    loss metric and compiled metrics += (L_j, y_j)     (streaming: as over the whole batch)
optimizer.apply(G)                       one update, one all-reduce (G: the mean gradient)
non-trainables <- S / k, the carried ones  (statistics.py)
```

Under tf.distribute each replica runs this on its own rows and the
optimizer's `apply` all-reduces the accumulated gradient once.
"""

import keras
from keras import ops

from keras_bigbatch.micro_batching import _common
from keras_bigbatch.micro_batching._backend import gradients
from keras_bigbatch.micro_batching._backend import passes
from keras_bigbatch.micro_batching._backend import update_context
from keras_bigbatch.micro_batching.statistics import is_averaged


def train_step(model, data, micro_batch_size):
    """One optimizer update from `data` in micro-batches (see the module)."""
    batch = _common.Batch.cut(model, data, micro_batch_size)
    variables = list(model.trainable_variables)
    averaged = [v for v in model.non_trainable_variables if is_averaged(v)]
    chained = [v for v in model.non_trainable_variables if not is_averaged(v)]

    k = batch.passes()

    def body(j, carry):
        grads_sum, stats_sum, chained_values = carry
        x, y, sample_weight = _common.Batch.unpack(batch.micro_batch(j))

        def forward():
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                      training=True)
            # scale / k per pass: the k scaled gradients sum to the whole batch's,
            # with its magnitudes (float16 overflows where the whole batch would)
            return loss, model.optimizer.scale_loss(loss) / ops.cast(k, loss.dtype), y_pred

        # The scope holds the layers' assignments: the moving statistics keep
        # the step's values, the chained ones read the last pass's.
        with keras.StatelessScope(state_mapping=list(zip(chained, chained_values))) as scope:
            loss, y_pred, grads = gradients(forward, variables)
        stats = [_value(scope, v) for v in averaged]
        chained_values = [_value(scope, v) for v in chained]
        for variable in model.metrics_variables:  # local (sync on read): no sync point
            if scope.get_current_value(variable) is not None:
                variable.assign(scope.get_current_value(variable))
        _common.track_loss(model, _common.unscale_for_distribution(loss), _common.rows(x))
        model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        return ([a + g for a, g in zip(grads_sum, grads)],
                [a + ops.cast(s, a.dtype) for a, s in zip(stats_sum, stats)], chained_values)

    init = ([ops.zeros_like(v) for v in variables], [ops.zeros_like(v) for v in averaged],
            [ops.copy(ops.convert_to_tensor(v)) for v in chained])
    grads, stats_sum, chained_values = passes(k, body, init)
    with update_context():
        model.optimizer.apply(grads, variables)
        for variable, total in zip(averaged, stats_sum):
            variable.assign(total / ops.cast(k, total.dtype))
        for variable, value in zip(chained, chained_values):
            variable.assign(value)
    return model.get_metrics_result()


def _value(scope, variable):
    """`variable` as the pass left it (its assignment held in `scope`)."""
    value = scope.get_current_value(variable)
    return ops.convert_to_tensor(variable) if value is None else value
