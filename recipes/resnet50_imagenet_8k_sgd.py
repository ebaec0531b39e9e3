"""Goyal et al. 2017: ResNet-50 on ImageNet at batch 8192 with SGD, linear scaling and warm-up.

Paper: Goyal, Dollár, Girshick, Noordhuis, Wesolowski, Kyrola, Tulloch, Jia &
He 2017, "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour"
(arXiv:1706.02677): 76.26% top-1 at batch 8192 against
76.40% at 256 (its baseline: the same recipe with `--set schedule.batch_size=256
--set schedule.learning_rate=0.1 --set schedule.warmup_epochs=0 --set
schedule.warmup_learning_rate=0`), ResNet-50, 90 epochs.

    learning_rate = 0.1 * B / 256                 (3.2 at B = 8192: the linear scaling rule)
    warm-up       = linear from 0.1 to 3.2 over the first 5 epochs ("gradual warm-up")
    decay         = x0.1 at epochs 30, 60 and 80; 90 epochs
    momentum 0.9; weight decay 1e-4 as L2 in the gradient, not on BN's gamma
        and beta (the exclusion is our reading, not confirmed in the paper)
    BN statistics over 32 examples per replica (256 GPUs x 32) = ghost BN 32,
        whatever the replica count here; last gamma of each block = 0

Optimizer: momentum SGD with L2 weight decay coupled into the momentum is
`LARS` with every variable excluded from layer adaptation (tested equal to
Keras's SGD when the decay is 0): Keras's own `SGD(weight_decay=...)` decays
outside the momentum, which is a different (decoupled) rule.

Model: `keras_bigbatch.models.resnet50` (v1.5, no convolution biases,
25,557,032 parameters). Data: `imagenet2012` (`--set data.dir=...` or
`$KERAS_BIGBATCH_IMAGENET_DIR`; tensorflow-datasets or TFRecord shards),
random-resized crops of area (0.08, 1) and aspect (3/4, 4/3) plus flips;
evaluation resize 256, center crop 224. Precision "auto": bfloat16 on TPUs,
float16 on GPUs.

Hardware and wall time: 32 x A100 (256 examples per GPU) or a v3-64 / v4-64
TPU slice (128 per v3 core, 256 per v4 chip) hold batch 8192 in one pass;
fewer devices train the same batch by micro-batching (below). At ~2,500
images/s per GPU (an estimate, not measured): 90 epochs x 1,281,167 images
/ (32 x 2,500 images/s) = about 25 minutes; the paper: 256 P100s, 1 hour.

Micro-batching (`micro_batch_size` m, in-step gradient accumulation): each
update is the mean gradient of k passes of m images per replica, one
optimizer update, the same update as the whole batch (the ghost batch 32
divides m), the activation memory of m images:

    k = 8192 / (replicas x m)
    m that fits (estimates, not measured): ResNet-50 at 224 px in bfloat16 or
    float16 holds about 256 images per 80 GB GPU, 128 per TPU v3 core
    (16 GiB), 256 per TPU v4 chip (32 GiB; one replica of two cores)

    hardware          replicas    m     k
    1 GPU (80 GB)         1      256    8192 / (1 x 256) = 32
    8 GPUs (80 GB)        8      256    8192 / (8 x 256) = 4
    TPU v3-8              8      128    8192 / (8 x 128) = 8
    TPU v4-8              4      256    8192 / (4 x 256) = 8

The images a second stay the device's: 90 x 1,281,167 / 2,500 s = 12.8
hours on 1 GPU, 1.6 hours on 8 (estimates). The 256 baseline needs none
(256 / 8 = 32 per GPU).

Command:
    keras-bigbatch train resnet50_imagenet_8k_sgd --runs SGD-8K --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_8k_sgd --set micro_batch_size=256 --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_8k_sgd --strategy mirrored --set micro_batch_size=256 --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_8k_sgd --strategy tpu --set micro_batch_size=128 --set data.dir=gs://BUCKET/imagenet   (v3-8)
    keras-bigbatch train resnet50_imagenet_8k_sgd --strategy tpu --set micro_batch_size=256 --set data.dir=gs://BUCKET/imagenet   (v4-8)
    python -m keras_bigbatch.data.imagenet_sample /tmp/sample     (small files, for --size smoke)
    KERAS_BIGBATCH_IMAGENET_DIR=/tmp/sample keras-bigbatch train resnet50_imagenet_8k_sgd --size smoke
"""

from keras_bigbatch.recipes import _imagenet
from keras_bigbatch.schedules import Regime

