"""ResNet-50 on ImageNet at batch 32768 with LARS: Google's MLPerf v1.0 TPU run.

Source: MLPerf Training v1.0 closed division, Google's ResNet-50 submission
on TPU v4-4096 (global batch 32768; the submission's run script and result
log, mlcommons/training_results_v1.0, Google/benchmarks/resnet): base
learning rate 29.0, 18 warm-up epochs, momentum 0.929, weight decay 1e-4,
label smoothing 0.1, polynomial (power 2) decay to 1e-4, BN statistics over
64 examples, reaching the 75.9% top-1 target at epoch ~60 (figures from
the submission's run_and_time.sh, lars_util.py and result logs; PUBLISHED
below names each one). You,
Gitman & Ginsburg 2017 (arXiv:1708.03888) introduced LARS with a poly(2)
schedule.

    learning_rate = 29.0                (LARS global rate; trust ratio
                                         eta ||w|| / (||g|| + wd ||w||), eta = 0.001, epsilon 0)
    warm-up       = linear from 0 over 18 epochs, then (29.0 - 1e-4) (1 - t')^2 + 1e-4
    momentum 0.929, weight decay 1e-4 (inside LARS), label smoothing 0.1
    BN parameters and biases: no weight decay, no layer adaptation (LARS's
        default masks: every 1-D variable)
    BN statistics over 64 examples = ghost BN 64 in every replica; momentum 0.9,
        epsilon 1e-5 (the submission grouped BN across cores; ghost batches
        keep 64 whatever the replica count, so 32768 / replicas must be a
        multiple of 64: at most 512 replicas)

Step for step as that run (mlcommons/training_results_v1.0 at commit
50619b5d, Google/benchmarks/resnet/implementations/
resnet-preview-TF-tpu-v4-4096/lars_util.py `poly_rate_schedule` and
resnet_main.py; flags from tpu-v4-4096-TF/run_and_time.sh):

    updates   2355 (--train_steps; `schedule.updates`): 60 epochs of
              N // B = 39 updates and a last one of 15
    lr(t)     the run's own rule (`schedule.convention: mlperf`,
              `MLPerfPolynomialDecay`): epoch = t / (N / B), N / B = 39.098;
              29 t / (18 N / B) while that epoch <= 18 (t <= 703); then
              poly(2) on max(1, t - 703) over 2355 - 703 + 1 = 1653 updates
              to 1e-4; equal to a float32 transcription of lars_util.py at
              every one of the 2355 updates (tests/schedules/mlperf_test.py)
    BN        each residual block's last BN gamma starts at 0
              (resnet_model.py, init_zero=True)

Still not that run: BN statistics over ghost batches of 64 in each replica
(the run grouped BN over 4 cores x 16); training crops of area (0.08, 1)
(the run: (0.05, 1), bounding-box guided); no space-to-depth stem (the
run's TPU transform of the first convolution). Before this recipe followed the
run, it trained 2340 updates with warm-up over 702 and decay over 1638
(lr at update 1500: 7.627 against the run's 7.777).

The LARS update itself (trust ratio, exclusions, weight decay inside the
optimizer) follows the run's TensorFlow contrib `LARSOptimizer`.

Hardware and wall time: a TPU pod slice of at most 512 cores (see the BN
note) holds the batch in one pass from 32768 / 128 = 256 v3 cores on (a
v3-256; a v3-128 micro-batches with k = 2): at ~700 images/s per core (an
estimate, not measured), 60 epochs x 1,281,167 images / (256 x 700
images/s) = about 7 minutes of steps, 15-30 minutes with evaluation and
start-up. Fewer devices train the same batch by micro-batching.

Micro-batching (`micro_batch_size` m, in-step gradient accumulation): each
update is the mean gradient of k passes of m images per replica, one
optimizer update, the same update as the whole batch (the ghost batch 64
divides m), the activation memory of m images:

    k = 32768 / (replicas x m)
    m that fits (estimates, not measured): ResNet-50 at 224 px in bfloat16 or
    float16 holds about 256 images per 80 GB GPU, 128 per TPU v3 core
    (16 GiB), 256 per TPU v4 chip (32 GiB; one replica of two cores)

    hardware          replicas    m     k
    1 GPU (80 GB)         1      256    32768 / (1 x 256) = 128
    8 GPUs (80 GB)        8      256    32768 / (8 x 256) = 16
    TPU v3-8              8      128    32768 / (8 x 128) = 32
    TPU v4-8              4      256    32768 / (4 x 256) = 32

A step still reads the whole per-replica batch: 32768 x 224 x 224 x 3 bytes
= 4.9 GB of uint8 images on 1 GPU, 0.6 GB per replica on 8. Micro-batching
changes the images a step holds, not the images a second a device trains:
at ~2,500 images/s per GPU (an estimate), 60 x 1,281,167 / 2,500 s = 8.5
hours on 1 GPU, 1.1 hours on 8; at ~700 per v3 core, 3.8 hours on a v3-8.

Command:
    keras-bigbatch train resnet50_imagenet_32k_lars --strategy tpu --set data.dir=gs://BUCKET/imagenet
    keras-bigbatch train resnet50_imagenet_32k_lars --set micro_batch_size=256 --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_32k_lars --strategy mirrored --set micro_batch_size=256 --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_32k_lars --strategy tpu --set micro_batch_size=128 --set data.dir=gs://BUCKET/imagenet   (v3-8)
    keras-bigbatch train resnet50_imagenet_32k_lars --strategy tpu --set micro_batch_size=256 --set data.dir=gs://BUCKET/imagenet   (v4-8)
    keras-bigbatch train resnet50_imagenet_32k_lars --strategy tpu --max-micro-batch 128 --set data.dir=gs://BUCKET/imagenet   (any v3 slice to 512 cores)
    python -m keras_bigbatch.data.imagenet_sample /tmp/sample     (small files, for --size smoke)
    KERAS_BIGBATCH_IMAGENET_DIR=/tmp/sample keras-bigbatch train resnet50_imagenet_32k_lars --size smoke
"""

