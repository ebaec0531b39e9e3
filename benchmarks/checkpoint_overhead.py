"""What checkpointing costs: step time with and without it, and the time to resume.

Part 1, in one process: the ResNet-50 of the ImageNet recipes (or `--model
mlp`) trains on synthetic data with `model.fit`, in rounds that alternate

    (a) off    no checkpointing
    (b) on     RunCheckpointer at the default frequency (checkpoint.every_seconds
               = 300): per step it counts and reads the clock
    (c) dense  RunCheckpointer saving every `--every-steps` steps

and prints the median step time of each, the ratios b/a and c/a, the median
time of one save (weights, LARS slots, metric totals; SHA-256; written and
renamed), and the overhead at the default frequency:

    overhead = (b/a - 1) + save time / every_seconds

Part 2, `--resume`: the `keras-bigbatch` command on the smoke size of
`generalization_gap` (Fashion-MNIST) is killed with SIGKILL after its first
checkpoint and started again; it prints the seconds from the restart to the
first checkpoint written after the resumed step (process start, TensorFlow
import, model build, restore, one step, one save). Targets: overhead <= 3%,
resume < 10 s.

    python benchmarks/checkpoint_overhead.py [--model resnet50|mlp] [--image-size 64]
        [--batch-size 32] [--steps 20] [--rounds 3] [--every-steps 10] [--resume]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_bigbatch.training import resolve  # noqa: E402
from keras_bigbatch.training import trainer  # noqa: E402
from keras_bigbatch.training.checkpointing import RunCheckpointer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config(args):
    model = {"name": "resnet50", "normalization": "ghost", "virtual_batch_size": 16}
    if args.model == "mlp":
        model = {"name": "mlp", "hidden_units": (1024, 1024)}
    return resolve({
        "data": {"source": "synthetic", "image_size": args.image_size, "num_classes": 1000,
                 "train_examples": args.batch_size * 1000, "test_examples": args.batch_size},
        "model": model,
        "optimizer": {"name": "lars", "momentum": 0.9, "weight_decay": 1e-4},
        "schedule": {"batch_size": args.batch_size, "epochs": 1, "learning_rate": 0.1},
    })


class _StepTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def step_overhead(args):
    config = _config(args)
    strategy = tf.distribute.get_strategy()
    model = trainer.build(config, strategy)
    data = trainer.source(config).dataset("train", args.batch_size).repeat()
    folder = tempfile.mkdtemp(prefix="checkpoint_overhead_")
    arms = {"off": None}
    for name, every_steps, every_seconds in (("on", None, 300), ("dense", args.every_steps, None)):
        arm_config = dict(config, checkpoint=dict(config["checkpoint"], every_steps=every_steps,
                                                  every_seconds=every_seconds))
        arms[name] = RunCheckpointer(os.path.join(folder, name), arm_config, strategy, {},
                                     epoch_steps=lambda epoch: 10**9, verbose=False)
    model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
    times = {name: [] for name in arms}
    epoch = 1
    for round_index in range(args.rounds):
        order = list(arms) if round_index % 2 == 0 else list(reversed(arms))
        for name in order:
            timer = _StepTimes()
            callbacks = [timer] + ([arms[name]] if arms[name] else [])
            model.fit(data, steps_per_epoch=args.steps, initial_epoch=epoch, epochs=epoch + 1,
                      callbacks=callbacks, verbose=0)
            epoch += 1
            times[name] += timer.times
    saves = []
    checkpointer = arms["dense"]
    for _ in range(3):
        start = time.perf_counter()
        checkpointer.save(int(model.optimizer.iterations.numpy()) + 1000 + len(saves))
        saves.append(time.perf_counter() - start)
    step = {name: statistics.median(values) for name, values in times.items()}
    # Steps that saved are included in the dense arm's times: mean, not median.
    dense_mean = statistics.mean(times["dense"]) / statistics.mean(times["off"])
    save = statistics.median(saves)
    size = sum(os.path.getsize(os.path.join(folder, "dense", n))
               for n in os.listdir(os.path.join(folder, "dense")) if n.endswith(".npz")) / 3
    print(f"model {args.model}, batch {args.batch_size}, {model.count_params():,} parameters; "
          f"{args.rounds} rounds x {args.steps} steps per arm")
    print(f"median step: off {step['off'] * 1e3:.1f} ms, on (default: every 300 s) "
          f"{step['on'] * 1e3:.1f} ms, ratio on/off {step['on'] / step['off']:.4f}")
    print(f"every {args.every_steps} steps: mean step ratio dense/off {dense_mean:.4f}")
    print(f"one save: {save:.3f} s median ({size / 2**20:.0f} MiB)")
    overhead = step["on"] / step["off"] - 1 + save / 300
    print(f"overhead at the default frequency: {overhead:+.2%} (target <= 3%)")


def resume_time():
    output = tempfile.mkdtemp(prefix="checkpoint_resume_")
    command = [sys.executable, "-m", "keras_bigbatch.training", "train", "generalization_gap",
               "--size", "smoke", "--runs", "SB", "--output", output]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    folder = os.path.join(output, "SB", "checkpoints")

    def steps():
        names = os.listdir(folder) if os.path.isdir(folder) else []
        return sorted(int(n[5:13]) for n in names if n.endswith(".json"))

    proc = subprocess.Popen(command + ["--set", "checkpoint.every_steps=5"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not steps():
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = steps()[-1]
    start = time.perf_counter()
    proc = subprocess.Popen(command + ["--set", "checkpoint.every_steps=1"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not steps() or steps()[-1] <= resumed:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    proc.kill()
    print(f"resume: killed after step {resumed}; the rerun saved step {steps()[-1]} "
          f"{elapsed:.1f} s after it started (target < 10 s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("resnet50", "mlp"), default="resnet50")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every-steps", type=int, default=10)
    parser.add_argument("--resume", action="store_true", help="also measure the resume time")
    args = parser.parse_args()
    step_overhead(args)
    if args.resume:
        resume_time()


if __name__ == "__main__":
    main()
