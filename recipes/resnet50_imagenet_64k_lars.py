"""ResNet-50 on ImageNet at batch 65536 with LARS: Google's MLPerf v0.7 TPU run.

Source: MLPerf Training v0.7 (research division), Google's ResNet-50 on TPU
v3-8192 at global batch 65536, the largest ResNet-50 batch with public
hyperparameters. From mlcommons/training_results_v0.7 at commit 0a8a85a2:
Google/benchmarks/resnet/tpu-v3-8192-TF/run_and_time.sh (the flags),
Google/benchmarks/resnet/implementations/resnet-research-TF-tpu-v3-8192/
lars_util.py (`poly_rate_schedule`), resnet_main.py (`current_epoch`) and
resnet_model.py, and Google/results/tpu-v3-8192-TF/resnet/result_0..4.txt.
You, Gitman & Ginsburg 2017 (arXiv:1708.03888) introduced LARS.

Step for step as that run:

    updates   1738 (--train_steps; `schedule.updates`) = 88.9 epochs of
              N / B = 19.549: 88 epochs of N // B = 19 updates and a last
              one of 16
    lr(t)     the run's own rule (`schedule.convention: mlperf`,
              `MLPerfPolynomialDecay`): epoch = t / (N / B); 24.699 t /
              (31 N / B) while that epoch <= 31 (t <= 606); then poly(2) on
              max(1, t - 606) over 1738 - 606 + 1 = 1133 updates to 1e-4;
              equal to a float32 transcription of lars_util.py at every one
              of the 1738 updates (tests/schedules/mlperf_test.py)
    LARS      momentum 0.951807, weight decay 1e-4 inside LARS, trust
              coefficient 0.001 (tf.contrib's default eeta), epsilon 0; BN
              parameters and biases get neither (skip_list)
    loss      label smoothing 0.1
    BN        statistics over 64 examples (the run: groups of 8 cores x 8);
              momentum 0.9, epsilon 1e-5; each residual block's last BN
              gamma starts at 0 (resnet_model.py, init_zero=True)

Expected: 75.94-76.06% top-1 in the five result logs, four at the last
evaluation (after update 1738, logged as epoch 88) and one (76.01%) one
evaluation earlier; the MLPerf target is 75.9%. Not the run: BN over ghost
batches of 64 in each replica (so 65536 / replicas must be a multiple of
64: at most 1024 replicas), training crops of area (0.08, 1) (the run's:
(0.05, 1), bounding-box guided), no space-to-depth stem.

Hardware and wall time: the run trained on 8192 TPU v3 cores in 29 s of
steps. In one pass, 65536 / 128 = 512 v3 cores hold the batch; fewer
devices train the same update by micro-batching (`micro_batch_size` m): k
passes of m images per replica, one optimizer update, the activation
memory of m images (the ghost batch 64 divides m):

    k = 65536 / (replicas x m)
    m that fits (estimates, not measured): ResNet-50 at 224 px in bfloat16 or
    float16 holds about 256 images per 80 GB GPU, 128 per TPU v3 core
    (16 GiB), 256 per TPU v4 chip (32 GiB; one replica of two cores)

    hardware          replicas    m     k
    1 GPU (80 GB)         1      256    65536 / (1 x 256) = 256
    8 GPUs (80 GB)        8      256    65536 / (8 x 256) = 32
    TPU v3-8              8      128    65536 / (8 x 128) = 64
    TPU v4-8              4      256    65536 / (4 x 256) = 64

At ~2,500 images/s per GPU (an estimate), 88.9 x 1,281,167 / 2,500 s = 12.7
hours on 1 GPU, 1.6 hours on 8. A step reads the whole per-replica batch:
65536 x 224 x 224 x 3 bytes = 9.9 GB of uint8 images on 1 GPU.

Command:
    keras-bigbatch train resnet50_imagenet_64k_lars --strategy tpu --set data.dir=gs://BUCKET/imagenet
    keras-bigbatch train resnet50_imagenet_64k_lars --set micro_batch_size=256 --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_64k_lars --strategy mirrored --set micro_batch_size=256 --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_64k_lars --strategy tpu --set micro_batch_size=128 --set data.dir=gs://BUCKET/imagenet   (v3-8)
    keras-bigbatch train resnet50_imagenet_64k_lars --strategy tpu --set micro_batch_size=256 --set data.dir=gs://BUCKET/imagenet   (v4-8)
    python -m keras_bigbatch.data.imagenet_sample /tmp/sample     (small files, for --size smoke)
    KERAS_BIGBATCH_IMAGENET_DIR=/tmp/sample keras-bigbatch train resnet50_imagenet_64k_lars --size smoke
"""

from keras_bigbatch.recipes import _imagenet
from keras_bigbatch.schedules import Regime

