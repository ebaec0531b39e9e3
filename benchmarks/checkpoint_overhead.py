"""What checkpointing costs: step time with and without it, and the time to resume.

Part 1, in one process: the ResNet-50 of the ImageNet recipes (or `--model
mlp`) trains on synthetic data with `model.fit`, in rounds that alternate

    (a) off    no checkpointing
    (b) on     RunCheckpointer at the default frequency (checkpoint.every_seconds
               = 300): per step it counts and reads the clock
    (c) dense  RunCheckpointer saving every `--every-steps` steps

and prints the step time of each (a `fit` call's wall time / steps, median
over rounds), the per-round ratios b/a and c/a (median [quartiles]); then,
timed directly, the callback's per-step hook when no save is due and one
save (weights, LARS slots, metric totals; SHA-256; written and renamed), and
the overhead at the default frequency:

    overhead = hook / step + save time / every_seconds

(b/a measures the same hook side by side, but on 2 CPU cores its rounds
scatter by several percent; the direct timing resolves it.)

Part 2, `--resume`: the `keras-bigbatch` command on the smoke size of
`generalization_gap` (Fashion-MNIST) is killed with SIGKILL after its first
checkpoint and started again; it prints the seconds from the restart to the
first checkpoint written after the resumed step (process start, TensorFlow
import, model build, restore, one step, one save). Targets: overhead <= 3%,
resume < 10 s.

    python benchmarks/checkpoint_overhead.py [--model resnet50|mlp] [--image-size 64]
        [--batch-size 32] [--steps 10] [--rounds 5] [--every-steps 10] [--resume]
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

import tensorflow as tf  # noqa: E402

from keras_bigbatch.training import resolve  # noqa: E402
from keras_bigbatch.training import trainer  # noqa: E402
from keras_bigbatch.checkpoint import RunCheckpointer  # noqa: E402

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


def _hook_cost(checkpointer, calls=20000):
    """Seconds one step's hook takes when no save is due (a direct timing)."""
    checkpointer.on_epoch_begin(0)
    start = time.perf_counter()
    for batch in range(calls):
        checkpointer.on_train_batch_end(batch, {})
    return (time.perf_counter() - start) / calls


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
    per_round = {name: [] for name in arms}  # seconds per step of each round's fit
    epoch = 1
    for round_index in range(args.rounds):
        order = list(arms) if round_index % 2 == 0 else list(reversed(arms))
        for name in order:
            callbacks = [arms[name]] if arms[name] else []
            start = time.perf_counter()
            model.fit(data, steps_per_epoch=args.steps, initial_epoch=epoch, epochs=epoch + 1,
                      callbacks=callbacks, verbose=0)
            per_round[name].append((time.perf_counter() - start) / args.steps)
            epoch += 1
    saves = []
    checkpointer = arms["dense"]
    for _ in range(3):
        start = time.perf_counter()
        checkpointer.save(int(model.optimizer.iterations.numpy()) + 1000 + len(saves))
        saves.append(time.perf_counter() - start)
    fresh = RunCheckpointer(os.path.join(folder, "hook"), config, strategy, {},
                            epoch_steps=lambda epoch: 10**9, verbose=False)  # clock from now
    fresh.set_model(model)
    hook = _hook_cost(fresh)
    off = statistics.median(per_round["off"])
    save = statistics.median(saves)
    size = sum(os.path.getsize(os.path.join(folder, "dense", n))
               for n in os.listdir(os.path.join(folder, "dense")) if n.endswith(".npz")) / 3

    def ratios(name):
        values = sorted(a / b for a, b in zip(per_round[name], per_round["off"]))
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        return f"{statistics.median(values):.4f} [{quartiles[0]:.4f}, {quartiles[2]:.4f}]"

    print(f"model {args.model}, batch {args.batch_size}, {model.count_params():,} parameters; "
          f"{args.rounds} rounds x {args.steps} steps per arm, alternating")
    print(f"step (median of rounds): off {off * 1e3:.1f} ms, on {statistics.median(per_round['on']) * 1e3:.1f}"
          f" ms, dense {statistics.median(per_round['dense']) * 1e3:.1f} ms")
    print(f"per-round ratio on/off (default: every 300 s): {ratios('on')}")
    print(f"per-round ratio dense/off (every {args.every_steps} steps): {ratios('dense')}")
    print(f"hook per step when no save is due: {hook * 1e6:.1f} us ({hook / off:.4%} of a step)")
    print(f"one save: {save:.3f} s median ({size / 2**20:.0f} MiB); every {args.every_steps} steps "
          f"that predicts {save / (args.every_steps * off):.2%}")
    overhead = hook / off + save / 300
    print(f"overhead at the default frequency (hook + save / 300 s): {overhead:.2%} "
          "(target <= 3%)")


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
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--every-steps", type=int, default=10)
    parser.add_argument("--resume", action="store_true", help="also measure the resume time")
    args = parser.parse_args()
    step_overhead(args)
    if args.resume:
        resume_time()


if __name__ == "__main__":
    main()
