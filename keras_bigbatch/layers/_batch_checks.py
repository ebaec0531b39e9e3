"""Checks that each replica's batch splits into whole ghost batches.

On one device (no `tf.distribute` strategy, or one replica) any batch works:
`GhostBatchNormalization` makes the remainder a smaller last ghost batch and
weights every ghost batch by its rows. Over several `tf.distribute` replicas
it cannot: each replica assigns its own moving-statistics update and the
variables' `aggregation="mean"` averages the replicas with equal weight, so
rows are weighted alike only when every replica holds the batch the user
asked for, whole ghost batches of `virtual_batch_size` rows.
"""

import keras


def _message(batch_size, virtual_batch_size, layer_name, num_replicas):
    return (
        f"Layer '{layer_name}': under a tf.distribute strategy with "
        f"{num_replicas} replicas, the per-replica batch size ({batch_size}) "
        f"must be divisible by `virtual_batch_size` ({virtual_batch_size}): "
        "the replicas' moving statistics are averaged with equal weight, so "
        "every replica must hold whole ghost batches. Use a per-replica batch "
        "size that is a multiple of virtual_batch_size (global batch = "
        "per-replica batch x replicas; drop the last partial batch with "
        "drop_remainder=True), or a virtual_batch_size that divides it. "
        f"Received: virtual_batch_size={virtual_batch_size}"
    )


def _replicas():
    """Replicas of the enclosing tf.distribute strategy (1 without one)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        return 1
    return tf.distribute.get_strategy().num_replicas_in_sync


def check_divisible_across_replicas(x, virtual_batch_size, layer_name):
    """Returns `x`; under several replicas, raises unless `virtual_batch_size`
    divides its (per-replica) batch.

    A static batch size is checked in Python at trace time. A batch size
    unknown at trace time (TensorFlow graphs built from datasets without
    `drop_remainder`) is checked by a graph assertion (the returned `x`
    depends on it, so it runs before any reshape). Without a strategy, or
    with one replica, nothing is checked. JAX and PyTorch (with or without
    `keras.distribution`, one program over the global batch) are never
    checked here.
    """
    num_replicas = _replicas()
    if num_replicas == 1:
        return x
    batch_size = x.shape[0]
    if batch_size is not None:
        if batch_size % virtual_batch_size:
            raise ValueError(
                _message(batch_size, virtual_batch_size, layer_name, num_replicas)
            )
        return x
    import tensorflow as tf

    dynamic = tf.shape(x)[0]
    check = tf.debugging.assert_equal(
        tf.math.floormod(dynamic, virtual_batch_size),
        0,
        message=_message("dynamic", virtual_batch_size, layer_name, num_replicas),
    )
    with tf.control_dependencies([check]):
        return tf.identity(x)
