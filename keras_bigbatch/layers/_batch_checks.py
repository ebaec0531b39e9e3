"""Checks that a batch splits into whole ghost batches."""

import keras


def _message(batch_size, virtual_batch_size, layer_name):
    return (
        f"Layer '{layer_name}': the per-replica batch size ({batch_size}) must "
        f"be divisible by `virtual_batch_size` ({virtual_batch_size}). Use a "
        "per-replica batch size that is a multiple of virtual_batch_size "
        "(global batch = per-replica batch x replicas; drop the last partial "
        "batch with drop_remainder=True), or a virtual_batch_size that divides "
        f"it. Received: virtual_batch_size={virtual_batch_size}"
    )


def check_divisible(x, virtual_batch_size, layer_name):
    """Returns `x`; raises if `virtual_batch_size` does not divide its batch.

    A static batch size is checked in Python at trace time. A batch size
    unknown at trace time (TensorFlow graphs built from datasets without
    `drop_remainder`) is checked by a graph assertion on the TensorFlow
    backend (the returned `x` depends on it, so it runs before any reshape);
    JAX and PyTorch always see static shapes.
    """
    batch_size = x.shape[0]
    if batch_size is not None:
        if batch_size % virtual_batch_size:
            raise ValueError(
                _message(batch_size, virtual_batch_size, layer_name)
            )
        return x
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        dynamic = tf.shape(x)[0]
        check = tf.debugging.assert_equal(
            tf.math.floormod(dynamic, virtual_batch_size),
            0,
            message=_message("dynamic", virtual_batch_size, layer_name),
        )
        with tf.control_dependencies([check]):
            return tf.identity(x)
    return x
