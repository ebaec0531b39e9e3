"""The training data order: which rows make global batch t. Defined once.

Training reads an endless stream of global batches, a pure function of
(seed, step, shard). With N examples, global batch B, S = N // B steps per
epoch, and worker w of W reading b = B / W rows of every global batch:

```
step t:          epoch e = t // S,  index i = t % S         (`epoch_and_index`)
worker w's slice positions [i B + w b, i B + (w + 1) b)     (`slice_positions`)
                 of epoch e's permutation; W = 1: the whole global batch
rows:            perm(seed, e)[positions]                   (`batch_rows`)
```

The last N - S B positions of every epoch are dropped; the permutation is
new every epoch, so no example is left out for good. A run started at step
t (`start_step`) therefore sees what an uninterrupted run would have seen,
and under every strategy step t holds the same rows in the same order (what
`GhostBatchNormalization` needs: it normalizes consecutive examples
together). A batch-size schedule changes B from epoch to epoch; epoch e
then uses its own B and S = N // B, the same permutation perm(seed, e).

The permutation has two forms, side by side below, and they differ by design:

```
numpy form (JAX, PyTorch; no TensorFlow):
    perm(seed, e) = np.random.default_rng([seed, e]).permutation(N)
tf form (tf.data, TensorFlow backend):
    perm(seed, e)[p] = tf.random.experimental.index_shuffle(p, seed=[seed, e], max_index=N - 1)
```

The tf form computes each position's row in the graph without building the
permutation; numpy has no `index_shuffle`. Each form is kept bit for bit
(resumed runs and recorded results depend on it), so the same seed orders
the data differently on TensorFlow than on the other backends. Everything
else is shared: both forms take the same positions (`slice_positions`) of
their epoch's permutation for the same (seed, step, shard).

This is the order of every in-memory source (`ArraySource`: fashion_mnist,
digits) and of `make_dataset` / `make_scheduled_dataset`. Sources that are
not indexable define theirs in their own pipeline: imagenet2012 reads files
in stateless shuffled windows (`_imagenet_pipeline.py`), synthetic repeats
one batch.
"""

import numpy as np


def epoch_and_index(step, steps_per_epoch):
    """`(t // S, t % S)`: the epoch of global step `step` and its index in the epoch.

    Plain ints or int64 tensors.
    """
    return step // steps_per_epoch, step % steps_per_epoch


def slice_positions(index, global_batch_size, shard=(0, 1)):
    """`[start, stop)`: worker `shard[0]` of `shard[1]`'s positions of batch `index`.

    ```
    b = B // W,  start = index * B + w * b,  stop = start + b
    ```

    Positions index the epoch's permutation. `index` and
    `global_batch_size` may be ints or int64 tensors; `shard` is ints.
    """
    worker, workers = shard
    part = global_batch_size // workers
    start = index * global_batch_size + worker * part
    return start, start + part


# The numpy form.

def epoch_permutation(seed, epoch, count):
    """perm(seed, epoch), numpy form: `np.random.default_rng([seed, epoch]).permutation(count)`."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(count)


def batch_rows(seed, epoch, index, count, global_batch_size, shard=(0, 1)):
    """Rows of worker `shard[0]`'s slice of batch `index` of `epoch`, numpy form."""
    start, stop = slice_positions(index, global_batch_size, shard)
    return epoch_permutation(seed, epoch, count)[start:stop]


def training_rows(seed, start_step, count, global_batch_size, shard=(0, 1)):
    """Rows of worker `shard[0]`'s slices of global steps `start_step`, `start_step + 1`, ...

    The numpy form of the endless training stream: one permutation per
    epoch, drawn when the epoch starts.
    """
    steps = count // global_batch_size
    step, epoch, order = start_step, None, None
    while True:
        this_epoch, index = epoch_and_index(step, steps)
        if this_epoch != epoch:
            epoch, order = this_epoch, epoch_permutation(seed, this_epoch, count)
        start, stop = slice_positions(index, global_batch_size, shard)
        yield order[start:stop]
        step += 1


# The tf form.

def tf_permuted(seed, epoch, positions, count):
    """perm(seed, epoch)[positions], tf form: `index_shuffle(positions, seed=[seed, epoch])`.

    `positions` is an int64 tensor of positions in `[0, count)`; `seed` and
    `epoch` are ints or int64 scalars (`epoch` may be any key, see
    `make_dataset(repeat=False)`).
    """
    import tensorflow as tf

    key = tf.stack([tf.convert_to_tensor(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.index_shuffle(
        positions, seed=key, max_index=tf.constant(count - 1, tf.int64))


def tf_batch_rows(seed, epoch, index, count, global_batch_size, shard=(0, 1)):
    """Rows of worker `shard[0]`'s slice of batch `index` of `epoch`, tf form (int64)."""
    import tensorflow as tf

    start, stop = slice_positions(index, global_batch_size, shard)
    return tf_permuted(seed, epoch, tf.range(start, stop, dtype=tf.int64), count)
