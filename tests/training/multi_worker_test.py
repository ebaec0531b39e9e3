"""`keras-bigbatch train --strategy multi-worker`: two real worker processes on 127.0.0.1.

Each worker runs the real command with its own TF_CONFIG. Their saved models
are compared with a one-device run of the same recipe in this process, which
defines the right answer (comparing the workers only with each other once
hid a halved learning rate).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_bigbatch.training import load_recipe
from keras_bigbatch.training import run_configs
from keras_bigbatch.training import train
from tests.multi_process import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = os.path.join(HERE, "digits_recipe.py")
REPO = os.path.dirname(os.path.dirname(HERE))


def run_workers(output, overrides, count=2, recipe=RECIPE):
    workers = [f"127.0.0.1:{port}" for port in free_ports(count)]
    procs = []
    for index in range(count):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_CONFIG=json.dumps({
            "cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        command = [sys.executable, "-m", "keras_bigbatch.training", "train", recipe,
                   "--strategy", "multi-worker", "--runs", "A", "--output", str(output)]
        for override in overrides:
            command += ["--set", override]
        procs.append(subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=240)[0])
    finally:
        for proc in procs:
            proc.kill()
    for proc, text in zip(procs, outputs):
        assert proc.returncode == 0, text[-4000:]


# LARS takes its norms after the cross-worker all-reduce, and GhostBatchNormalization
# averages its moving statistics over replicas: both must still equal one device.
@pytest.mark.parametrize("overrides", [
    ["optimizer.name=sgd"],
    ["optimizer.name=lars", "optimizer.trust_coefficient=0.01", "schedule.learning_rate=1.0"],
])
def test_two_workers_match_one_device(tmp_path, overrides):
    overrides = overrides + ["schedule.epochs=1"]
    run_workers(tmp_path, overrides)
    (config,) = run_configs(load_recipe(RECIPE), ["A"], [o.split("=", 1) for o in overrides])
    single = train(config, verbose=False)
    want = single["model"].get_weights()
    chief = json.loads((tmp_path / "results.json").read_text())["results"][0]
    assert chief["num_replicas"] == 2 and chief["per_replica_batch_size"] == 32
    assert chief["updates"] == single["updates"] == 1348 // 64
    assert chief["test_accuracy"] == pytest.approx(single["test_accuracy"], abs=1e-9)
    worst = 0.0
    for folder in (tmp_path, tmp_path / "worker-1"):
        got = keras.saving.load_model(folder / "A" / "model.keras").get_weights()
        for a, b in zip(want, got):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
            worst = max(worst, float(np.max(np.abs(a - b))))
    print(f"max |w_worker - w_one_device| = {worst:.3g}")


def test_two_workers_on_a_users_own_tf_data_factory_match_one_device(tmp_path):
    # The factory yields whole global batches; each worker keeps its half of
    # every one (kb.data.from_dataset_fn). The recipe file registers the
    # source and the model in every worker that loads it.
    recipe = os.path.join(HERE, "own_data_recipe.py")
    run_workers(tmp_path, ["schedule.epochs=1"], recipe=recipe)
    (config,) = run_configs(load_recipe(recipe), ["A"], [("schedule.epochs", "1")])
    single = train(config, verbose=False)
    chief = json.loads((tmp_path / "results.json").read_text())["results"][0]
    assert chief["num_replicas"] == 2 and chief["updates"] == single["updates"] == 1348 // 64
    assert chief["test_accuracy"] == pytest.approx(single["test_accuracy"], abs=1e-9)
    for folder in (tmp_path, tmp_path / "worker-1"):
        got = keras.saving.load_model(folder / "A" / "model.keras").get_weights()
        for a, b in zip(single["model"].get_weights(), got):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
