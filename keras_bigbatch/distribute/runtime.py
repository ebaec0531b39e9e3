"""The one seam between engines: `Runtime`, and `runtime_for(strategy)`.

The trainer, the checkpoints and the command ask the engine they run on
for the same few things, whatever it is:

```
scope(), fit_scope()       where variables are made / where model.fit runs
num_replicas               replicas in sync over all workers (R)
num_workers, worker_index  processes (W) and this one's index (w)
device_kind                "cpu", "gpu" or "tpu"
training_data(...)         global batch t at step t (each worker its share)
evaluation_data, evaluator one ordered pass over a split -> accuracy
all_gather, agree_any      agreement across workers (checkpoints, SIGTERM)
supports / check_supports  refusals ("batch_growth", ...), with the reason
normalization(name)        the model's normalization under this engine
precision, compile_options the dtype policy and `model.compile` options
```

Two implementations: `TFDistributeRuntime` (a `tf.distribute.Strategy`,
TensorFlow; `distribute/_tf_runtime.py`) and `KerasDistributionRuntime`
(a `KerasDistribution` over `keras.distribution`, JAX and PyTorch, no
TensorFlow; `distribute/_keras_runtime.py`). Keras splits its own trainer
by backend the same way. Nothing above `distribute/` asks which one it has.
"""

import keras

from keras_bigbatch.distribute import keras_distribution
from keras_bigbatch.distribute._base_runtime import FEATURES
from keras_bigbatch.distribute._base_runtime import Runtime
from keras_bigbatch.distribute._keras_runtime import KerasDistributionRuntime
from keras_bigbatch.distribute._tf_runtime import TFDistributeRuntime


def runtime_for(strategy=None):
    """The `Runtime` of `strategy`.

    Args:
        strategy: a `tf.distribute.Strategy`, a `KerasDistribution`, a
            `Runtime` (returned as it is), or None: the current one
            (tf.distribute's on TensorFlow, else keras.distribution's).
    """
    if isinstance(strategy, Runtime):
        return strategy
    if strategy is None and keras.backend.backend() != "tensorflow":
        strategy = keras_distribution.current()
    if isinstance(strategy, keras_distribution.KerasDistribution):
        return KerasDistributionRuntime(strategy)
    if strategy is None:
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
    return TFDistributeRuntime(strategy)


__all__ = ["FEATURES", "KerasDistributionRuntime", "Runtime", "TFDistributeRuntime", "runtime_for"]
