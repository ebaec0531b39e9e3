"""What showing a run costs: step time with progress lines and TensorBoard logs, and without.

In one process, one model trains with `model.fit` in rounds that alternate
(the order reversed every other round):

    (a) off     no callbacks
    (b) on      what `fit` adds by default: `Progress` (a line every 15 s, the
                interval when stdout is not a terminal) and `RunLogs` (batch
                scalars every `--every` updates; the trainer's default is about
                200 points per run)
    (c) dense   `Progress` every 0.2 s and `RunLogs` at every update
    (d) sync    a do-nothing batch-end hook that is not `async_safe`: what
                Keras's own dispatch costs JAX/PyTorch when a hook must run
                in the loop (on TensorFlow Keras runs hooks in the loop anyway)

After one untimed round (imports, first event files), it prints each arm's
step time (a `fit` call's wall time / steps, median over rounds), the
per-round ratios to (a) (median [quartiles]), and, timed directly, the
batch-end hooks of (b) when nothing is due, as a share of a step. Target:
(b) at most 1% over (a). On a shared CPU the rounds scatter by more than
that; the direct timing resolves the per-step part (the per-fit part, one
event file and one step count read per epoch, is in the ratios).

    python benchmarks/run_output_overhead.py [--batch-size 1024] [--steps 30]
        [--rounds 7] [--every 10] [--hidden 1024]
    KERAS_BACKEND=jax .venv-notf/bin/python benchmarks/run_output_overhead.py

The model is an MLP on 784 inputs (two hidden layers of `--hidden`) fed
numpy arrays, on whatever device the backend picks; TensorBoard files go to
a temporary folder, on JAX without TensorFlow (TensorBoard's own writer).
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bigbatch.training.progress import Progress  # noqa: E402
from keras_bigbatch.training.run_logs import RunLogs  # noqa: E402


class _SyncHook(keras.callbacks.Callback):
    """A batch-end hook that does nothing, and is not `async_safe`."""

    def on_train_batch_end(self, batch, logs=None):
        pass


def _model(hidden):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)),
                              keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _arms(args, updates_before, folder):
    def shown(interval, every, name):
        return [Progress("bench", updates_before, args.batch_size, interval=interval,
                         stream=io.StringIO()),
                RunLogs(os.path.join(folder, name), updates_before, 0.01, lambda e: args.batch_size,
                        every=every)]

    return {"off": [], "on": shown(15.0, args.every, "on"), "dense": shown(0.2, 1, "dense"),
            "sync": [_SyncHook()]}


def _hook_cost(arm, model, calls=20000):
    """Seconds the arm's batch-end hooks take per step when nothing is due."""
    for callback in arm:
        callback.set_model(model)
        callback.on_train_begin()
        callback.on_epoch_begin(0)
    arm[0].on_train_batch_end(0, {"loss": 1.0})  # Progress's first mark
    logs = {"loss": 1.0, "accuracy": 0.5}
    start = time.perf_counter()
    for batch in range(1, calls):
        step = batch * arm[1].every + 1  # never a logging step
        for callback in arm:
            callback.on_train_batch_end(step - 1, logs)
    return (time.perf_counter() - start) / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=1024)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch_size * args.steps, 784)).astype("float32")
    y = rng.integers(0, 10, size=len(x)).astype("int32")
    model = _model(args.hidden)
    model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=False)  # compile
    folder = tempfile.mkdtemp(prefix="run_output_overhead_")
    fits = 1 + (args.rounds + 1) * 4
    updates_before = tuple(range(0, args.steps * (fits + 1), args.steps))
    arms = _arms(args, updates_before, folder)
    per_round = {name: [] for name in arms}
    epoch = 1
    for round_index in range(-1, args.rounds):  # round -1 warms up (imports, first files)
        order = list(arms) if round_index % 2 == 0 else list(reversed(arms))
        for name in order:
            start = time.perf_counter()
            model.fit(x, y, batch_size=args.batch_size, initial_epoch=epoch, epochs=epoch + 1,
                      callbacks=arms[name], verbose=0, shuffle=False)
            if round_index >= 0:
                per_round[name].append((time.perf_counter() - start) / args.steps)
            epoch += 1
    off = statistics.median(per_round["off"])

    def ratios(name):
        values = sorted(a / b for a, b in zip(per_round[name], per_round["off"]))
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        return f"{statistics.median(values):.4f} [{quartiles[0]:.4f}, {quartiles[2]:.4f}]"

    hook = _hook_cost(_arms(args, updates_before, folder)["on"], model)
    print(f"backend {keras.backend.backend()}, MLP 784-{args.hidden}-{args.hidden}-10, batch "
          f"{args.batch_size}, {model.count_params():,} parameters; {args.rounds} rounds x "
          f"{args.steps} steps per arm, alternating")
    print("step (median of rounds): " + ", ".join(
        f"{name} {statistics.median(v) * 1e3:.1f} ms" for name, v in per_round.items()))
    print(f"per-round ratio on/off (progress every 15 s, logs every {args.every} updates): "
          f"{ratios('on')}")
    print(f"per-round ratio dense/off (progress every 0.2 s, logs every update): {ratios('dense')}")
    print(f"per-round ratio sync/off (a batch-end hook that is not async_safe): {ratios('sync')}")
    print(f"on's batch-end hooks when nothing is due: {hook * 1e6:.2f} us per step "
          f"({hook / off:.4%} of a step; target: on <= 1% over off)")


if __name__ == "__main__":
    main()
