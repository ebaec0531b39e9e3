"""Step time of GhostBatchNormalization relative to BatchNormalization.

Builds the same model twice, once with `keras.layers.BatchNormalization` and
once with `keras_bigbatch.layers.GhostBatchNormalization`, and times training
steps side by side in one process, alternating rounds so that machine noise
hits both alike. Prints the median step times and their ratio (target on CPU:
<= 1.05).

    python benchmarks/gbn_step_time.py [--model mlp|cnn] [--batch 4096]
        [--virtual-batch 128] [--steps 20] [--rounds 7] [--jit auto|on|off]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bigbatch import models  # noqa: E402


def build(kind, normalization, virtual_batch_size, jit):
    keras.utils.set_random_seed(0)
    if kind == "mlp":
        model = models.mlp((28, 28), 10, normalization=normalization,
                           virtual_batch_size=virtual_batch_size, seed=0)
    else:
        model = models.small_cnn((28, 28), 10, normalization=normalization,
                                 virtual_batch_size=virtual_batch_size, seed=0)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile={"auto": "auto", "on": True, "off": False}[jit],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--virtual-batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--jit", choices=["auto", "on", "off"], default="auto")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, args.batch)
    contenders = {
        "BatchNormalization": build(args.model, "batch", None, args.jit),
        "GhostBatchNormalization": build(
            args.model, "ghost", args.virtual_batch, args.jit
        ),
    }
    for model in contenders.values():  # trace and warm up
        for _ in range(3):
            model.train_on_batch(x, y)
    times = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, model in contenders.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                model.train_on_batch(x, y)
            times[name].append((time.perf_counter() - start) / args.steps)
    bn = statistics.median(times["BatchNormalization"])
    gbn = statistics.median(times["GhostBatchNormalization"])
    print(f"backend={keras.backend.backend()} model={args.model} "
          f"batch={args.batch} virtual_batch_size={args.virtual_batch} "
          f"jit={args.jit}")
    print(f"BatchNormalization      median step {bn * 1e3:8.2f} ms")
    print(f"GhostBatchNormalization median step {gbn * 1e3:8.2f} ms")
    print(f"ratio GBN/BN = {gbn / bn:.3f} (target <= 1.05)")
    return gbn / bn


if __name__ == "__main__":
    main()