from keras_bigbatch.recipes import _imagenet
from keras_bigbatch.schedules import Regime

# The published hyperparameters this recipe follows, for its page
# (docs/_hooks.py renders them beside the recipe's values).
PUBLISHED = {
    "source": ("MLPerf Training v1.0 closed division, Google's ResNet-50 on TPU v4-4096 "
               "(mlcommons/training_results_v1.0, Google/benchmarks/resnet/implementations/: "
               "tpu-v4-4096-TF/run_and_time.sh, resnet-preview-TF-tpu-v4-4096/lars_util.py and "
               "resnet_model.py; Google/results/tpu-v4-4096-TF/resnet/result_0..4.txt)"),
    "runs": {
        "LARS-32K": {
            "schedule.batch_size": (32768, "--train_batch_size=32768"),
            "schedule.learning_rate": (29.0, "--lars_base_learning_rate=29"),
            "schedule.updates": (2355, "--train_steps=2355 = 60.23 epochs of N/B = 39.098; "
                                       "every result log reaches 75.9% at the last "
                                       "evaluation (logged as epoch 60)"),
            "schedule.convention": ("mlperf", "lars_util.py poly_rate_schedule: float epochs, "
                                              "max(1, t - w), T - w + 1"),
            "schedule.warmup_epochs": (18, "--lars_warmup_epochs=18, linear from 0"),
            "schedule.polynomial_power": (2.0, "poly decay over train_steps - warm-up steps + 1 "
                                               "= 1653 steps (result log)"),
            "schedule.end_learning_rate": (1e-4, "lars_util.py end_lr"),
            "optimizer.momentum": (0.929, "--momentum=0.929"),
            "optimizer.weight_decay": (1e-4, "--weight_decay=0.0001, inside LARS; skip_list "
                                             "batch_normalization and bias"),
            "optimizer.trust_coefficient": (0.001, "tf.contrib LARSOptimizer's default eeta "
                                                   "(lars_util.py passes none)"),
            "optimizer.epsilon": (0.0, "--lars_epsilon=0"),
            "loss.label_smoothing": (0.1, "--label_smoothing=0.1"),
            "model.virtual_batch_size": (64, "model_bn_span 64: BN over 4 replicas x 16 "
                                             "(--distributed_group_size=4)"),
            "model.normalization_momentum": (0.9, "resnet_model.py batch_norm_decay"),
            "model.normalization_epsilon": (1e-5, "resnet_model.py batch_norm_epsilon"),
            "model.zero_init_last_gamma": (True, "resnet_model.py: init_zero=True on each "
                                                 "block's last BN"),
            "data.image_size": 224,
        },
    },
    "accuracy": {"LARS-32K": ("75.91-76.00% top-1 at epoch 60 in the 5 result logs "
                              "(75.94% in result_0.txt), the 75.9% target")},
}

