"""ResNet-50 training throughput of LARS + GhostBatchNormalization relative to SGD + BN.

Trains `keras_bigbatch.models.resnet50` (uint8 inputs, 1000 classes) in two
configurations built side by side in one process, on one device:

    (a) SGD + BN     keras.optimizers.SGD(momentum=0.9), normalization="batch"
    (b) LARS + GBN   keras_bigbatch.optimizers.LARS(momentum=0.9,
                     weight_decay=1e-4), normalization="ghost" with
                     virtual_batch_size 32

The input is one fixed batch of random uint8 images and labels, placed on
the device once and fed to `model.train_on_batch` at every step, so the
input pipeline is out of the measurement. After warm-up steps (tracing,
compilation), rounds alternate the order of the two; each round times
`--steps` steps of each configuration, one by one. Prints images/s of each
from its median step time over all rounds, their ratio (b) / (a) and the
median [quartiles] of the per-round ratios (from per-round medians);
`--breakdown` adds SGD + GBN and LARS + BN, to show which change costs
what. Target: ratio >= 0.97 (LARS's per-layer norms and the
ghost batches cost at most 3% of the step).

    python benchmarks/resnet50_throughput.py [--image-size 224] [--batch-size 256]
        [--steps 3] [--rounds 8] [--precision auto|float32|mixed_float16|mixed_bfloat16]
        [--jit-compile auto|on|off] [--virtual-batch-size 32] [--breakdown]

Defaults depend on the device: image size 224, batch 256 per device and
precision mixed_float16 (TensorFlow, PyTorch) or mixed_bfloat16 (JAX) on a
GPU or TPU; image size 64, batch 64 (two ghost batches) and float32 on a
CPU (about 2.5 minutes on 2 cores). Runs on the
TensorFlow, JAX and PyTorch backends (`KERAS_BACKEND`); TensorFlow is only
imported on the TensorFlow backend.
"""

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bigbatch import models  # noqa: E402
from keras_bigbatch import optimizers  # noqa: E402

NUM_CLASSES = 1000
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
DEFAULTS = {  # device kind -> (image size, batch size per device)
    "cpu": (64, 64),  # 2 ghost batches of 32
    "gpu": (224, 256),
    "tpu": (224, 256),
}


def device():
    """(kind in cpu / gpu / tpu, description) of the device the backend trains on."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        for kind in ("TPU", "GPU"):
            found = tf.config.list_logical_devices(kind)
            if found:
                name = found[0].name
                if kind == "GPU":
                    physical = tf.config.list_physical_devices("GPU")[0]
                    details = tf.config.experimental.get_device_details(physical)
                    name += f" ({details.get('device_name', 'GPU')})"
                return kind.lower(), name
    elif backend == "jax":
        import jax

        first = jax.devices()[0]
        if first.platform in ("gpu", "tpu"):
            return first.platform, f"{first} ({first.device_kind})"
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            return "gpu", f"cuda:0 ({torch.cuda.get_device_name(0)})"
    return "cpu", f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def resolve_precision(precision, kind):
    if precision != "auto":
        return precision
    if kind == "cpu":
        return "float32"
    if kind == "tpu" or keras.backend.backend() == "jax":
        return "mixed_bfloat16"
    return "mixed_float16"


def on_device(array, kind):
    """`array` as a backend tensor that lives on the training device."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.device("/TPU:0" if kind == "tpu" else "/GPU:0" if kind == "gpu" else "/CPU:0"):
            return tf.identity(tf.constant(array))
    if keras.backend.backend() == "torch" and kind == "gpu":
        import torch

        return torch.as_tensor(array, device="cuda")
    return keras.ops.convert_to_tensor(array)


CONFIGS = {  # name -> (optimizer, normalization)
    "SGD + BN": ("sgd", "batch"),
    "LARS + GBN": ("lars", "ghost"),
    "SGD + GBN": ("sgd", "ghost"),  # --breakdown
    "LARS + BN": ("lars", "batch"),  # --breakdown
}


