"""Smith, Kindermans & Le 2018: ResNet-50 on ImageNet, increasing the batch instead of decaying the rate.

Paper: "Don't Decay the Learning Rate, Increase the Batch Size"
(arXiv:1711.00489; seed slides `smith2018_increase_batch_size.txt`). The
slides report Inception-ResNet-V2 at 77% in under 2,500 updates with
batches of 65,536; the paper's abstract reports ResNet-50 at 76.1% top-1
in under 30 minutes. Every learning-rate decay of a regime becomes a batch
increase at the same noise scale g = lr N / (B (1 - m)) (section 3):

    regime          = resnet50_imagenet_8k_sgd's SGD-8K (Goyal et al.): B 8192,
                      lr 0.1 * 8192 / 256 = 3.2, 5-epoch warm-up from 0.1,
                      x0.1 at epochs 30, 60, 80, 90 epochs
    plan            = plan_batch_growth(regime, max_batch_size=MAX_BATCH)   ("hybrid")
    MAX_BATCH       = 8192 / 0.1 = 81,920: the batch grows x10 at epoch 30;
                      at 60 and 80 it would pass the maximum, so the rate decays
                      (a maximum of 65,536 would leave the 8K regime unchanged: its
                      first increase already needs 81,920)
    updates         = 30 * (N // 8192) + 60 * (N // 81920) = 30 * 156 + 60 * 15
                    = 5,580, against the 8K regime's 90 * 156 = 14,040

One `fit` runs every phase: `BatchSizeScheduler` sets each epoch's global
batch, the learning-rate schedule counts the updates of the earlier phases,
and the data order stays a function of (seed, epoch). Every global batch of
the plan must divide by replicas x ghost batch (checked before training).

Hardware and wall time: a GPU cluster (a batch-size schedule changes the
batch shape, which TPUs cannot run: refused there). In one pass batch
81,920 needs 81,920 / GPUs examples per GPU: 320 GPUs at 256 each (a
multiple of the ghost batch 32); the first 30 epochs at 8,192 then give
each GPU only 25.6 examples, so the global batch must also divide: use 256
GPUs (32 and 320 examples). The images of 90 epochs at ~2,500 images/s per
GPU (an estimate, not measured): 90 x 1,281,167 / (256 x 2,500) = about 3
minutes of steps at full speed; expect 30-60 minutes with the small-batch
phase, evaluation and start-up.

Micro-batching (`micro_batch_size` m, in-step gradient accumulation) runs
the plan on a few GPUs: each update is the mean gradient of k passes of m
images per replica, the same update as the whole batch (the ghost batch 32
divides m). The micro batch stays while the batch grows, so k grows with it,
x10 at epoch 30 (m must divide both per-replica batches):

    k = global batch / (replicas x m),   global batch 8192, then 81,920
    m that fits (estimates, not measured): ResNet-50 at 224 px in bfloat16 or
    float16 holds about 256 images per 80 GB GPU

    hardware          replicas    m     k before growth            k after
    1 GPU (80 GB)         1      256    8192 / (1 x 256) = 32      81920 / (1 x 256) = 320
    8 GPUs (80 GB)        8      256    8192 / (8 x 256) = 4       81920 / (8 x 256) = 40

A step still reads the whole per-replica batch: after growth 81,920 x 224 x
224 x 3 bytes = 12.3 GB of uint8 images on 1 GPU, 1.5 GB per GPU on 8. The
images a second stay the devices': 90 x 1,281,167 / 2,500 s = 12.8 hours
on 1 GPU, 1.6 hours on 8 (estimates), for 5,580 updates either way.

Command:
    keras-bigbatch train resnet50_imagenet_batch_growth --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_batch_growth --set micro_batch_size=256 --set data.dir=/data/imagenet
    keras-bigbatch train resnet50_imagenet_batch_growth --strategy mirrored --set micro_batch_size=256 --set data.dir=/data/imagenet
    python -m keras_bigbatch.data.imagenet_sample /tmp/sample     (small files, for --size smoke)
    KERAS_BIGBATCH_IMAGENET_DIR=/tmp/sample keras-bigbatch train resnet50_imagenet_batch_growth --size smoke
"""

from keras_bigbatch.recipes import _imagenet
from keras_bigbatch.schedules import Regime

