"""You, Gitman & Ginsburg 2017: AlexNet-BN on ImageNet, batch 512 against 8K, SGD against LARS.

Paper: "Large Batch Training of Convolutional Networks" (arXiv:1708.03888)
and the seed slides (`you2017_lars_large_batch.txt`), top-1 on ImageNet:

    run        batch  rule  slides' lr  warm-up   epochs  reported
    SGD-512      512  SGD      0.02        -       128     60.2%
    SGD-8K      8192  SGD      0.30        -       128     58.0%
    LARS-512     512  LARS     0.05     2 epochs   100     60.2%
    LARS-8K     8192  LARS     0.14     2 epochs   100     60.1%

Momentum 0.9 and weight decay 5e-4 (L2, in the gradient) everywhere; the
rate decays polynomially (power 2) to 0, the policy of nvcaffe's AlexNet-BN
solvers (co-author Ginsburg's `borisgin/nvcaffe`, models/alexnet_bn).

The slides' LARS "learning rate" is not our `learning_rate`. The slides
scale the gradient as G^ = rho * |W| G / |G| and step by lr * G^, so the
relative step of a layer is lr * rho; our LARS steps by
learning_rate * trust_coefficient * |W| / (|G| + wd |W|), i.e.
learning_rate * trust_coefficient = lr * rho when wd = 0. The slides do not
give rho. Our assumption: nvcaffe's 8K LARS solver (`solver_8K`: base_lr
10, larc_eta 0.001, "clip" policy, where min(eta |W| / |G|, base_lr) is the
layer's rate) steps by eta = 0.001 of |W| / |G| almost everywhere, and we
let that pin the slides' 8K row:

    learning_rate = slides' lr * (NVCAFFE_8K_STEP / SLIDES_8K_LR) / TRUST_COEFFICIENT
                  = slides' lr / 0.14           (1.0 at 8K, 0.357 at 512)

The schedules differ from nvcaffe's solver: it ramps up quadratically over
600 iterations (~3.8 epochs at 8K) where the slides say 2 epochs of warm-up,
and under "clip" its rate sits at the eta |W| / |G| cap, so its poly decay
of base_lr barely acts; ours decays learning_rate polynomially throughout.

SGD rows: momentum SGD with L2 weight decay coupled into the momentum, as
Caffe does, is `LARS` with every variable excluded from layer adaptation.
They train nvcaffe's `train_val.prototxt` network (`bn_placement=
"every_conv"`), which its plain-SGD `solver.prototxt` trains; the LARS rows
train `train_val2` (`"conv_inputs"`), which its LARS solvers train.

Model: `keras_bigbatch.models.alexnet_bn` (nvcaffe's `train_val2`: BN on the
inputs of conv2-conv5, single tower; see its docstring for the variants),
227 x 227 crops. BN statistics: nvcaffe computes them per GPU; we fix them
at ghost batches of 64 examples (512 over 8 GPUs), whatever the device
count (an assumption: the slides do not state it; nvcaffe's per-GPU
statistics would cover 8192 / GPUs examples at 8K).

Hardware and wall time: 8 GPUs (or a v3-8 TPU); AlexNet-BN is small, so
the input pipeline bounds it: at ~4,000 images/s (an estimate, not
measured), 10 epochs take 10 x 1,281,167 / 4,000 s = 0.9 hours, so
9 hours (100 epochs) to 11.4 hours (128 epochs) per run.

Micro-batching (`micro_batch_size` m, in-step gradient accumulation): each
update is the mean gradient of k passes of m images per replica, the same
update as the whole batch (the ghost batch 64 divides m). `--set
micro_batch_size` applies to every run, and m must divide the 512 runs'
per-replica batch too; `--max-micro-batch N` picks m per run (none where
the whole per-replica batch fits):

    k = global batch / (replicas x m)
    m that fits (estimates, not measured): AlexNet-BN at 227 px has far fewer
    activations than ResNet-50: about 1024 images per 80 GB GPU, 512 per TPU
    v3 core (16 GiB), 1024 per TPU v4 chip (32 GiB; one replica)

    hardware        replicas  --max-micro-batch  k of SGD-512, LARS-512   k of SGD-8K, LARS-8K
    1 GPU (80 GB)       1           1024         1 (512 / 1 = 512 fits)   8192 / (1 x 1024) = 8
    8 GPUs (80 GB)      8         (none)         1 (512 / 8 = 64 fits)    1 (8192 / 8 = 1024 fits)
    TPU v3-8            8            512         1 (512 / 8 = 64 fits)    8192 / (8 x 512) = 2
    TPU v4-8            4           1024         1 (512 / 4 = 128 fits)   8192 / (4 x 1024) = 2

Command:
    keras-bigbatch train alexnet_bn_imagenet --set data.dir=/data/imagenet
    keras-bigbatch train alexnet_bn_imagenet --runs LARS-8K --set data.dir=/data/imagenet
    keras-bigbatch train alexnet_bn_imagenet --max-micro-batch 1024 --set data.dir=/data/imagenet      (1 GPU)
    keras-bigbatch train alexnet_bn_imagenet --strategy mirrored --set data.dir=/data/imagenet         (8 GPUs)
    keras-bigbatch train alexnet_bn_imagenet --strategy tpu --max-micro-batch 512 --set data.dir=gs://BUCKET/imagenet    (v3-8)
    keras-bigbatch train alexnet_bn_imagenet --strategy tpu --max-micro-batch 1024 --set data.dir=gs://BUCKET/imagenet   (v4-8)
    python -m keras_bigbatch.data.imagenet_sample /tmp/sample     (small files, for --size smoke)
    KERAS_BIGBATCH_IMAGENET_DIR=/tmp/sample keras-bigbatch train alexnet_bn_imagenet --size smoke
"""

