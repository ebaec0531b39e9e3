"""One worker of the two-process micro-batching test (strategies_test.py).

Usage (from the repository root):
    python -m tests.micro_batching._multi_worker_main TASK_INDEX PORT0,PORT1 OUT.npz

Joins a `MultiWorkerMirroredStrategy` of two workers on 127.0.0.1 (one CPU
replica each), enables `enable_multi_worker_fit`, and trains the test's
model with `micro_batch(model, 8)` and `model.fit` for 5 updates on
`distribute_datasets_from_function` input: worker i feeds rows
[32 t + 16 i, 32 t + 16 i + 16) of global batch t. Saves the float weights
(`w0`, `w1`, ... in `model.weights` order), `optimizer.iterations` and the
probe's counters to OUT.npz.
"""

import json
import os
import sys

task, ports, out = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
    "task": {"type": "worker", "index": task},
})
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_bigbatch.data import make_dataset  # noqa: E402
from keras_bigbatch.distribute import enable_multi_worker_fit  # noqa: E402
from keras_bigbatch.micro_batching import micro_batch  # noqa: E402
from tests.micro_batching import strategies_test as strategies  # noqa: E402


def dataset_fn(context):
    """This worker's per-replica rows of every global batch, in order."""
    x, y = strategies.data()
    dataset = make_dataset(
        x, y, strategies.GLOBAL_BATCH_SIZE, shuffle=False, repeat=True,
        shard=(context.input_pipeline_id, context.num_input_pipelines),
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    per_replica = context.get_per_replica_batch_size(strategies.GLOBAL_BATCH_SIZE)
    return dataset.rebatch(per_replica).with_options(options)


strategy = tf.distribute.MultiWorkerMirroredStrategy()
enable_multi_worker_fit()
with strategy.scope():
    model = strategies.make_model("lars", jit_compile=False)
micro_batch(model, strategies.MICRO_BATCH_SIZE)
data = strategy.distribute_datasets_from_function(dataset_fn)
model.fit(data, epochs=1, steps_per_epoch=strategies.UPDATES, verbose=0)

probe = model.layers[0]
results = {
    "replicas": strategy.num_replicas_in_sync,
    "iterations": int(model.optimizer.iterations.numpy()),
    "passes": int(probe.passes.numpy()),
    "rows": int(probe.rows.numpy()),
}
for k, (_, weight) in enumerate(strategies.float_weights(model)):
    results[f"w{k}"] = weight
np.savez(out, **results)
# Both workers have saved once this all-reduce returns; then skip TF's exit
# handshake with the coordination service, which idles ~18 s on 2 cores.
strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)
print(f"worker {task} done", flush=True)
os._exit(0)