# The published hyperparameters this recipe follows, for its page
# (docs/_hooks.py renders them beside the recipe's values).
PUBLISHED = {
    "source": ("Smith, Kindermans & Le 2018 (arXiv:1711.00489; seed slides) for the rule, "
               "a decay of the rate becomes a batch increase at the same noise scale "
               "g = lr N / (B (1 - m)); the regime grown is Goyal et al. 2017's "
               "(arXiv:1706.02677, sec. 5.1-5.2)"),
    "runs": {
        "grow-batch": {
            "schedule.batch_size": (8192, "Goyal et al.'s 8k regime, the starting batch"),
            "schedule.learning_rate": (3.2, "Goyal et al.: 0.1 x 8192 / 256"),
            "schedule.epochs": (90, "Goyal et al."),
            "schedule.boundaries": ([30, 60, 80], "Goyal et al.'s decays, each a batch increase "
                                                  "x10 in Smith et al.'s rule"),
            "schedule.warmup_epochs": (5, "Goyal et al.'s gradual warm-up"),
            "schedule.warmup_learning_rate": (0.1, "Goyal et al."),
            "optimizer.momentum": (0.9, "Goyal et al. (Nesterov there)"),
            "optimizer.weight_decay": (1e-4, "Goyal et al., not on BN's gamma and beta"),
            "model.virtual_batch_size": (32, "Goyal et al.'s BN over n = 32"),
            "batch_growth.max_batch_size": (65536, "Smith et al.'s largest batch, for "
                                                   "Inception-ResNet-V2 (slides); here 8192 / 0.1 "
                                                   "so that the first decay is one increase"),
        },
    },
    "accuracy": {"grow-batch": ("Smith et al.: Inception-ResNet-V2 at 77% top-1 in under "
                                "2,500 updates with batches of 65,536 (slides); ResNet-50 at "
                                "76.1% top-1 in under 30 minutes (abstract); the 8k regime "
                                "itself: 76.26% (Goyal et al., Table 1)")},
}

# The docstring's micro-batch table (`train --help`; `recipes/_imagenet.py`); no
# TPU rows: batch growth changes the batch shape, which TPUs refuse.
MICRO_BATCHES = {"fits": _imagenet.RESNET50_FITS, "hardware": _imagenet.RESNET50_GPUS}

BASE_LEARNING_RATE, REFERENCE_BATCH = 0.1, 256


def get_config(size="default"):
    # Defaults.
    batch, epochs, boundaries, decay, warmup_epochs, image_size, ghost = (
        8192, 90, (30, 60, 80), 0.1, 5, 224, 32)
    evaluation = {"evaluations": 9, "batch_size": _imagenet.EVAL_BATCH_PER_REPLICA,
                  "distance_points": 0, "train_accuracy": False}
    expected = {"grow-batch": {"test_accuracy": (0.75, 0.775)}}
    jit_compile = "auto"
    # Smoke override block: a few steps on generated files; the batch 8 -> 16 at epoch 1.
    if size == "smoke":
        batch, epochs, boundaries, decay, warmup_epochs = _imagenet.SMOKE_BATCH, 2, (1,), 0.5, 0.5
        image_size, ghost = _imagenet.SMOKE_IMAGE_SIZE, 4
        evaluation, jit_compile = _imagenet.SMOKE_EVALUATION, _imagenet.SMOKE_JIT_COMPILE
        steps = _imagenet.smoke_steps(1) + _imagenet.smoke_steps(1, 2 * batch)
        expected = {"grow-batch": {"updates": (steps, steps)}}

    # Derived values.
    regime = Regime(batch_size=batch, epochs=epochs,
                    learning_rate=BASE_LEARNING_RATE * batch / REFERENCE_BATCH,
                    boundaries=boundaries, decay=decay, warmup_epochs=warmup_epochs,
                    warmup_learning_rate=BASE_LEARNING_RATE)
    max_batch = round(batch / decay)  # one increase, then the rate decays (hybrid)
    return {
        "name": "resnet50_imagenet_batch_growth",
        "description": ("Smith et al. 2018: ResNet-50, the 8K regime with the batch grown "
                        f"to {max_batch} instead of the first decay"),
        "seed": 0,
        "precision": "auto",
        "jit_compile": jit_compile,
        "data": {"source": "imagenet2012", "image_size": image_size},
        "model": {"name": "resnet50", "normalization": "ghost", "virtual_batch_size": ghost,
                  "normalization_momentum": 0.9, "normalization_epsilon": 1e-5,
                  "zero_init_last_gamma": True},
        "optimizer": {"name": "lars", "momentum": 0.9, "weight_decay": 1e-4,
                      "exclude_from_layer_adaptation": [".*"]},  # = momentum SGD + L2
        "schedule": regime.get_config(),
        "batch_growth": {"enabled": True, "max_batch_size": max_batch},
        "evaluation": evaluation,
        "runs": [{"name": "grow-batch"}],
        "report": {"panels": ["test_accuracy", "train_loss"]},
        "expected": expected,
    }