# The published hyperparameters this recipe follows, for its page
# (docs/_hooks.py renders them beside the recipe's values).
PUBLISHED = {
    "source": ("MLPerf Training v0.7, Google's ResNet-50 on TPU v3-8192 at batch 65536 "
               "(mlcommons/training_results_v0.7@0a8a85a2, Google/benchmarks/resnet/: "
               "tpu-v3-8192-TF/run_and_time.sh, implementations/resnet-research-TF-tpu-v3-8192/"
               "lars_util.py, resnet_main.py and resnet_model.py; "
               "Google/results/tpu-v3-8192-TF/resnet/result_0..4.txt)"),
    "runs": {
        "LARS-64K": {
            "schedule.batch_size": (65536, "--train_batch_size=65536"),
            "schedule.learning_rate": (24.699, "--lars_base_learning_rate=24.699"),
            "schedule.updates": (1738, "--train_steps=1738 = 88.9 epochs of N/B = 19.549"),
            "schedule.warmup_epochs": (31, "--lars_warmup_epochs=31, linear from 0"),
            "schedule.convention": ("mlperf", "lars_util.py poly_rate_schedule: float epochs, "
                                              "max(1, t - w), T - w + 1"),
            "schedule.polynomial_power": (2.0, "lars_util.py power=2.0"),
            "schedule.end_learning_rate": (1e-4, "lars_util.py end_lr"),
            "optimizer.momentum": (0.951807, "--momentum=0.951807"),
            "optimizer.weight_decay": (1e-4, "--weight_decay=0.0001, inside LARS; skip_list "
                                             "batch_normalization and bias"),
            "optimizer.trust_coefficient": (0.001, "tf.contrib LARSOptimizer's default eeta "
                                                   "(lars_util.py passes none)"),
            "optimizer.epsilon": (0.0, "--lars_epsilon=0"),
            "loss.label_smoothing": (0.1, "--label_smoothing=0.1"),
            "model.virtual_batch_size": (64, "model_bn_span 64: BN over 8 replicas x 8 "
                                             "(--distributed_group_size=8)"),
            "model.normalization_momentum": (0.9, "resnet_model.py batch_norm_decay"),
            "model.normalization_epsilon": (1e-5, "resnet_model.py batch_norm_epsilon"),
            "model.zero_init_last_gamma": (True, "resnet_model.py: init_zero=True on each "
                                                 "block's last BN"),
            "data.image_size": 224,
        },
    },
    "accuracy": {"LARS-64K": ("75.94-76.06% top-1 in the 5 result logs (76.064% in "
                              "result_0.txt at the last evaluation), the 75.9% target")},
}

# The docstring's micro-batch table (`train --help`; `recipes/_imagenet.py`).
MICRO_BATCHES = {"fits": _imagenet.RESNET50_FITS,
                 "hardware": _imagenet.RESNET50_GPUS + _imagenet.RESNET50_TPUS}


def get_config(size="default"):
    # Defaults.
    batch, epochs, warmup_epochs, learning_rate, ghost, image_size = 65536, 89, 31, 24.699, 64, 224
    updates = 1738  # the run's --train_steps
    evaluation = {"evaluations": 22, "batch_size": _imagenet.EVAL_BATCH_PER_REPLICA,
                  "distance_points": 0, "train_accuracy": False}
    # The five result logs: 75.94-76.06%; a point either side.
    expected = {"LARS-64K": {"test_accuracy": (0.749, 0.771)}}
    jit_compile = "auto"
    # Smoke override block: a few steps on generated files.
    if size == "smoke":
        batch, epochs, warmup_epochs, learning_rate = _imagenet.SMOKE_BATCH, 2, 0.5, 1.0
        ghost, image_size = 4, _imagenet.SMOKE_IMAGE_SIZE
        evaluation, jit_compile = _imagenet.SMOKE_EVALUATION, _imagenet.SMOKE_JIT_COMPILE
        updates = _imagenet.smoke_steps(epochs) + 2  # a last, shorter epoch, as at full size
        expected = {"LARS-64K": {"updates": (updates, updates)}}

    # Derived values.
    schedule = Regime(batch_size=batch, epochs=epochs, learning_rate=learning_rate,
                      warmup_epochs=warmup_epochs, polynomial_power=2, end_learning_rate=1e-4,
                      updates=updates, convention="mlperf")
    return {
        "name": "resnet50_imagenet_64k_lars",
        "description": "MLPerf v0.7 (Google, TPU v3-8192): ResNet-50, LARS, batch 65536",
        "seed": 0,
        "precision": "auto",
        "jit_compile": jit_compile,
        "data": {"source": "imagenet2012", "image_size": image_size},
        "model": {"name": "resnet50", "normalization": "ghost", "virtual_batch_size": ghost,
                  "normalization_momentum": 0.9, "normalization_epsilon": 1e-5,
                  "zero_init_last_gamma": True},  # the run's resnet_model.py: init_zero
        "optimizer": {"name": "lars", "momentum": 0.951807, "weight_decay": 1e-4,
                      "trust_coefficient": 0.001, "epsilon": 0.0},
        "schedule": schedule.get_config(),
        "loss": {"name": "sparse_categorical_crossentropy", "label_smoothing": 0.1},
        "evaluation": evaluation,
        "runs": [{"name": "LARS-64K"}],
        "report": {"panels": ["test_accuracy", "train_loss"]},
        "expected": expected,
    }
