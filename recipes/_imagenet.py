"""What the ImageNet recipes share: the data set's size and the smoke size.

Smoke size: a few steps on small generated files in the real formats
(`python -m keras_bigbatch.data.imagenet_sample DIR` writes them; CI's
tests do the same), found through `$KERAS_BIGBATCH_IMAGENET_DIR` or
`--set data.dir=DIR`. It checks that the recipe runs end to end (data,
model, optimizer, schedule, strategy), not its accuracy: the sample's
labels are random, so the smoke `expected` block bounds update counts.
"""

# ILSVRC-2012 (tensorflow-datasets `imagenet2012`; tensorflow/tpu's 1024 shards)
TRAIN_EXAMPLES = 1_281_167
VALIDATION_EXAMPLES = 50_000
# Per-replica evaluation batch at 224 x 224: fits a 16 GB GPU in eval mode.
EVAL_BATCH_PER_REPLICA = 256

# The smoke size's sample: `write_tfrecord_sample` defaults (4 train shards x 8).
SMOKE_TRAIN_EXAMPLES = 32
SMOKE_BATCH = 8             # global; 2 replicas x 4
SMOKE_IMAGE_SIZE = 32       # ResNet-50's smallest sensible input
# XLA-compiling ResNet-50's train step on a CPU costs more than the smoke's few steps.
SMOKE_JIT_COMPILE = False
SMOKE_EVALUATION = {"evaluations": 1, "batch_size": 8, "distance_points": 0,
                    "train_accuracy": False}


def smoke_steps(epochs, batch=SMOKE_BATCH):
    """Updates of a smoke run: whole batches of the sample, `epochs` times."""
    return epochs * (SMOKE_TRAIN_EXAMPLES // batch)


# Micro-batching on hardware people have. Each recipe's `MICRO_BATCHES` is
# {"fits": what fits, "hardware": rows of (hardware, --strategy, replicas,
# --max-micro-batch)}: `train --help` renders it (`cli.micro_batches`) with
# k = global batch / (replicas x micro batch), the recipe's docstring gives the
# same figures, tests/recipes/micro_batches_test.py plans them. What fits is an
# estimate, not measured.
RESNET50_FITS = ("ResNet-50 at 224 px in bfloat16/float16: about 256 images per 80 GB GPU, "
                 "128 per TPU v3 core (16 GiB), 256 per TPU v4 chip (32 GiB, one replica); "
                 "estimates, not measured")
RESNET50_GPUS = (("1 GPU (80 GB)", "default", 1, 256), ("8 GPUs (80 GB)", "mirrored", 8, 256))
RESNET50_TPUS = (("TPU v3-8", "tpu", 8, 128), ("TPU v4-8", "tpu", 4, 256))