# The published hyperparameters this recipe follows, for its page
# (docs/_hooks.py renders them beside the recipe's values).
PUBLISHED = {
    "source": ("Goyal et al. 2017 (arXiv:1706.02677), sec. 2.3, 5.1 and 5.2 (ResNet-50, "
               "k = 256 workers x n = 32 = 8k)"),
    "runs": {
        "SGD-8K": {
            "schedule.batch_size": (8192, "kn = 256 x 32 (sec. 5.2)"),
            "schedule.learning_rate": (3.2, "eta = 0.1 kn / 256, the linear scaling rule "
                                            "(sec. 5.1)"),
            "schedule.epochs": 90,
            "schedule.boundaries": ([30, 60, 80], "reduced by 1/10 at epochs 30, 60 and 80 "
                                                  "(sec. 5.1)"),
            "schedule.decay": 0.1,
            "schedule.warmup_epochs": (5, "gradual warm-up (sec. 5.2)"),
            "schedule.warmup_learning_rate": (0.1, "warm-up starts at eta = 0.1, rises linearly "
                                                   "to 3.2"),
            "optimizer.momentum": (0.9, "Nesterov momentum in the paper, which notes that "
                                        "standard momentum is equally effective (sec. 5.1); "
                                        "ours is standard"),
            "optimizer.weight_decay": (1e-4, "L2 in the gradient, not on BN's gamma and beta "
                                             "(sec. 5.1)"),
            "model.virtual_batch_size": (32, "BN statistics over n = 32 per worker, whatever "
                                             "the minibatch (sec. 2.3, 5.1)"),
            "model.normalization_momentum": (0.9, "BN running averages with momentum 0.9 "
                                                  "(sec. 5.1)"),
            "model.zero_init_last_gamma": (True, "gamma = 0 in each residual block's last BN "
                                                 "(sec. 5.1)"),
            "data.image_size": (224, "224 x 224 random crops of scale and aspect augmented "
                                     "images, flipped (sec. 5.1)"),
        },
    },
    "accuracy": {"SGD-8K": ("76.26% top-1 (23.74% error, Table 1, gradual warm-up, mean of 5 "
                            "runs; within 0.14% of the 256 baseline's 76.40%, sec. 5.1-5.2)")},
}

# The docstring's micro-batch table (`train --help`; `recipes/_imagenet.py`).
MICRO_BATCHES = {"fits": _imagenet.RESNET50_FITS,
                 "hardware": _imagenet.RESNET50_GPUS + _imagenet.RESNET50_TPUS}

BASE_LEARNING_RATE, REFERENCE_BATCH = 0.1, 256


def get_config(size="default"):
    # Defaults.
    batch, epochs, boundaries, warmup_epochs = 8192, 90, (30, 60, 80), 5
    image_size, ghost = 224, 32
    evaluation = {"evaluations": 9, "batch_size": _imagenet.EVAL_BATCH_PER_REPLICA,
                  "distance_points": 0, "train_accuracy": False}
    expected = {"SGD-8K": {"test_accuracy": (0.755, 0.775)}}
    jit_compile = "auto"
    # Smoke override block: a few steps on generated files.
    if size == "smoke":
        batch, epochs, boundaries, warmup_epochs = _imagenet.SMOKE_BATCH, 2, (1,), 0.5
        image_size, ghost = _imagenet.SMOKE_IMAGE_SIZE, 4
        evaluation, jit_compile = _imagenet.SMOKE_EVALUATION, _imagenet.SMOKE_JIT_COMPILE
        steps = _imagenet.smoke_steps(epochs)
        expected = {"SGD-8K": {"updates": (steps, steps)}}

    # Derived values.
    def regime(global_batch):
        return Regime(batch_size=global_batch, epochs=epochs,
                      learning_rate=BASE_LEARNING_RATE * global_batch / REFERENCE_BATCH,
                      boundaries=boundaries, decay=0.1, warmup_epochs=warmup_epochs,
                      warmup_learning_rate=BASE_LEARNING_RATE).get_config()

    return {
        "name": "resnet50_imagenet_8k_sgd",
        "description": "Goyal et al. 2017: ResNet-50, batch 8192, lr 0.1*B/256, 5-epoch warm-up",
        "seed": 0,
        "precision": "auto",
        "jit_compile": jit_compile,
        "data": {"source": "imagenet2012", "image_size": image_size},
        "model": {"name": "resnet50", "normalization": "ghost", "virtual_batch_size": ghost,
                  "normalization_momentum": 0.9, "normalization_epsilon": 1e-5,
                  "zero_init_last_gamma": True},
        "optimizer": {"name": "lars", "momentum": 0.9, "weight_decay": 1e-4,
                      "exclude_from_layer_adaptation": [".*"]},  # = momentum SGD + L2
        "schedule": regime(batch),
        "evaluation": evaluation,
        "runs": [{"name": "SGD-8K"}],
        "report": {"panels": ["test_accuracy", "train_loss"]},
        "expected": expected,
    }
