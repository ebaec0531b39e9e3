"""The MLPerf recipes train their runs' updates at their runs' rates, every one.

`resnet50_imagenet_32k_lars` (Google's v1.0 TPU v4-4096 run) and
`resnet50_imagenet_64k_lars` (v0.7 TPU v3-8192), planned at full size over
ImageNet's 1,281,167 training images (a synthetic source of that size: the
plan reads only the count): the run trains the source's `--train_steps`,
and the optimizer's rate equals the reference's lars_util.py at each update
(tests/schedules/mlperf_test.py transcribes it).
"""

import numpy as np
import pytest

from keras_bigbatch.training import load_recipe
from keras_bigbatch.training import run_configs
from keras_bigbatch.training.plan import plan
from tests.schedules.mlperf_test import N
from tests.schedules.mlperf_test import lars_util_rate

# run_and_time.sh: train_batch_size, lars_base_learning_rate, lars_warmup_epochs,
# train_steps, momentum
RUNS = {
    "resnet50_imagenet_32k_lars": (32768, 29.0, 18, 2355, 0.929),
    "resnet50_imagenet_64k_lars": (65536, 24.699, 31, 1738, 0.951807),
}


@pytest.mark.parametrize("recipe", sorted(RUNS))
def test_the_run_trains_the_published_updates_at_the_published_rates(recipe):
    batch, base, warmup, train_steps, momentum = RUNS[recipe]
    (config,) = run_configs(load_recipe(recipe))
    config["data"] = {"source": "synthetic", "image_size": 32, "train_examples": N,
                      "test_examples": 64}
    run = plan(config)
    assert run.global_batch_size == batch and config["optimizer"]["momentum"] == momentum
    whole = N // batch
    assert run.updates_before[-1] == train_steps and run.epochs == -(-train_steps // whole)
    assert run.epoch_steps(run.epochs - 1) == train_steps - (run.epochs - 1) * whole
    schedule = run.learning_rate_schedule()
    steps = np.arange(train_steps)
    ours = np.array([float(schedule(t)) for t in steps])
    reference = lars_util_rate(steps, base, warmup, train_steps, batch)
    assert ours[0] == 0.0
    np.testing.assert_allclose(ours[1:], reference[1:], rtol=1e-6, atol=0)
    assert config["model"]["zero_init_last_gamma"] is True  # resnet_model.py: init_zero
