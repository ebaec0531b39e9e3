"""Cost of the issue-4 instruments relative to a plain `fit`.

Times one-epoch `fit` calls side by side in one process, alternating rounds:

    plain        make_dataset(batch) + fit
    scheduler    make_scheduled_dataset + BatchSizeScheduler({0: batch})
    noise scale  plain + GradientNoiseScale(batch_size=2*batch,
                 micro_batch_size=batch // 2, every=100)   (its default every)
    diagnostics  plain + LayerDiagnostics(every=100)       (its defaults)

and prints median epoch times and ratios to plain (targets: scheduler
<= 1.02, noise scale <= 1.05, diagnostics <= 1.05). Same model (the main
demo's MLP 3x256 + BN) and data size (60000 random Fashion-MNIST-shaped
examples) for all.

    python benchmarks/instrument_step_time.py [--batch 256] [--rounds 7]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bigbatch import callbacks  # noqa: E402
from keras_bigbatch import data  # noqa: E402
from keras_bigbatch import models  # noqa: E402


def build():
    keras.utils.set_random_seed(0)
    model = models.mlp((784,), 10, normalization="batch", normalization_momentum=0.9, seed=0)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--examples", type=int, default=60000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.examples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.examples).astype("int32")

    def plain():
        return data.make_dataset(x, y, args.batch), []

    def scheduled():
        scheduler = callbacks.BatchSizeScheduler({0: args.batch})
        return data.make_scheduled_dataset(x, y, scheduler), [scheduler]

    def noise_scale():
        return data.make_dataset(x, y, args.batch), [callbacks.GradientNoiseScale(
            x, y, batch_size=2 * args.batch, micro_batch_size=args.batch // 2)]

    def diagnostics():
        return data.make_dataset(x, y, args.batch), [callbacks.LayerDiagnostics(x, y)]

    contenders = {"plain": plain, "scheduler": scheduled, "noise scale": noise_scale,
                  "diagnostics": diagnostics}
    # Each contender keeps its model, dataset and callbacks across rounds,
    # so only the first (untimed) round traces anything.
    setups = {name: (build(), *make()) for name, make in contenders.items()}
    times = {name: [] for name in contenders}
    for round_ in range(args.rounds + 1):  # round 0 traces and warms up
        for name, (model, dataset, extra) in setups.items():
            start = time.perf_counter()
            model.fit(dataset, epochs=1, verbose=0, callbacks=extra)
            if round_:
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["plain"])
    steps = args.examples // args.batch
    print(f"MLP 3x256+BN, batch {args.batch}, {steps} steps per epoch, "
          f"median of {args.rounds} rounds:")
    targets = {"scheduler": 1.02, "noise scale": 1.05, "diagnostics": 1.05}
    for name in contenders:
        median = statistics.median(times[name])
        line = f"  {name:12s} {1000 * median / steps:7.2f} ms/step  ratio {median / base:.3f}"
        if name in targets:
            line += f"  (target <= {targets[name]})"
        print(line)


if __name__ == "__main__":
    main()