# The docstring's micro-batch table (`train --help`; `recipes/_imagenet.py`).
MICRO_BATCHES = {"fits": _imagenet.RESNET50_FITS,
                 "hardware": _imagenet.RESNET50_GPUS + _imagenet.RESNET50_TPUS}


def get_config(size="default"):
    # Defaults.
    batch, epochs, warmup_epochs, learning_rate, ghost, image_size = 32768, 60, 18, 29.0, 64, 224
    updates = 2355  # the run's --train_steps
    evaluation = {"evaluations": 15, "batch_size": _imagenet.EVAL_BATCH_PER_REPLICA,
                  "distance_points": 0, "train_accuracy": False}
    expected = {"LARS-32K": {"test_accuracy": (0.75, 0.77)}}
    jit_compile = "auto"
    # Smoke override block: a few steps on generated files.
    if size == "smoke":
        batch, epochs, warmup_epochs, learning_rate = _imagenet.SMOKE_BATCH, 2, 0.5, 1.0
        ghost, image_size = 4, _imagenet.SMOKE_IMAGE_SIZE
        evaluation, jit_compile = _imagenet.SMOKE_EVALUATION, _imagenet.SMOKE_JIT_COMPILE
        updates = _imagenet.smoke_steps(epochs) + 2  # a last, shorter epoch, as at full size
        expected = {"LARS-32K": {"updates": (updates, updates)}}

    # Derived values.
    schedule = Regime(batch_size=batch, epochs=epochs, learning_rate=learning_rate,
                      warmup_epochs=warmup_epochs, polynomial_power=2, end_learning_rate=1e-4,
                      updates=updates, convention="mlperf")
    return {
        "name": "resnet50_imagenet_32k_lars",
        "description": "MLPerf v1.0 (Google, TPU v4-4096): ResNet-50, LARS, batch 32768",
        "seed": 0,
        "precision": "auto",
        "jit_compile": jit_compile,
        "data": {"source": "imagenet2012", "image_size": image_size},
        "model": {"name": "resnet50", "normalization": "ghost", "virtual_batch_size": ghost,
                  "normalization_momentum": 0.9, "normalization_epsilon": 1e-5,
                  "zero_init_last_gamma": True},  # the run's resnet_model.py: init_zero
        "optimizer": {"name": "lars", "momentum": 0.929, "weight_decay": 1e-4,
                      "trust_coefficient": 0.001, "epsilon": 0.0},
        "schedule": schedule.get_config(),
        "loss": {"name": "sparse_categorical_crossentropy", "label_smoothing": 0.1},
        "evaluation": evaluation,
        "runs": [{"name": "LARS-32K"}],
        "report": {"panels": ["test_accuracy", "train_loss"]},
        "expected": expected,
    }
