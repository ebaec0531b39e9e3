"""Throughput and peak memory of micro-batching: k passes of m rows vs one batch of m.

At the same micro batch m, two contenders train the same model (same
architecture, seeded weights, SGD with momentum 0.9, same loss), side by
side in one process:

    k = 1    batch m, Keras's own train step
    k = K    batch K m, `micro_batching.micro_batch(model, m)`: K
             forward/backward passes of m rows, one optimizer update

Throughput. One fixed batch of random inputs per contender lives on the
device and is fed to `model.train_on_batch`, so the input pipeline is out of
the measurement. After warm-up steps (tracing, compilation), rounds
alternate the order; in each round k = K runs `--steps` steps and k = 1 runs
K times as many (the same rows). images/s = rows trained per second = rows
per step / median step time (k = K trains K m rows per step). Prints both,
their ratio (k = K) / (k = 1) and the median [quartiles] of the per-round
ratios. Target: ratio >= 0.97 (the loop and the accumulation cost at most
3% of the passes).

Memory. Every configuration runs in its own fresh process (the script
re-invokes itself with a hidden flag), because a process's peak RSS only
grows:

    plain m      batch m, no micro-batching
    micro        batch K m, micro batch m
    plain K m    batch K m, no micro-batching (contrast; --no-contrast skips)

Each process builds and compiles the model, reads its memory, then trains
`--warmup + 1` steps (the first traces and compiles) on its batch and reads
its peak. On a CPU: peak RSS (`getrusage` ru_maxrss) minus the RSS after
the build (tracing, XLA compilation, optimizer slots, input batch and
activations all count). On a GPU: the device allocator's peak minus its
bytes in use after the build (JAX `memory_stats()["peak_bytes_in_use"]`,
TensorFlow `get_memory_info`, PyTorch `max_memory_allocated`; untested).
Prints the ratio micro / plain m; target <= 1.2 (micro-batching holds K m
input rows and one gradient accumulator more than plain m, not K m rows
of activations).

    python benchmarks/micro_batching.py [--model all|resnet50|mlp]
        [--micro-batch M] [--micro-batches 8] [--image-size 64] [--steps N]
        [--rounds 6] [--warmup 1] [--precision auto|float32|mixed_float16|mixed_bfloat16]
        [--jit-compile auto|on|off] [--backend tensorflow|jax|torch]
        [--skip-memory] [--skip-throughput] [--no-contrast]

Defaults: ResNet-50 (`models.resnet50`, uint8 images, 1000 classes,
BatchNormalization) at 64 px with m = 8, steps 1; the MLP (`models.mlp`,
28x28 inputs, 3 x 256 hidden, 10 classes) with m = 256, steps 10; K = 8;
precision float32 on a CPU, mixed_bfloat16 (JAX, TPU) or mixed_float16 on a
GPU. `--backend` sets KERAS_BACKEND before keras is imported (give it on
the command line; the memory processes inherit it).

Measured (2 CPU cores shared with other jobs, load ~3; TensorFlow 2.21,
Keras 3.15, float32; jit_compile "auto" resolves to False for both models;
the default invocation took 3 min 45 s):

    model     m    K  images/s k=1   k=K    ratio   memory MiB: plain m  micro  plain K m  ratio
    resnet50  8    8        26.3     25.9   0.987          543.5      798.7      953.0    1.470
    mlp       256  8     28868.9  37648.1   1.304           34.7       52.0       55.2    1.500

Throughput meets its target (ResNet-50's per-round ratios 1.018 [0.984,
1.044]; an earlier 2-round run gave 1.217; the MLP's k = 1 steps are short
enough that per-step overhead favours k = 8). Memory does not at these
small sizes on TensorFlow without XLA. The table's run let the
`tf.while_loop` start the next pass before the last one's backward had
freed its activations (`parallel_iterations=10`; the library now runs
passes one at a time, 877 -> 782 MiB at m = 8 when patched). Rerun with
the passes one at a time (peak RSS - RSS after build, MiB):

    resnet50  64 px  m = 8:   plain m 537.2, micro 798.3, plain K m 935.0 -> 1.486
    resnet50 224 px  m = 32:  plain m 3460.3, micro 4391.0 (plain K m skipped) -> 1.269

What is left is parameter-sized buffers (97.5 MiB each for ResNet-50: the
accumulator carried in and out of the loop, and this pass's gradient), and
at 224 px about 0.6 GiB more, plausibly TensorFlow's CPU graph optimizer,
which fuses less inside a loop body. With XLA the ratio is 1.029 at 64 px
(below). The share shrinks as the activations grow (1.49 at 64 px, 1.27 at
224 px): on a GPU at m = 256 it is small, but that is not measured here.
The MLP's figures are tracing and input (6.4 MiB of K m rows), not
activations.
Other settings, same machine (memory MiB: plain m, micro, plain K m, ratio):

    --model resnet50 --skip-throughput --jit-compile on     1017.3  1046.9  1441.0  1.029
        (XLA: compilation dominates both)
    --model resnet50 --skip-throughput --micro-batch 32      703.7  1261.1  2486.7  1.792
    --backend jax --model resnet50 --rounds 3               766.3   660.9  1235.4  0.862
        throughput 4.1 vs 1.1 images/s, ratio 0.256: XLA:CPU runs convolutions
        inside a while loop (lax.scan) far slower than outside
        (jax-ml/jax#12868); a 6-conv toy's gradient over 8 micro batches:
        8 separate calls 2.5 s, unrolled in one jit 1.4 s, in lax.scan 79 s.
        Expected to be CPU-only (GPU convolutions are cuDNN calls either
        way); that run took 14 minutes.

`--precision mixed_bfloat16` at `--model resnet50 --image-size 32
--micro-batch 2 --micro-batches 2 --steps 1 --rounds 1 --warmup 0
--no-contrast` runs on the TensorFlow, JAX and PyTorch backends (CPU).

GPU run prepared, not yet run (JAX, bf16, ResNet-50 at 224 px, global batch
8192 = 32 passes of 256; the plain 8192 contrast would not fit, so it is
skipped):

    KERAS_BACKEND=jax python benchmarks/micro_batching.py --backend jax \\
        --model resnet50 --image-size 224 --micro-batch 256 --micro-batches 32 \\
        --precision mixed_bfloat16 --steps 1 --rounds 4 --warmup 1 --no-contrast
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time


def _backend_from_argv(argv):
    """The value of `--backend X` / `--backend=X` in `argv`, or None."""
    for i, arg in enumerate(argv):
        if arg == "--backend" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return None


if _backend_from_argv(sys.argv[1:]):  # before keras is imported: it reads it once
    os.environ["KERAS_BACKEND"] = _backend_from_argv(sys.argv[1:])
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bigbatch import models  # noqa: E402
from keras_bigbatch.micro_batching import micro_batch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet50_throughput import device  # noqa: E402  (the device kind and its name)
from resnet50_throughput import on_device  # noqa: E402
from resnet50_throughput import resolve_precision  # noqa: E402

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
MODELS = {  # name -> default micro batch m, default --steps (k = K steps per round)
    "resnet50": {"micro_batch": 8, "steps": 1},
    "mlp": {"micro_batch": 256, "steps": 10},
}
MIB = 2.0 ** 20


def build(name, image_size, micro_batch_size, jit):
    """The compiled model; micro-batched in passes of `micro_batch_size` rows, or not (None)."""
    if name == "resnet50":  # seeded initializers: the same weights every build
        model = models.resnet50((image_size, image_size, 3), 1000, seed=0)
    else:
        model = models.mlp((28, 28), 10, normalization_momentum=0.9, seed=0)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile={"auto": "auto", "on": True, "off": False}[jit],
    )
    return micro_batch(model, micro_batch_size) if micro_batch_size else model


def batch(name, rows, image_size, kind):
    """(x, y): `rows` random rows of the model's inputs and labels, on the device."""
    rng = np.random.default_rng(0)
    if name == "resnet50":
        x = rng.integers(0, 256, (rows, image_size, image_size, 3), np.uint8)
        y = rng.integers(0, 1000, (rows,))
    else:
        x = rng.random((rows, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, (rows,))
    return on_device(x, kind), on_device(y.astype(np.int32), kind)


def quartiles(values):
    if len(values) < 2:
        return f"{values[0]:.3f}"
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return f"{mid:.3f} [{low:.3f}, {high:.3f}]"


def throughput(args, name, kind):
    """({contender: (images/s from the median step, [per-round images/s])}, jit_compile)."""
    m, k = args.micro_batch, args.micro_batches
    contenders = {  # name -> (model, (x, y), rows per step, steps per round)
        "k=1": (build(name, args.image_size, None, args.jit_compile),
                batch(name, m, args.image_size, kind), m, args.steps * k),
        f"k={k}": (build(name, args.image_size, m, args.jit_compile),
                   batch(name, k * m, args.image_size, kind), k * m, args.steps),
    }
    for model, (x, y), _, _ in contenders.values():  # trace, compile, warm up
        for _ in range(args.warmup + 1):
            model.train_on_batch(x, y)
    times = {label: [] for label in contenders}  # per round: the seconds of each step
    labels = list(contenders)
    for round_index in range(args.rounds):
        for label in labels if round_index % 2 == 0 else labels[::-1]:
            model, (x, y), _, steps = contenders[label]
            seconds = []
            for _ in range(steps):
                start = time.perf_counter()
                model.train_on_batch(x, y)  # returns numpy logs: waits for the step
                seconds.append(time.perf_counter() - start)
            times[label].append(seconds)
    results = {label: (rows / statistics.median(t for rnd in times[label] for t in rnd),
                       [rows / statistics.median(rnd) for rnd in times[label]])
               for label, (_, _, rows, _) in contenders.items()}
    return results, contenders["k=1"][0].jit_compile


def print_throughput(args, name, measured):
    results, jit_compile = measured
    k = args.micro_batches
    base, micro = results["k=1"], results[f"k={k}"]
    print(f"throughput  (jit_compile resolved: {jit_compile})")
    print(f"throughput  {'contender':28s} {'images/s':>10s} {'ms/step':>9s} "
          f"{'/ k=1':>7s}  per-round ratio")
    for label, rows, (rate, rounds) in (("k=1", args.micro_batch, base),
                                        (f"k={k}", k * args.micro_batch, micro)):
        paired = [r / b for r, b in zip(rounds, base[1])]
        title = f"{label} (batch {rows}" + (
            ")" if label == "k=1" else f", micro {args.micro_batch})")
        print(f"            {title:28s} {rate:10.1f} {rows / rate * 1e3:9.1f} "
              f"{rate / base[0]:7.3f}  {quartiles(paired)}")
    ratio = micro[0] / base[0]
    print(f"{name}: throughput ratio (k={k}) / (k=1) = {ratio:.3f}; "
          f"target >= 0.97: {'OK' if ratio >= 0.97 else 'UNDER'}")
    return ratio


def memory_meter(kind):
    """(now, peak) -> bytes: the process's RSS on a CPU, the device allocator's on a GPU."""
    backend = keras.backend.backend()
    if kind != "cpu" and backend == "jax":
        import jax

        stats = jax.local_devices()[0].memory_stats
        return lambda: stats()["bytes_in_use"], lambda: stats()["peak_bytes_in_use"]
    if kind != "cpu" and backend == "tensorflow":
        import tensorflow as tf

        info = tf.config.experimental.get_memory_info
        return lambda: info("GPU:0")["current"], lambda: info("GPU:0")["peak"]
    if kind != "cpu" and backend == "torch":
        import torch

        return torch.cuda.memory_allocated, torch.cuda.max_memory_allocated

    def rss_now():
        try:
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:  # not Linux: the peak so far
            return rss_peak()

    def rss_peak():  # ru_maxrss: KiB on Linux, bytes on macOS
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

    return rss_now, rss_peak


MEMORY_CONFIGS = {  # name -> (rows per step / m, micro-batched)
    "plain m": (1, False),
    "micro": (None, True),  # K m rows
    "plain K m": (None, False),
}


def memory_child(args):
    """In a fresh process: prints {"build", "input", "peak": bytes, ...} as one JSON line
    (memory after the build, after the input batch is on the device, at the peak)."""
    kind, _ = device()
    keras.config.set_dtype_policy(resolve_precision(args.precision, kind))
    per_m, micro = MEMORY_CONFIGS[args.child_memory]
    rows = args.micro_batch * (per_m or args.micro_batches)
    model = build(args.model, args.image_size, args.micro_batch if micro else None,
                  args.jit_compile)
    now, peak = memory_meter(kind)
    after_build = now()
    x, y = batch(args.model, rows, args.image_size, kind)
    after_input = now()
    for _ in range(args.warmup + 1):
        model.train_on_batch(x, y)
    print(json.dumps({"build": after_build, "input": after_input, "peak": peak(),
                      "rows": rows, "kind": kind}))


def memory(args, name):
    """{config: record from its own process, or {"error": text}}."""
    configs = [c for c in MEMORY_CONFIGS if c != "plain K m" or not args.no_contrast]
    results = {}
    for config in configs:
        command = [sys.executable, os.path.abspath(__file__), "--child-memory", config,
                   "--model", name, "--micro-batch", str(args.micro_batch),
                   "--micro-batches", str(args.micro_batches),
                   "--image-size", str(args.image_size), "--warmup", str(args.warmup),
                   "--precision", args.precision, "--jit-compile", args.jit_compile,
                   "--backend", keras.backend.backend()]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            results[config] = {"error": f"exit code {done.returncode}: {tail[:200]}"}
        else:
            results[config] = json.loads(lines[-1])
    return results


def print_memory(args, name, results):
    """Growth from the build to the peak (total), of it the input batch and the steps."""
    kind = next((r["kind"] for r in results.values() if "kind" in r), "cpu")
    what = "RSS" if kind == "cpu" else "device bytes"
    print(f"memory      {'config':28s} {'total MiB':>10s} {'/ plain m':>9s} "
          f"{'input MiB':>10s} {'steps MiB':>10s} {'/ plain m':>9s}   "
          f"(peak {what} - {what} after build = input + steps)")
    total = {c: r["peak"] - r["build"] for c, r in results.items() if "error" not in r}
    steps = {c: r["peak"] - r["input"] for c, r in results.items() if "error" not in r}
    for config, record in results.items():
        rows = args.micro_batch * (MEMORY_CONFIGS[config][0] or args.micro_batches)
        title = f"{config} (batch {rows}" + (f", micro {args.micro_batch})"
                                             if config == "micro" else ")")
        if "error" in record:
            print(f"            {title:28s} failed: {record['error']}")
            continue
        base = ("plain m" in total and total["plain m"], "plain m" in steps and steps["plain m"])
        print(f"            {title:28s} {total[config] / MIB:10.1f} "
              f"{total[config] / base[0] if base[0] else float('nan'):9.3f} "
              f"{(record['input'] - record['build']) / MIB:10.1f} {steps[config] / MIB:10.1f} "
              f"{steps[config] / base[1] if base[1] else float('nan'):9.3f}")
    if not {"plain m", "micro"} <= set(total):
        print(f"{name}: memory ratio not measured")
        return None
    ratio = total["micro"] / total["plain m"]
    print(f"{name}: memory ratio micro / plain m = {ratio:.3f} (steps only "
          f"{steps['micro'] / steps['plain m']:.3f}); "
          f"target <= 1.2: {'OK' if ratio <= 1.2 else 'OVER'}")
    return ratio


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["all", *MODELS], default="all")
    parser.add_argument("--micro-batch", type=int, default=None,
                        help="m, rows per pass (default: 8 for resnet50, 256 for mlp)")
    parser.add_argument("--micro-batches", type=int, default=8, help="K, passes per update")
    parser.add_argument("--image-size", type=int, default=64, help="ResNet-50's image side")
    parser.add_argument("--steps", type=int, default=None,
                        help="k=K steps per round; k=1 runs K times as many "
                             "(default: 1 for resnet50, 10 for mlp)")
    parser.add_argument("--rounds", type=int, default=6, help="timed rounds")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps after the first")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--jit-compile", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--backend", choices=["tensorflow", "jax", "torch"], default=None,
                        help="sets KERAS_BACKEND before keras is imported")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--no-contrast", action="store_true",
                        help="skip the plain K m memory process (too big to fit at scale)")
    parser.add_argument("--child-memory", choices=list(MEMORY_CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.backend and args.backend != keras.backend.backend():
        parser.error(f"--backend {args.backend}: keras was imported with the "
                     f"{keras.backend.backend()!r} backend; give --backend on the command line")
    if min(args.micro_batch or 1, args.micro_batches, args.steps or 1, args.rounds,
           args.image_size) < 1 or args.warmup < 0:
        parser.error("--micro-batch, --micro-batches, --steps, --rounds and --image-size "
                     "must be >= 1, --warmup >= 0")
    return args


def main(argv=None):
    args = parse(argv)
    if args.child_memory:
        return memory_child(args)
    runs = {}
    for name in MODELS if args.model == "all" else [args.model]:
        run = argparse.Namespace(**vars(args))
        run.micro_batch = args.micro_batch or MODELS[name]["micro_batch"]
        run.steps = args.steps or MODELS[name]["steps"]
        runs[name] = run
    # memory first, every model's: its processes must find the device free (JAX
    # and TensorFlow reserve GPU memory up front; the parent has not touched it yet)
    memories = {name: None if args.skip_memory else memory(run, name)
                for name, run in runs.items()}
    kind, description = device()
    precision = resolve_precision(args.precision, kind)
    keras.config.set_dtype_policy(precision)
    ratios = {}
    for name, run in runs.items():
        print(f"== {name}: backend={keras.backend.backend()} device={description} "
              f"precision={precision} jit_compile={args.jit_compile} m={run.micro_batch} "
              f"K={run.micro_batches}" + (f" image_size={run.image_size}"
                                          if name == "resnet50" else "")
              + ("" if args.skip_throughput else f" steps={run.steps} rounds={run.rounds}"))
        if not args.skip_throughput:
            ratios[name, "throughput"] = print_throughput(run, name, throughput(run, name, kind))
        if memories[name] is not None:
            ratios[name, "memory"] = print_memory(run, name, memories[name])
        sys.stdout.flush()
    return ratios


if __name__ == "__main__":
    main()
