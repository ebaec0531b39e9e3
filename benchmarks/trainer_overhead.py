"""Step-time overhead of the trainer's `fit` over a bare `model.fit`.

Three contenders train the same compiled model (`training.build`: same
architecture, optimizer, loss, global batch B, strategy) on Fashion-MNIST
for the same S = 60000 // B steps per epoch, side by side in one process:

    bare numpy    model.fit(x, y, batch_size=B, epochs=E, shuffle=True)
                  on the first S * B training examples
    bare tf.data  model.fit on from_tensor_slices(x, y).shuffle(all)
                  .batch(B, drop_remainder=True).prefetch
    trainer       training.fit(config, model, strategy): index_shuffle
                  pipeline through distribute_datasets_from_function,
                  test accuracy once at the end (evaluation.evaluations=1)

Times come from begin hooks only (no batch-end hook: Keras keeps its async
dispatch) over the E - 1 epochs before the last one, at whose end the
trainer evaluates:

    step    (last epoch begin - first epoch begin) / ((E - 1) * S): all of it,
            epoch ends and per-epoch iterators included
    steady  median batch-begin to batch-begin interval (robust to bursts
            from other processes on a shared machine)
    cpu     process CPU time per step (all threads, input pipeline included)

The trainer's evaluation pass (incl. tracing its step) and each call's setup
(call to first epoch begin) are printed apart. Rounds alternate the order;
round 0 (tracing) is not counted. Prints medians over rounds, the ratios
trainer / bare and the per-round ratios' median [quartiles]; target <= 1.02.

    python benchmarks/trainer_overhead.py [--rounds 7] [--epochs 4]
        [--batch 256] [--model mlp|small_cnn] [--strategy default|mirrored]

`--strategy mirrored` mirrors over 2 logical CPU devices, the bare runs too.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_bigbatch.distribute import get_strategy  # noqa: E402
from keras_bigbatch.training import config as config_lib  # noqa: E402
from keras_bigbatch.training import trainer  # noqa: E402

MODELS = {
    "mlp": {"name": "mlp", "hidden_units": (256, 256, 256), "normalization": "batch",
            "normalization_momentum": 0.9},
    "small_cnn": {"name": "small_cnn", "normalization": "batch"},
}


class Clock(keras.callbacks.Callback):
    """Wall and CPU time at every epoch begin, wall time at every batch begin."""

    def on_train_begin(self, logs=None):
        self.epochs, self.cpu, self.batches, self.end = [], [], [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(time.perf_counter())
        self.cpu.append(time.process_time())

    def on_train_batch_begin(self, batch, logs=None):
        self.batches.append(time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        self.end = time.perf_counter()

    def measure(self, steps, start):
        """{metric: seconds} of one fit call that began at `start`."""
        counted = (len(self.epochs) - 1) * steps
        batches = self.batches[:counted]
        intervals = [batches[i + 1] - batches[i] for i in range(counted - 1)
                     if (i + 1) % steps]  # none across an epoch boundary
        steady = statistics.median(intervals)
        return {"step": (self.epochs[-1] - self.epochs[0]) / counted, "steady": steady,
                "cpu": (self.cpu[-1] - self.cpu[0]) / counted, "setup": self.epochs[0] - start,
                "evaluation": self.end - self.batches[-1] - steady}


def quartiles(values):
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return f"{mid:.3f} [{low:.3f}, {high:.3f}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds (>= 2)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit call (>= 2)")
    parser.add_argument("--batch", type=int, default=256, help="global batch size")
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp")
    parser.add_argument("--strategy", choices=["default", "mirrored"], default="default")
    args = parser.parse_args(argv)
    if args.epochs < 2 or args.rounds < 2:
        parser.error("--epochs and --rounds must be >= 2")

    strategy = get_strategy(args.strategy, cpu_devices=2 if args.strategy == "mirrored" else None)
    config = {
        "name": "overhead", "data": {"source": "fashion_mnist"}, "model": MODELS[args.model],
        "schedule": {"batch_size": args.batch, "epochs": args.epochs, "learning_rate": 0.01},
        "evaluation": {"evaluations": 1, "distance_points": 0, "train_accuracy": False},
    }
    source = trainer.source(config_lib.resolve(config))
    steps = source.steps_per_epoch(args.batch)
    x, y = (a[:steps * args.batch] for a in source.arrays("train"))

    def bare_numpy(model, clock):
        model.fit(x, y, batch_size=args.batch, epochs=args.epochs, shuffle=True,
                  callbacks=[clock], verbose=0)

    def bare_tf_data(model, clock):
        dataset = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x))
                   .batch(args.batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
        model.fit(dataset, epochs=args.epochs, shuffle=False, callbacks=[clock], verbose=0)

    def trainer_fit(model, clock):
        trainer.fit(config, model, strategy, callbacks=[clock], verbose=False)

    contenders = {"bare numpy": bare_numpy, "bare tf.data": bare_tf_data, "trainer": trainer_fit}
    models = {name: trainer.build(config, strategy) for name in contenders}
    runs = {name: [] for name in contenders}
    names = list(contenders)
    for round_index in range(args.rounds + 1):
        for name in names if round_index % 2 else names[::-1]:
            clock, start = Clock(), time.perf_counter()
            contenders[name](models[name], clock)
            if round_index:  # round 0 warms up: tracing, first iterators
                runs[name].append(clock.measure(steps, start))

    def median(name, metric):
        return statistics.median(run[metric] for run in runs[name])

    print(f"model={args.model} strategy={args.strategy} "
          f"({strategy.num_replicas_in_sync} replica(s)) global_batch={args.batch} "
          f"steps/epoch={steps} epochs/call={args.epochs} rounds={args.rounds} "
          f"jit_compile={models['trainer'].jit_compile}")
    print("median ms     " + "".join(f"{m:>9s}" for m in ("step", "steady", "cpu", "setup")))
    for name in contenders:
        print(f"{name:13s} " + "".join(f"{median(name, m) * 1e3:9.3f}"
                                       for m in ("step", "steady", "cpu", "setup")))
    print(f"trainer evaluation pass at the end of a call: "
          f"{median('trainer', 'evaluation') * 1e3:.1f} ms (not in step times)")
    ratios = {}
    for bare in ("bare numpy", "bare tf.data"):
        for metric in ("step", "steady", "cpu"):
            paired = [t[metric] / b[metric] for t, b in zip(runs["trainer"], runs[bare])]
            ratios[bare, metric] = median("trainer", metric) / median(bare, metric)
            print(f"trainer / {bare:12s} {metric:6s} ratio {ratios[bare, metric]:.3f}  "
                  f"per-round median [quartiles] {quartiles(paired)}")
    for metric in ("step", "steady"):
        ratio = ratios["bare numpy", metric]
        print(f"verdict ({metric}): trainer / bare numpy = {ratio:.3f}, target <= 1.02: "
              f"{'OK' if ratio <= 1.02 else 'OVER'}")
    return ratios


if __name__ == "__main__":
    main()
