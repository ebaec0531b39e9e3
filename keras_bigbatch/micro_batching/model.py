"""`micro_batch(model, micro_batch_size)`: one update per batch, in micro-batches.

```
k = rows per replica / micro_batch_size          forward/backward passes per update
G = (1/k) sum_j dL_j/dw                          = dL/dw of the whole batch (mean loss)
w <- optimizer(w, G)                             one update, one all-reduce, one trust ratio
moving statistics <- mean_j of each pass's       one moving-average update (statistics.py)
```

`model.fit` then trains a batch of any size in the memory of
`micro_batch_size` rows per replica: the learning-rate schedule,
`optimizer.iterations`, callbacks and checkpoints see one step per batch.
With `GhostBatchNormalization` whose `virtual_batch_size` divides the micro
batch, the update equals the one of the whole batch in one pass (weights
and moving statistics). Plain `BatchNormalization` normalizes each micro
batch over its own rows: ghost batch normalization with ghost = micro batch.
Dropout draws new masks on every micro-batch.

This is gradient accumulation inside one train step, like optax's
`MultiSteps`, timm's `--grad-accum-steps` or accelerate's `no_sync`
accumulation; unlike Keras's `gradient_accumulation_steps`, which is refused
here: it makes each micro-step a Keras step (schedules count micro-steps,
BN updates every micro-step, MirroredStrategy fails).

References:
    Hoffer, Hubara & Soudry 2017, "Train longer, generalize better", Sec. 4
    (ghost batches) and Algorithm 1.
"""

import keras

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.micro_batching import _common

_ATTRIBUTE = "_keras_bigbatch_micro_batch_size"


def micro_batch(model, micro_batch_size):
    """Makes `model.fit` run every batch as micro-batches; returns `model`.

    Args:
        model: a `keras.Model` whose class keeps Keras's own `train_step`
            (compiled or not; compile before `fit`).
        micro_batch_size: rows per replica per forward/backward pass; it
            must divide every batch's per-replica rows (`fit`'s
            `batch_size` / replicas; a partial last batch too, or drop it).
            None restores Keras's own step.

    Raises:
        ValueError: `micro_batch_size` is not a positive int or None; the
            model's class has its own `train_step`; its optimizer has
            `gradient_accumulation_steps` (use `micro_batch_size`).

    Example:

    ```python
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    keras_bigbatch.micro_batching.micro_batch(model, 16)
    model.fit(x, y, batch_size=128)   # each update: 8 passes of 16 rows
    ```
    """
    if micro_batch_size is None:
        model.__dict__.pop("train_step", None)
        model.__dict__.pop(_ATTRIBUTE, None)
        model.train_function = None
        return model
    check_positive_int("micro_batch_size", micro_batch_size)
    if type(model).train_step is not keras.Model.train_step:
        raise ValueError(
            f"micro_batch needs Keras's own train_step; {type(model).__name__} defines its "
            "own (micro-batching replaces it). Received: model of class "
            f"{type(model).__name__}")
    if getattr(model, "optimizer", None) is not None:
        _common.check_optimizer(model.optimizer)
    _common.check_ghosts(model, micro_batch_size)
    object.__setattr__(model, _ATTRIBUTE, micro_batch_size)
    object.__setattr__(model, "train_step", _step(model, micro_batch_size))
    model.train_function = None  # fit traces the new step
    return model


def micro_batch_size_of(model):
    """The model's micro batch size, or None (Keras's own step)."""
    return model.__dict__.get(_ATTRIBUTE)


def _step(model, micro_batch_size):
    if keras.backend.backend() == "jax":
        from keras_bigbatch.micro_batching import _jax_step

        def train_step(state, data):
            return _jax_step.train_step(model, state, data, micro_batch_size)
    else:
        from keras_bigbatch.micro_batching import _stateful_step

        def train_step(data):
            return _stateful_step.train_step(model, data, micro_batch_size)
    return train_step