def build(config, image_size, virtual_batch_size, jit):
    optimizer, normalization = CONFIGS[config]
    model = models.resnet50(  # seeded initializers, same weights every run
        (image_size, image_size, 3), NUM_CLASSES, normalization=normalization,
        virtual_batch_size=virtual_batch_size if normalization == "ghost" else None, seed=0)
    if optimizer == "sgd":
        optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    else:
        optimizer = optimizers.LARS(0.1, momentum=0.9, weight_decay=1e-4)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile={"auto": "auto", "on": True, "off": False}[jit],
    )
    return model


def quartiles(values):
    if len(values) < 2:
        return f"{values[0]:.3f}"
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return f"{mid:.3f} [{low:.3f}, {high:.3f}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=None,
                        help="image side (default: 224 on a GPU or TPU, 64 on a CPU)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch per device (default: 256 on a GPU or TPU, 64 on a CPU)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per config and round")
    parser.add_argument("--rounds", type=int, default=8, help="timed rounds")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per config first")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--jit-compile", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--virtual-batch-size", type=int, default=32)
    parser.add_argument("--breakdown", action="store_true",
                        help="also time SGD + GBN and LARS + BN (which change costs what)")
    args = parser.parse_args(argv)

    kind, description = device()
    image_size = args.image_size or DEFAULTS[kind][0]
    batch_size = args.batch_size or DEFAULTS[kind][1]
    if min(args.steps, args.rounds, args.virtual_batch_size) < 1 or args.warmup < 0:
        parser.error("--steps, --rounds and --virtual-batch-size must be >= 1, --warmup >= 0")
    if batch_size % args.virtual_batch_size:
        parser.error(f"--batch-size ({batch_size}) must be a multiple of "
                     f"--virtual-batch-size ({args.virtual_batch_size})")
    precision = resolve_precision(args.precision, kind)
    keras.config.set_dtype_policy(precision)

    rng = np.random.default_rng(0)
    x = on_device(rng.integers(0, 256, (batch_size, image_size, image_size, 3), np.uint8), kind)
    y = on_device(rng.integers(0, NUM_CLASSES, (batch_size,)).astype(np.int32), kind)
    names = list(CONFIGS) if args.breakdown else list(CONFIGS)[:2]
    contenders = {name: build(name, image_size, args.virtual_batch_size, args.jit_compile)
                  for name in names}
    for model in contenders.values():  # trace, compile, warm up
        for _ in range(args.warmup + 1):
            model.train_on_batch(x, y)
    times = {name: [] for name in names}  # per round: the seconds of each step
    for round_index in range(args.rounds):
        for name in names if round_index % 2 == 0 else names[::-1]:  # alternate the order
            model, seconds = contenders[name], []
            for _ in range(args.steps):
                start = time.perf_counter()
                model.train_on_batch(x, y)  # returns numpy logs: waits for the step
                seconds.append(time.perf_counter() - start)
            times[name].append(seconds)
    # images/s from the median step (robust to bursts of other load)
    medians = {name: batch_size / statistics.median(t for rnd in times[name] for t in rnd)
               for name in names}
    per_round = {name: [batch_size / statistics.median(rnd) for rnd in times[name]]
                 for name in names}
    print(f"backend={keras.backend.backend()} device={description}")
    print(f"image_size={image_size} batch_size={batch_size} (one device) "
          f"virtual_batch_size={args.virtual_batch_size} precision={precision} "
          f"jit_compile={contenders['SGD + BN'].jit_compile} "
          f"steps={args.steps} rounds={args.rounds}")
    print(f"{'config':12s} {'images/s':>10s} {'ms/step':>9s} {'/ SGD + BN':>11s}  per-round ratio")
    for name in names:
        paired = [b / a for a, b in zip(per_round["SGD + BN"], per_round[name])]
        print(f"{name:12s} {medians[name]:10.1f} {batch_size / medians[name] * 1e3:9.1f} "
              f"{medians[name] / medians['SGD + BN']:11.3f}  {quartiles(paired)}")
    ratio = medians["LARS + GBN"] / medians["SGD + BN"]
    print(f"ratio (LARS + GBN) / (SGD + BN) = {ratio:.3f}; "
          f"target >= 0.97: {'OK' if ratio >= 0.97 else 'UNDER'}")
    return ratio


if __name__ == "__main__":
    main()
