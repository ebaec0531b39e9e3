"""What every backend's micro-batched step shares: the cut batch and the loss metric."""

import dataclasses

import keras
from keras import ops

from keras_bigbatch.micro_batching import split as split_lib

_PARTS = ("x", "y", "sample_weight")


@dataclasses.dataclass
class Batch:
    """A step's batch and its micro-batches (`split.py`).

    Attributes:
        x, y, sample_weight: the whole batch, as `fit` handed it.
        micro: `{"x": ..., ...}` of the present parts, each `(k, R m, ...)`.
        groups: `R`, the replicas the rows lie over (`data_parallel_groups`).
    """

    x: object
    y: object
    sample_weight: object
    micro: dict
    groups: int

    @classmethod
    def cut(cls, model, data, micro_batch_size):
        """Unpacks `data` and cuts it; checks the optimizer and the sizes first."""
        check_optimizer(model.optimizer)
        _check_unsynchronized(model)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        groups = split_lib.data_parallel_groups()
        split_lib.micro_batch_count(_first(x).shape[0], micro_batch_size, groups)
        parts = {name: split_lib.split(value, micro_batch_size, groups)
                 for name, value in zip(_PARTS, (x, y, sample_weight)) if value is not None}
        return cls(x, y, sample_weight, parts, groups)

    @staticmethod
    def unpack(micro):
        """`(x, y, sample_weight)` of one micro-batch (None where absent)."""
        return tuple(micro.get(name) for name in _PARTS)

    def micro_batch(self, j):
        """`{"x": ..., ...}` of micro-batch `j` (an int or a loop index)."""
        return keras.tree.map_structure(lambda array: array[j], self.micro)

    def passes(self):
        """`k` (an int, or a scalar tensor while TensorFlow traces an unknown batch)."""
        leading = _first(self.micro["x"]).shape[0]
        return leading if leading is not None else ops.shape(_first(self.micro["x"]))[0]

    def rows(self):
        """Rows of the whole batch (what Keras weights the loss metric by)."""
        return rows(self.x)


def rows(x):
    """Rows of the batch `x` (an int, or a scalar tensor when unknown while tracing)."""
    leading = _first(x).shape[0]
    return leading if leading is not None else ops.shape(_first(x))[0]


def _first(x):
    return next(i for i in keras.tree.flatten(x) if i is not None)


def check_optimizer(optimizer):
    """Refuses Keras's own accumulation alongside micro-batching.

    Raises:
        ValueError: the model is not compiled, or its optimizer has
            `gradient_accumulation_steps` set (which counts micro-steps as
            updates; see `micro_batch`).
    """
    if optimizer is None:
        raise ValueError("micro_batch: compile the model before fit (it has no optimizer).")
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    steps = getattr(inner, "gradient_accumulation_steps", None)
    if steps:
        raise ValueError(
            f"Argument `gradient_accumulation_steps` ({steps}) is not supported with "
            "micro-batching: Keras's accumulation feeds learning-rate schedules the "
            "micro-step count, updates batch-normalization statistics on every "
            "micro-step and fails under MirroredStrategy. Use `micro_batch_size` "
            "instead (one update per global batch, in micro-batches of that many rows "
            "per replica). Received: gradient_accumulation_steps="
            f"{steps}")


def check_ghosts(model, micro_batch_size):
    """Refuses a ghost batch that does not divide the micro batch: a ghost would
    straddle two passes (GhostBatchNormalization would normalize a smaller
    remainder ghost in each, not the whole batch's ghosts)."""
    for layer in _layers(model):
        ghost = getattr(layer, "virtual_batch_size", None)
        if isinstance(ghost, int) and micro_batch_size % ghost:
            raise ValueError(
                f"Argument `micro_batch_size` ({micro_batch_size}) must be a multiple of layer "
                f"{layer.name!r} `virtual_batch_size` ({ghost}): a ghost batch may not "
                "straddle two micro-batches. Valid: multiples of "
                f"{ghost}. Received: micro_batch_size={micro_batch_size}")


def _layers(model):
    """Every layer of `model`, nested ones included."""
    pending = list(getattr(model, "layers", ()))
    while pending:
        layer = pending.pop()
        yield layer
        pending.extend(getattr(layer, "layers", ()))


def _check_unsynchronized(model):
    """Refuses synchronized BN over several tf.distribute replicas: its
    cross-replica sum inside the loop over passes is a `merge_call`, which
    TensorFlow cannot run in a `tf.while_loop`."""
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    if tf.distribute.get_strategy().num_replicas_in_sync == 1:
        return
    for layer in _layers(model):
        if getattr(layer, "synchronized", False):
            raise ValueError(
                f"Layer {layer.name!r} is a synchronized BatchNormalization: micro-batching "
                "over several tf.distribute replicas cannot sync inside the loop over "
                "micro-batches (merge_call in a tf.while_loop). Use synchronized=False (each "
                "replica's micro batch normalized over its own rows) or "
                "keras_bigbatch.layers.GhostBatchNormalization.")


def track_loss(model, loss, rows):
    """Updates the `"loss"` metric as Keras's `train_step` does: the step's
    mean loss, weighted by its rows (`self.metrics`' metric named "loss")."""
    for metric in model.metrics:
        if metric.name == "loss":
            metric.update_state(loss, sample_weight=rows)
            return


def unscale_for_distribution(loss):
    """`loss * R` under R tf.distribute replicas (`compute_loss` divided by R so
    that the all-reduced sum is the mean), as Keras's `train_step` logs it."""
    if keras.backend.backend() != "tensorflow":
        return loss
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss * replicas if replicas > 1 else loss
