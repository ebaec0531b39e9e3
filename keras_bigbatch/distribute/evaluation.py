"""Accuracy over all replicas: `make_evaluator` (tf.distribute) and
`make_batch_evaluator` (numpy batches: JAX, PyTorch, keras.distribution)."""

import keras
import numpy as np


def make_batch_evaluator(model, batch_size):
    """Returns `evaluate(batches) -> accuracy` over numpy `(x, y)` batches.

    Every batch is padded to `batch_size` rows (one compiled shape) and
    predicted with `model.predict_on_batch`; only the real rows are counted.
    Under keras.distribution the batch is not sharded: every device predicts
    all of it (`predict_on_batch` feeds it replicated), so the evaluation
    batch costs each device what it costs one.
    """

    def evaluate(batches):
        correct = total = 0
        for x, y in batches:
            count = len(y)
            if count < batch_size:
                x = np.concatenate([x, np.zeros((batch_size - count,) + x.shape[1:], x.dtype)])
            logits = keras.ops.convert_to_numpy(model.predict_on_batch(x))[:count]
            correct += int(np.sum(np.argmax(logits, axis=-1) == np.reshape(y, (count,))))
            total += count
        return correct / max(total, 1)

    return evaluate


def make_evaluator(model, strategy):
    """Returns `evaluate(dataset) -> accuracy` over all replicas.

    `dataset` yields global batches (`DataSource.dataset(..., training=False)`),
    which `strategy` splits. Counts correct predictions per replica and sums
    them: `model.evaluate` under a multi-device MirroredStrategy fails on a
    last batch that splits unevenly (an AddN shape error in Keras 3.15), and
    a sum of counts has no such problem. Under MultiWorkerMirroredStrategy a
    worker whose shard runs out first feeds empty batches until every worker
    is done (tf.distribute's partial-batch handling), so the sum is exact.
    The step is traced once per evaluator (and once more for a smaller last
    batch). Examples whose label is negative are padding
    (`pad_to_full_batches`) and are not counted.
    """
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(x, y):
        def replica_fn(x, y):
            logits = model(x, training=False)
            predicted = tf.argmax(logits, axis=-1, output_type=tf.int64)
            labels = tf.reshape(tf.cast(y, tf.int64), tf.shape(predicted))
            valid = labels >= 0
            correct = tf.reduce_sum(tf.cast(tf.equal(predicted, labels) & valid, tf.float32))
            return correct, tf.reduce_sum(tf.cast(valid, tf.float32))

        correct, count = strategy.run(replica_fn, args=(x, y))
        return (
            strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, count, axis=None),
        )

    def evaluate(dataset):
        correct = total = 0.0
        for x, y in strategy.experimental_distribute_dataset(dataset):
            c, n = step(x, y)
            correct += float(c)
            total += float(n)
        return correct / max(total, 1.0)

    return evaluate


def pad_to_full_batches(dataset, batch_size):
    """`dataset`'s batches with the last one padded to `batch_size` examples.

    TPUs compile for fixed shapes, so an evaluation pass there cannot end
    with a smaller batch. Padding examples are zeros with label -1, which
    `make_evaluator` does not count: the accuracy is that of the unpadded
    dataset (tested against it).
    """
    import tensorflow as tf

    x_spec, y_spec = dataset.element_spec

    def pad(x, y):
        missing = batch_size - tf.shape(y)[0]
        x_pad = tf.zeros(tf.concat([[missing], tf.shape(x)[1:]], 0), x.dtype)
        y_pad = -tf.ones(tf.concat([[missing], tf.shape(y)[1:]], 0), y.dtype)
        x = tf.ensure_shape(tf.concat([x, x_pad], 0), [batch_size] + x_spec.shape[1:].as_list())
        y = tf.ensure_shape(tf.concat([y, y_pad], 0), [batch_size] + y_spec.shape[1:].as_list())
        return x, y

    return dataset.map(pad)
