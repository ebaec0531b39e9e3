"""Step time of the layer-wise optimizers relative to SGD with momentum.

Builds the same model once per optimizer and times `train_on_batch` side by
side in one process, alternating rounds so that machine noise hits all
contenders alike. Prints the median step time of each and its ratio to
`keras.optimizers.SGD(momentum=0.9)`. Targets (issue 3): LARS <= 1.03,
PercentDelta <= 1.05, MCLR <= 1.10.

Settings named in the issue:
    python benchmarks/optimizer_step_time.py --model keskar_f1 --batch 4096
    python benchmarks/optimizer_step_time.py --model small_resnet --batch 256

Options: [--steps 10] [--rounds 7] [--jit auto|on|off]
[--only LARS,MCLR,...] [--median-sample-size 65536]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bigbatch import models  # noqa: E402
from keras_bigbatch import optimizers  # noqa: E402

TARGETS = {"LARS": 1.03, "PercentDelta": 1.05, "MCLR": 1.10}


def contenders(median_sample_size):
    return {
        "SGD": lambda: keras.optimizers.SGD(0.01, momentum=0.9),
        "LARS": lambda: optimizers.LARS(1.0, momentum=0.9, weight_decay=5e-4),
        "PercentDelta": lambda: optimizers.PercentDelta(0.01, momentum=0.9, weight_decay=5e-4),
        "MCLR": lambda: optimizers.MCLR(0.01, momentum=0.9, weight_decay=5e-4),
        f"MCLR(sample={median_sample_size})": lambda: optimizers.MCLR(
            0.01, momentum=0.9, weight_decay=5e-4, median_sample_size=median_sample_size),
        "Lamb": lambda: keras.optimizers.Lamb(0.01),
    }


def build(kind, make_optimizer, jit):
    keras.utils.set_random_seed(0)
    if kind == "keskar_f1":
        model = models.keskar_f1((28, 28), 10, seed=0)
    else:
        model = models.small_resnet((28, 28), 10, seed=0)
    model.compile(
        optimizer=make_optimizer(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile={"auto": "auto", "on": True, "off": False}[jit],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["keskar_f1", "small_resnet"], default="keskar_f1")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--jit", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--median-sample-size", type=int, default=65536)
    parser.add_argument("--only", default=None, help="comma-separated contenders (SGD is always run)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    makers = contenders(args.median_sample_size)
    if args.only:
        wanted = {"SGD", *args.only.split(",")}
        makers = {k: v for k, v in makers.items() if k in wanted}
    trained = {name: build(args.model, make, args.jit) for name, make in makers.items()}
    for model in trained.values():  # trace and warm up
        for _ in range(3):
            model.train_on_batch(x, y)
    times = {name: [] for name in trained}
    for _ in range(args.rounds):
        for name, model in trained.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                model.train_on_batch(x, y)
            times[name].append((time.perf_counter() - start) / args.steps)
    sgd = statistics.median(times["SGD"])
    params = trained["SGD"].count_params()
    print(f"backend={keras.backend.backend()} model={args.model} ({params:,} parameters) "
          f"batch={args.batch} jit={args.jit} steps={args.steps} rounds={args.rounds}")
    ratios = {}
    for name, samples in times.items():
        median = statistics.median(samples)
        ratios[name] = median / sgd
        target = TARGETS.get(name)
        verdict = "" if target is None else f"  target <= {target:.2f} {'ok' if ratios[name] <= target else 'MISSED'}"
        print(f"{name:<24} median step {median * 1e3:8.2f} ms  ratio {ratios[name]:.3f}{verdict}")
    return ratios


if __name__ == "__main__":
    main()
