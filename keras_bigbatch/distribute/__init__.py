"""Global/per-replica batch arithmetic and strategy choice.

`batching` is pure Python; `strategy` imports TensorFlow when it builds a
`tf.distribute` strategy; `keras_distribution` (the JAX backend's
data-parallel strategy) never does.
"""

from keras_bigbatch.distribute.batching import global_batch_size
from keras_bigbatch.distribute.batching import per_replica_batch_size
from keras_bigbatch.distribute.keras_distribution import KerasDistribution
from keras_bigbatch.distribute.multi_worker_fit import enable_multi_worker_fit
from keras_bigbatch.distribute.precision import PRECISIONS
from keras_bigbatch.distribute.precision import resolve_precision
from keras_bigbatch.distribute.strategy import STRATEGIES
from keras_bigbatch.distribute.strategy import compile_options
from keras_bigbatch.distribute.strategy import configure_cpu_devices
from keras_bigbatch.distribute.strategy import device_kind
from keras_bigbatch.distribute.strategy import get_strategy
from keras_bigbatch.distribute.strategy import is_multi_worker

__all__ = [
    "KerasDistribution",
    "STRATEGIES",
    "compile_options",
    "PRECISIONS",
    "configure_cpu_devices",
    "device_kind",
    "enable_multi_worker_fit",
    "get_strategy",
    "global_batch_size",
    "is_multi_worker",
    "per_replica_batch_size",
    "resolve_precision",
]
