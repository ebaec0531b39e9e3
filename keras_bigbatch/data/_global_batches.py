"""tf.data for the adapters: whole global batches cut for a worker and its replicas.

```
global batch t (B rows)  ->  worker w of W keeps rows [w B / W, (w + 1) B / W)
                         ->  cut into per-replica batches of b = B / num_replicas_in_sync
```

so over all replicas step t sees global batch t, as every source does (see
`source.py`). Used by the sources whose factories yield whole global batches
(`dataset_function.py`, `generator.py`).
"""

import tensorflow as tf


def for_replicas(dataset, global_batch_size, shard, batch):
    """`dataset`'s global batches as worker `shard[0]`'s per-replica batches of `batch`."""
    worker, workers = shard
    rows = global_batch_size // workers
    if workers > 1:
        dataset = dataset.map(lambda x, y: (x[worker * rows:(worker + 1) * rows],
                                            y[worker * rows:(worker + 1) * rows]))
    if batch != rows:
        dataset = dataset.rebatch(batch, drop_remainder=True)
    return _finish(dataset)


def full_batches(dataset, global_batch_size):
    """Only `dataset`'s batches of exactly `global_batch_size` rows."""
    return dataset.filter(lambda x, y: tf.shape(y)[0] == global_batch_size)


def from_numpy(generate, spec):
    """A dataset of the numpy `(x, y)` batches `generate()` yields; `spec`: one example's."""
    signature = tuple(tf.TensorSpec((None,) + tuple(s.shape), s.dtype) for s in spec)
    return tf.data.Dataset.from_generator(generate, output_signature=signature)


def tensor_spec(shape, dtype):
    return tf.TensorSpec(shape, tf.as_dtype(dtype))


def _finish(dataset):
    """Deterministic, prefetched; the slicing above is the sharding (no auto-shard)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    options.deterministic = True
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
