"""A distributed training loop for strategies where `model.fit` fails.

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy`
(keras-team/keras#20585). This loop does what `fit` does for one step, with
the same arithmetic as Keras's TensorFlow trainer:

    per replica r:  loss_r = mean over its per_replica_batch of the loss
                    g_r    = d(loss_r / num_replicas_in_sync) / dw
    all replicas:   g      = sum_r g_r      (the optimizer's all-reduce)
                    w     <- optimizer update with g

so the update equals single-device training on the whole global batch. It
drives ordinary Keras callbacks (epoch and batch hooks, `History`).
TensorFlow only.
"""

import keras
import tensorflow as tf


def _model_loss(model, y, logits):
    loss = model.loss(y, logits)
    if model.losses:
        loss = loss + tf.add_n(model.losses)
    return loss


def _correct_and_count(y, logits):
    predicted = tf.argmax(logits, axis=-1, output_type=tf.int64)
    correct = tf.reduce_sum(tf.cast(tf.equal(predicted, tf.cast(y, tf.int64)), tf.float32))
    return correct, tf.cast(tf.shape(y)[0], tf.float32)


def make_evaluator(model, strategy):
    """Returns `evaluate(dataset) -> accuracy` over all replicas.

    Used for every strategy: `model.evaluate` under a multi-device
    MirroredStrategy fails on a last batch that splits unevenly across
    replicas (an AddN shape error in Keras 3.15); counting correct
    predictions per replica and summing has no such problem. The step is
    traced once per evaluator (and once more for a smaller last batch).
    """

    @tf.function(reduce_retracing=True)
    def step(x, y):
        def replica_fn(x, y):
            return _correct_and_count(y, model(x, training=False))

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


def worker_dataset_fn(x, y, global_batch_size, seed, num_replicas):
    """A `dataset_fn` feeding each worker its slice of every global batch.

    Worker `w` of `W` takes the `w`-th contiguous slice of each global batch
    and splits it into its local replicas' batches, in order, so global
    replica `r` sees examples `[r * B_r, (r + 1) * B_r)` of the global batch
    (`B_r` = per-replica batch), exactly as MirroredStrategy splits it. Every
    worker draws the same stateless permutation, so no examples repeat or go
    missing within a step. (`experimental_distribute_dataset` with
    auto-sharding instead hands whole global batches to alternate workers,
    which changes each step's examples.)
    """
    from keras_bigbatch.data import make_dataset

    per_replica = global_batch_size // num_replicas

    def dataset_fn(context):
        dataset = make_dataset(
            x, y, global_batch_size, seed=seed, repeat=True,
            shard=(context.input_pipeline_id, context.num_input_pipelines),
        )
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.OFF
        )
        return dataset.rebatch(per_replica).with_options(options)

    return dataset_fn


def fit_distributed(
    model,
    strategy,
    dataset,
    epochs,
    steps_per_epoch,
    callbacks=(),
):
    """Trains a compiled model under `strategy`, like `model.fit`.

    Args:
        model: a compiled Keras model built inside `strategy.scope()`.
        strategy: the `tf.distribute.Strategy`.
        dataset: `dataset_fn(input_context)` returning this worker's
            repeating dataset of per-replica batches, for
            `strategy.distribute_datasets_from_function` (see
            `worker_dataset_fn`).
        epochs: number of epochs.
        steps_per_epoch: optimizer steps per epoch.
        callbacks: Keras callbacks (the trainer's `TestAccuracy` adds
            `val_accuracy` to the epoch logs).

    Returns:
        The `History` dict: `loss`, `accuracy` and whatever callbacks add.
    """
    num_replicas = strategy.num_replicas_in_sync
    optimizer = model.optimizer
    iterator = iter(strategy.distribute_datasets_from_function(dataset))

    @tf.function
    def train_step(iterator):
        def replica_fn(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                loss = _model_loss(model, y, logits)
                scaled = loss / num_replicas
            grads = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            correct, count = _correct_and_count(y, logits)
            return loss, correct, count

        x, y = next(iterator)
        loss, correct, count = strategy.run(replica_fn, args=(x, y))
        return (
            strategy.reduce(tf.distribute.ReduceOp.MEAN, loss, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, count, axis=None),
        )

    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, history], model=model, epochs=epochs, steps=steps_per_epoch
    )
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        total_loss = correct = count = 0.0
        for batch in range(steps_per_epoch):
            callback_list.on_train_batch_begin(batch)
            loss, c, n = train_step(iterator)
            total_loss += float(loss)
            correct += float(c)
            count += float(n)
            callback_list.on_train_batch_end(batch, {"loss": float(loss)})
        logs = {
            "loss": total_loss / steps_per_epoch,
            "accuracy": correct / max(count, 1.0),
        }
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    return history.history