from keras_bigbatch.recipes import _imagenet
from keras_bigbatch.schedules import Regime

# The published hyperparameters this recipe follows, for its page
# (docs/_hooks.py renders them beside the recipe's values). The slides' LARS
# "learning rate" is another parametrisation than ours (see the docstring),
# so the LARS rows' learning rates differ by design.
# What both SGD rows share (the slides' SGD table, nvcaffe's SGD solver).
_SGD_PUBLISHED = {
    "schedule.epochs": 128,
    "schedule.polynomial_power": (2.0, "nvcaffe's SGD solver.prototxt (batch 256): "
                       "poly, power 2; the slides give no schedule"),
    "optimizer.momentum": 0.9,
    "optimizer.weight_decay": 5e-4,
    "data.image_size": (227, "nvcaffe crop_size 227"),
}

PUBLISHED = {
    "source": ("You, Gitman & Ginsburg 2017 (arXiv:1708.03888), the seed slides' AlexNet-BN "
               "tables; where the slides are silent, co-author Ginsburg's borisgin/nvcaffe "
               "models/alexnet_bn (solver.prototxt for SGD, solver_8K.prototxt for LARS at 8K, "
               "train_val2.prototxt for the crop)"),
    "runs": {
        "SGD-512": {
            "schedule.batch_size": 512,
            "schedule.learning_rate": 0.02,
            **_SGD_PUBLISHED,
        },
        "SGD-8K": {
            "schedule.batch_size": 8192,
            "schedule.learning_rate": 0.30,
            **_SGD_PUBLISHED,
        },
        "LARS-512": {
            "schedule.batch_size": 512,
            "schedule.learning_rate": (0.05, "the slides' LARS rate, which steps by "
                                             "lr x rho x norm(W) / norm(G); ours is slides' "
                                             "lr / 0.14"),
            "schedule.epochs": 100,
            "schedule.warmup_epochs": 2,
            "optimizer.momentum": 0.9,
            "data.image_size": (227, "nvcaffe crop_size 227"),
        },
        "LARS-8K": {
            "schedule.batch_size": 8192,
            "schedule.learning_rate": (0.14, "the slides' LARS rate; nvcaffe's solver_8K has "
                                             "base_lr 10 with larc_eta 0.001 under the clip "
                                             "policy; ours is slides' lr / 0.14"),
            "schedule.epochs": (100, "slides; nvcaffe solver_8K: max_iter 15600 = 100 epochs"),
            "schedule.warmup_epochs": (2, "slides; nvcaffe ramps up over 600 iterations "
                                          "(~3.8 epochs)"),
            "schedule.polynomial_power": (2.0, "nvcaffe solver_8K: lr_policy poly, power 2"),
            "optimizer.momentum": 0.9,
            "optimizer.weight_decay": (5e-4, "nvcaffe solver_8K (the slides' LARS table "
                                             "gives none)"),
            "optimizer.trust_coefficient": (0.001, "nvcaffe solver_8K larc_eta (the slides do "
                                                   "not give rho)"),
            "data.image_size": (227, "nvcaffe crop_size 227"),
        },
    },
    "accuracy": {
        "SGD-512": "60.2% top-1 (slides, AlexNet-BN SGD table, 128 epochs)",
        "SGD-8K": "58.0% top-1 (slides, AlexNet-BN SGD table, 128 epochs)",
        "LARS-512": "60.2% top-1 (slides, AlexNet-BN LARS table, 100 epochs)",
        "LARS-8K": "60.1% top-1 (slides, AlexNet-BN LARS table, 100 epochs)",
    },
}

