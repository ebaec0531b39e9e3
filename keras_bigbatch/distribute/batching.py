"""Global and per-replica batch sizes, always spelled out.

    global_batch_size = per_replica_batch_size * num_replicas_in_sync

Pure Python: usable from any backend and from configuration code.
"""

from keras_bigbatch.arguments import check_positive_int


def per_replica_batch_size(global_batch_size, num_replicas_in_sync):
    """Splits a global batch evenly across replicas.

    Args:
        global_batch_size: examples per optimizer step, summed over replicas.
        num_replicas_in_sync: replicas the batch is split over.

    Returns:
        `global_batch_size // num_replicas_in_sync`.

    Raises:
        ValueError: either size is not a positive integer, or the replicas do
            not divide the global batch (the message lists the nearest valid
            global batch sizes).
    """
    check_positive_int("global_batch_size", global_batch_size)
    check_positive_int("num_replicas_in_sync", num_replicas_in_sync)
    if global_batch_size % num_replicas_in_sync:
        lower = global_batch_size // num_replicas_in_sync * num_replicas_in_sync
        upper = lower + num_replicas_in_sync
        valid = [v for v in (lower, upper) if v > 0]
        raise ValueError(
            f"Argument `global_batch_size` ({global_batch_size}) must be "
            f"divisible by the number of replicas ({num_replicas_in_sync}); "
            f"the nearest valid global batch sizes are {valid}. "
            f"Received: global_batch_size={global_batch_size}"
        )
    return global_batch_size // num_replicas_in_sync


def global_batch_size(per_replica_batch_size, num_replicas_in_sync):
    """Returns `per_replica_batch_size * num_replicas_in_sync`, validated."""
    check_positive_int("per_replica_batch_size", per_replica_batch_size)
    check_positive_int("num_replicas_in_sync", num_replicas_in_sync)
    return per_replica_batch_size * num_replicas_in_sync
