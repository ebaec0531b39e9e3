"""`TFDistributeRuntime`: the `Runtime` of a `tf.distribute.Strategy` (TensorFlow).

Keras's `model.fit` reads `strategy.distribute_datasets_from_function(
source.dataset)`: each worker reads its slice of every global batch, cut
into per-replica batches, so step t sees global batch t under any strategy.
The compiled loss scales each replica's mean by 1/replicas and the
optimizer sums the replicas' gradients: one update on a global batch equals
the one-device update on that batch (tested against one device).
"""

import contextlib

import numpy as np

from keras_bigbatch.distribute import strategy as strategy_lib
from keras_bigbatch.distribute._base_runtime import Runtime


class TFDistributeRuntime(Runtime):
    """A `tf.distribute.Strategy` (default, Mirrored, MultiWorkerMirrored, TPU)."""

    def __init__(self, strategy):
        super().__init__(strategy)
        self._gather = None

    @property
    def tf_distribute_strategy(self):
        return self.strategy

    @property
    def num_workers(self):
        if not strategy_lib.is_multi_worker(self.strategy):
            return 1
        return self.num_replicas // max(1, len(self.strategy.extended.worker_devices))

    @property
    def worker_index(self):
        if not strategy_lib.is_multi_worker(self.strategy):
            return 0
        return self.strategy.cluster_resolver.task_id

    @property
    def is_multi_worker(self):
        return strategy_lib.is_multi_worker(self.strategy)

    @property
    def device_kind(self):
        return strategy_lib.device_kind(self.strategy)

    def fit_scope(self):
        return contextlib.nullcontext()  # Keras enters the model's strategy itself

    def prepare_fit(self):
        if self.is_multi_worker:
            from keras_bigbatch.distribute.multi_worker_fit import enable_multi_worker_fit

            enable_multi_worker_fit()

    def training_data(self, source, global_batch_size, seed, start_step):
        return self.strategy.distribute_datasets_from_function(
            lambda context: source.dataset("train", global_batch_size, context, seed=seed,
                                           start_step=start_step))

    def scheduled_training_data(self, source, scheduler, seed):
        self.check_supports("batch_growth")
        replicas = self.num_replicas
        return self.strategy.distribute_datasets_from_function(
            lambda context: source.scheduled_dataset(scheduler, replicas, context, seed=seed))

    def evaluation_data(self, source, split, global_batch_size):
        """A tf.data pass, padded to full batches on TPUs (fixed shapes)."""
        from keras_bigbatch.distribute.evaluation import pad_to_full_batches

        dataset = source.dataset(split, global_batch_size, training=False)
        if self.device_kind == "tpu":
            dataset = pad_to_full_batches(dataset, global_batch_size)
        return dataset

    def evaluator(self, model, global_batch_size):
        from keras_bigbatch.distribute.evaluation import make_evaluator

        return make_evaluator(model, self.strategy)

    def local_values(self, variable):
        return list(self.strategy.experimental_local_results(getattr(variable, "value", variable)))

    def is_replica_local(self, variable):
        value = getattr(variable, "value", variable)
        return type(value).__name__.startswith("SyncOnRead")  # tf.distribute's class

    def owns(self, variable):
        return self.strategy.extended.variable_created_in_scope(
            getattr(variable, "value", variable))

    def all_gather(self, values):
        """All-gathers over every replica of every worker: `[replicas, n]`."""
        import tensorflow as tf

        if self._gather is None:
            strategy = self.strategy

            @tf.function
            def gather(values):
                per_replica = strategy.run(lambda: tf.identity(values))
                return strategy.gather(per_replica, axis=0)

            self._gather = gather
        values = tf.constant(np.asarray(values, np.int64).reshape(1, -1))
        return np.asarray(self._gather(values))

    def refusal(self, feature):
        super().refusal(feature)
        if feature == "batch_growth" and self.device_kind == "tpu":
            return ("Argument `batch_growth.enabled=true` cannot run on TPUs: the batch-size "
                    "schedule changes the batch shape, and TPUs compile for fixed shapes. Use "
                    "GPUs, or turn batch growth off. Received: batch_growth.enabled=True")
        return None

    def normalization(self, normalization):
        """`"batch"` becomes `"sync_batch"` over several replicas.

        Keras's BN normalizes each replica's share and keeps unsynchronized
        moving statistics, so only synchronized statistics make the update
        the one-device update on the global batch. (For per-replica
        statistics use `"ghost"` with `virtual_batch_size` = the per-replica
        batch.)
        """
        if normalization == "batch" and self.num_replicas > 1:
            return "sync_batch"
        return normalization
