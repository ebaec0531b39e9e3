"""An ImageNet recipe under the real 2-process MultiWorkerMirroredStrategy (127.0.0.1).

The workers read the generated TFRecord shards, sharded by files (4 train
shards, 2 workers). With file sharding the global batch of step t differs
from a one-device run's, so this test checks what must hold anyway: both
workers finish the recipe's steps with 2 replicas in sync and end with the
same weights, which are finite and moved from the initial ones. That the
multi-worker update equals the one-device update on the same global batch
is tested on the trainer itself (tests/training/multi_worker_test.py).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np

from tests.multi_process import free_ports

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_alexnet_bn_lars_smoke_on_two_workers(tmp_path, imagenet_sample):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                   KERAS_BIGBATCH_IMAGENET_DIR=str(imagenet_sample),
                   TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                         "task": {"type": "worker", "index": index}}))
        command = [sys.executable, "-m", "keras_bigbatch.training", "train",
                   "alexnet_bn_imagenet", "--size", "smoke", "--runs", "LARS-8K",
                   "--strategy", "auto", "--output", str(tmp_path)]
        procs.append(subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    try:
        outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    for proc, text in zip(procs, outputs):
        assert proc.returncode == 0, text[-4000:]
    chief = json.loads((tmp_path / "results.json").read_text())
    (row,) = chief["results"]
    assert row["num_replicas"] == 2 and row["per_replica_batch_size"] == 8
    assert row["updates"] == 2 * (32 // 16)
    assert all(check["ok"] for check in chief["expected"])
    models = [keras.saving.load_model(folder / "LARS-8K" / "model.keras")
              for folder in (tmp_path, tmp_path / "worker-1")]
    for a, b in zip(*(m.get_weights() for m in models)):
        np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a))