TRUST_COEFFICIENT = 0.001
NVCAFFE_8K_STEP, SLIDES_8K_LR = 0.001, 0.14
# The docstring's micro-batch table (`train --help`; `recipes/_imagenet.py`).
MICRO_BATCHES = {
    "fits": ("AlexNet-BN at 227 px, far fewer activations than ResNet-50: about 1024 images "
             "per 80 GB GPU, 512 per TPU v3 core, 1024 per TPU v4 chip; estimates, not measured"),
    "hardware": (("1 GPU (80 GB)", "default", 1, 1024), ("8 GPUs (80 GB)", "mirrored", 8, 1024),
                 ("TPU v3-8", "tpu", 8, 512), ("TPU v4-8", "tpu", 4, 1024)),
}


def lars_learning_rate(slides_lr):
    """Our LARS `learning_rate` for the slides' LARS rate (see the module docstring)."""
    return slides_lr * (NVCAFFE_8K_STEP / SLIDES_8K_LR) / TRUST_COEFFICIENT


def get_config(size="default"):
    # Defaults.
    small, large, sgd_epochs, lars_epochs, warmup_epochs = 512, 8192, 128, 100, 2
    image_size, ghost = 227, 64
    evaluation = {"evaluations": 10, "batch_size": _imagenet.EVAL_BATCH_PER_REPLICA,
                  "distance_points": 0, "train_accuracy": False}
    reported = {"SGD-512": 0.602, "SGD-8K": 0.580, "LARS-512": 0.602, "LARS-8K": 0.601}
    expected = {run: {"test_accuracy": (top1 - 0.01, top1 + 0.01)}
                for run, top1 in reported.items()}
    jit_compile = "auto"
    # Smoke override block: a few steps on generated files.
    if size == "smoke":
        small, large, sgd_epochs, lars_epochs, warmup_epochs = 8, 16, 2, 2, 0.5
        image_size, ghost = 67, 4
        evaluation, jit_compile = _imagenet.SMOKE_EVALUATION, _imagenet.SMOKE_JIT_COMPILE
        expected = {"SGD-512": {"updates": (_imagenet.smoke_steps(2, 8),) * 2},
                    "LARS-8K": {"updates": (_imagenet.smoke_steps(2, 16),) * 2}}

    # Derived values.
    def sgd(batch, slides_lr):
        return Regime(batch_size=batch, epochs=sgd_epochs, learning_rate=slides_lr,
                      polynomial_power=2).get_config()

    def lars(batch, slides_lr):
        return Regime(batch_size=batch, epochs=lars_epochs,
                      learning_rate=lars_learning_rate(slides_lr),
                      warmup_epochs=warmup_epochs, polynomial_power=2).get_config()

    lars_optimizer = {"name": "lars", "momentum": 0.9, "weight_decay": 5e-4,
                      "trust_coefficient": TRUST_COEFFICIENT,
                      "exclude_from_layer_adaptation": None}  # LARS's default: 1-D variables
    return {
        "name": "alexnet_bn_imagenet",
        "description": f"You et al. 2017: AlexNet-BN, batch {small} vs {large}, SGD vs LARS",
        "seed": 0,
        "precision": "auto",
        "jit_compile": jit_compile,
        "data": {"source": "imagenet2012", "image_size": image_size},
        "model": {"name": "alexnet_bn", "normalization": "ghost", "virtual_batch_size": ghost,
                  "bn_placement": "conv_inputs"},
        "optimizer": {"name": "lars", "momentum": 0.9, "weight_decay": 5e-4,
                      "exclude_from_layer_adaptation": [".*"]},  # = momentum SGD + L2
        "schedule": sgd(small, 0.02),
        "evaluation": evaluation,
        "runs": [
            {"name": "SGD-512", "model.bn_placement": "every_conv"},
            {"name": "SGD-8K", "schedule": sgd(large, 0.30), "model.bn_placement": "every_conv"},
            {"name": "LARS-512", "schedule": lars(small, 0.05), "optimizer": lars_optimizer},
            {"name": "LARS-8K", "schedule": lars(large, 0.14), "optimizer": lars_optimizer},
        ],
        "report": {"panels": ["test_accuracy", "train_loss"]},
        "expected": expected,
    }
