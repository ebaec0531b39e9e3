"""One worker of the real two-process MultiWorkerMirroredStrategy test.

Usage: python _multi_worker_main.py TASK_INDEX PORT0,PORT1 OUT.npz [OPTIMIZER]
"""

import json
import os
import sys

task, ports, out = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
    "task": {"type": "worker", "index": task},
})
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402

from keras_bigbatch.distribute import get_strategy  # noqa: E402
from keras_bigbatch.training import train  # noqa: E402
from tests.training.multi_worker_test import MULTI_WORKER_OPTIMIZERS  # noqa: E402
from tests.training.trainer_test import digits_config  # noqa: E402

strategy = get_strategy("multi-worker")
optimizer = sys.argv[4] if len(sys.argv) > 4 else "sgd"
config = digits_config(normalization="none", virtual_batch_size=None, optimizer=optimizer,
                       **MULTI_WORKER_OPTIMIZERS[optimizer])
result = train(config, strategy=strategy, verbose=False)
np.savez(out, *result["model"].get_weights(), updates=result["updates"],
         replicas=result["num_replicas"], test_accuracy=result["test_accuracy"])
print(f"worker {task} done: {result['updates']} updates, test accuracy {result['test_accuracy']:.4f}")
