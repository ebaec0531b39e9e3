"""Cutting a step's batch into micro-batches.

A train step sees `b` rows: the per-replica batch under tf.distribute (each
replica runs its own step), the global batch under keras.distribution (one
program whose rows are laid out over `R` devices, device r holding rows
`[r b / R, (r + 1) b / R)`). With `m` rows per replica per pass:

```
k = b / (R * m)                                  passes per update
x[b, ...] -> (R, k, m, ...) -> (k, R, m, ...) -> (k, R * m, ...)
micro-batch j = the j-th m rows of every replica's b / R
```

so every device works on each pass, and a ghost batch of the big batch
(`virtual_batch_size` dividing `m`) lies whole inside one micro-batch:
the set of ghost statistics is the big batch's.
"""

import keras
from keras import ops


def data_parallel_groups():
    """`R`: the devices one train step's rows are laid out over.

    1 on TensorFlow (tf.distribute hands each replica its own rows) and
    without a `keras.distribution`; else the size of the distribution's
    batch axis (`DataParallel`: every device of its mesh).
    """
    if keras.backend.backend() == "tensorflow":
        return 1
    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    mesh = distribution.device_mesh
    axis = getattr(distribution, "batch_dim_name", None) or mesh.axis_names[0]
    return int(mesh.shape[list(mesh.axis_names).index(axis)])


def micro_batch_count(rows, micro_batch_size, groups=1):
    """`k = rows / (groups * micro_batch_size)` passes, checked.

    Args:
        rows: rows of the step's batch (None: not known while tracing; the
            reshape then checks at run time).
        micro_batch_size: rows per replica per pass.
        groups: replicas the rows are laid out over (`data_parallel_groups`).

    Raises:
        ValueError: `groups * micro_batch_size` does not divide `rows`; the
            message lists the micro batch sizes that would.
    """
    if rows is None:
        return None
    per_replica, remainder = divmod(rows, groups)
    if remainder or per_replica % micro_batch_size:
        raise ValueError(
            f"Argument `micro_batch_size` ({micro_batch_size}) must divide the "
            f"per-replica batch ({rows} rows over {groups} replica(s)). Valid: "
            f"{divisors(per_replica) if not remainder else 'none (the replicas do not divide it)'}. "
            "Batches of other sizes (a partial last batch) need a micro batch that "
            "divides them too, or `drop_remainder=True`."
        )
    return per_replica // micro_batch_size


def divisors(n):
    """The divisors of `n`, ascending (the valid micro batch sizes)."""
    return [d for d in range(1, n + 1) if n % d == 0]


def split(x, micro_batch_size, groups=1):
    """`(k, groups * m, ...)` micro-batches of every array in `x` (a nest)."""

    def cut(array):
        shape = tuple(array.shape[1:])
        blocks = ops.reshape(array, (groups, -1, micro_batch_size) + shape)
        blocks = ops.swapaxes(blocks, 0, 1)
        return ops.reshape(blocks, (-1, groups * micro_batch_size) + shape)

    return keras.tree.map_structure(cut, x)

