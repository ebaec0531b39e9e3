"""`KerasDistributionRuntime`: the `Runtime` of a `KerasDistribution` (no TensorFlow).

`model.fit` reads numpy batches (`DataSource.batches`): process w of W feeds
rows [w B / W, (w + 1) B / W) of every global batch and XLA cuts them per
device. The loss is the global batch's mean, so one update equals the
one-device update (tested on 2 JAX CPU devices). See
`distribute.keras_distribution`.
"""

import numpy as np

from keras_bigbatch.distribute._base_runtime import Runtime


class KerasDistributionRuntime(Runtime):
    """keras.distribution's data parallelism (JAX), or one device (JAX, PyTorch)."""

    @property
    def num_workers(self):
        return self.strategy.num_workers

    @property
    def worker_index(self):
        return self.strategy.worker_index

    @property
    def device_kind(self):
        return self.strategy.device_kind

    def fit_scope(self):
        return self.strategy.scope()

    def training_data(self, source, global_batch_size, seed, start_step):
        return source.batches("train", global_batch_size, seed=seed, start_step=start_step,
                              shard=(self.worker_index, self.num_workers))

    def evaluation_data(self, source, split, global_batch_size):
        return source.batches(split, global_batch_size, training=False)

    def evaluator(self, model, global_batch_size):
        from keras_bigbatch.distribute.evaluation import make_batch_evaluator

        return make_batch_evaluator(model, global_batch_size)

    def all_gather(self, values):
        """All-gathers over the processes of the job: `[processes, n]`."""
        values = np.asarray(values, np.int64).reshape(1, -1)
        if not self.is_multi_worker:
            return values
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(values, tiled=True))

    def refusal(self, feature):
        super().refusal(feature)
        if feature == "batch_growth":
            return ("Argument `batch_growth.enabled=true` needs the TensorFlow backend (its "
                    "batch-size feed is a tf.data pipeline); the Keras backend is "
                    f"{self.backend!r}. Received: batch_growth.enabled=True")
        return None
