"""One worker of the two-process `model.fit` test (multi_worker_fit_test.py).

Usage (from the repository root):
    python -m tests.distribute._multi_worker_fit_main TASK_INDEX PORT0,PORT1 OUT.npz

Records how `fit` fails without the fix, then enables it and, for each run
in `RUNS`, trains with `model.fit` on `distribute_datasets_from_function`
input and evaluates; saves weights, logs and evaluation to OUT.npz.
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

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras.src.backend.tensorflow import trainer  # noqa: E402

from keras_bigbatch.distribute import enable_multi_worker_fit  # noqa: E402
from keras_bigbatch.distribute import multi_worker_fit  # noqa: E402
from tests.distribute import fit_equality_test as helpers  # noqa: E402
from tests.distribute.multi_worker_fit_test import EPOCHS  # noqa: E402
from tests.distribute.multi_worker_fit_test import RUNS  # noqa: E402
from tests.distribute.multi_worker_fit_test import STEPS_PER_EPOCH  # noqa: E402
from tests.distribute.multi_worker_fit_test import evaluation_data  # noqa: E402

strategy = tf.distribute.MultiWorkerMirroredStrategy()
x, y = helpers.digits()
data = strategy.distribute_datasets_from_function(helpers.dataset_fn(x, y))
results = {"replicas": strategy.num_replicas_in_sync}


def unfixed_error():
    """'' if `fit` works, else the error's type and first line."""
    with strategy.scope():
        model = helpers.make_model("ghost_batch_norm", "sgd", distributed=True)
    try:
        model.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    except Exception as error:  # noqa: BLE001 - recorded for the test to judge
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return ""


# Keras alone (keras-team/keras#20585), then with only the build fixed: the
# scalar-log reduce fails on its own. Both failures come before any step runs.
results["unfixed_error"] = unfixed_error()
build = trainer.TensorFlowTrainer._maybe_symbolic_build
trainer.TensorFlowTrainer._maybe_symbolic_build = multi_worker_fit._wrap_build(trainer, build)
results["unfixed_reduce_error"] = unfixed_error()
trainer.TensorFlowTrainer._maybe_symbolic_build = build

assert enable_multi_worker_fit()
for name, (normalization, optimizer) in RUNS.items():
    with strategy.scope():
        model = helpers.make_model(normalization, optimizer, distributed=True)
    batch_losses = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_losses.append(float(logs["loss"]))
    )
    history = model.fit(
        data, epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH, callbacks=[record], verbose=0
    )
    evaluation = model.evaluate(evaluation_data(), verbose=0, return_dict=True)
    for k, weight in enumerate(model.get_weights()):
        results[f"{name}__w{k}"] = weight
    results[f"{name}__loss"] = history.history["loss"]
    results[f"{name}__accuracy"] = history.history["accuracy"]
    results[f"{name}__batch_loss"] = batch_losses
    results[f"{name}__evaluation"] = [evaluation["loss"], evaluation["accuracy"]]
np.savez(out, **results)
# Both workers have saved once this all-reduce returns; then skip TF's exit
# handshake with the coordination service, which idles ~18 s on 2 cores.
strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)
print(f"worker {task} done", flush=True)
os._exit(0)
