"""Gao & Zhong's Fig. 3 / eq. 4, corrected: E|g| vs batch size on Fashion-MNIST.

Eq. 4 says E|g_i| = 2 sigma / sqrt(pi n): the mean absolute gradient entry
of a layer shrinks like n^-0.5 ("gradient vanishing"). That assumes the true
(full-data) gradient is zero. Write the mini-batch gradient as
g = g_full + noise: only the noise shrinks with n, so

    E|g|           flattens towards |g_full| (log-log slope -> 0)
    E|g - g_full|  follows n^-0.5, times the finite-population correction
                   sqrt((N - n) / (N - 1)) of sampling without replacement,
                   which sends it to exactly 0 at n = N.

Model: MLP 784-512-512-10 (ReLU, no BN), first dense layer's kernel; batch
sizes 32 .. 60000; at initialization and after `--epochs` of SGD (batch 128,
lr 0.05, momentum 0.9). Each point averages `repeats` batches drawn without
replacement. Slopes are least-squares fits of log E vs log n over 32..16384;
the corrected noise slope divides by the finite-population factor and fits
32..32768.

Command:
    python -m studies.gradient_scaling             (~2 min on 2 cores)
    python -m studies.gradient_scaling --size smoke (CI: digits, seconds)
Writes results/studies/gradient_scaling/{results.json,results.png}.
"""

import argparse
import json
import os

import numpy as np


def gradient_function(model, loss):
    import tensorflow as tf

    kernel = model.layers[0].kernel

    @tf.function(reduce_retracing=True)
    def first_kernel_gradient_sum(x, y):
        # gradient of the *sum* of losses, so chunks add up to any batch
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(loss(y, model(x, training=False)))
        return tape.gradient(value, kernel)

    def mean_gradient(x, y, chunk=4096):
        total = 0.0
        for start in range(0, len(x), chunk):
            total += first_kernel_gradient_sum(x[start:start + chunk], y[start:start + chunk]).numpy()
        return total.astype(np.float64) / len(x)

    return mean_gradient


def measure(model, loss, x, y, sizes, rng, examples_per_size):
    mean_gradient = gradient_function(model, loss)
    full = mean_gradient(x, y)
    rows = []
    for n in sizes:
        repeats = 1 if n == len(x) else int(np.clip(examples_per_size // n, 4, 64))
        abs_mean, noise = [], []
        for _ in range(repeats):
            index = rng.choice(len(x), n, replace=False)
            g = mean_gradient(x[index], y[index])
            abs_mean.append(np.abs(g).mean())
            noise.append(np.abs(g - full).mean())
        rows.append({"n": int(n), "repeats": repeats, "E|g|": float(np.mean(abs_mean)),
                     "E|g-g_full|": float(np.mean(noise))})
    return {"|g_full|": float(np.abs(full).mean()), "rows": rows}


def slope(rows, key, max_n, total, corrected=False):
    """Log-log slope over batch sizes n <= max_n, n < total (the noise is 0 at N)."""
    chosen = [r for r in rows if r["n"] <= max_n and r["n"] < total]
    n = np.array([r["n"] for r in chosen], float)
    values = np.array([r[key] for r in chosen])
    if corrected:
        values = values / np.sqrt((total - n) / (total - 1))
    return float(np.polyfit(np.log(n), np.log(values), 1)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("default", "smoke"), default="default")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/studies/gradient_scaling")
    args = parser.parse_args(argv)

    import keras

    from keras_bigbatch import data

    if args.size == "smoke":
        (x, y), _ = data.load_digits()
        hidden, epochs, examples_per_size = 64, 1, 2000
    else:
        x, y = data.load_split("train")
        x = x / 255.0
        hidden, epochs, examples_per_size = 512, args.epochs, 2**17
    x = x.reshape(len(x), -1).astype("float32")
    y = y.astype("int32")
    count = len(x)
    sizes = [s for s in (2 ** np.arange(5, 20)) if s < count] + [count]
    rng = np.random.default_rng(args.seed)
    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential([
        keras.Input((x.shape[1],)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(10),
    ])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    results = {"dataset_size": count, "sizes": [int(s) for s in sizes]}
    for label in ("initialization", f"after {epochs} epochs"):
        if label != "initialization":
            model.fit(x, y, batch_size=128, epochs=epochs, verbose=0)
        part = measure(model, loss, x, y, sizes, rng, examples_per_size)
        part["slope E|g|"] = slope(part["rows"], "E|g|", 16384, count)
        part["slope noise"] = slope(part["rows"], "E|g-g_full|", 16384, count)
        part["slope noise corrected"] = slope(part["rows"], "E|g-g_full|", 32768, count,
                                              corrected=True)
        results[label] = part
        print(f"{label}: |g_full| = {part['|g_full|']:.3e}; log-log slopes over n <= 16384: "
              f"E|g| {part['slope E|g|']:+.3f}, E|g-g_full| {part['slope noise']:+.3f}; "
              f"noise / sqrt((N-n)/(N-1)) over n <= 32768: {part['slope noise corrected']:+.3f}")
        for row in part["rows"]:
            print(f"  n={row['n']:6d} ({row['repeats']:2d} batches)  E|g|={row['E|g|']:.3e}  "
                  f"E|g-g_full|={row['E|g-g_full|']:.3e}")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    plot(results, os.path.join(args.out, "results.png"))
    return results


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.4))
    for (label, part), color in zip(
            [(k, v) for k, v in results.items() if isinstance(v, dict)], ("C0", "C1")):
        n = [r["n"] for r in part["rows"]]
        axis.plot(n, [r["E|g|"] for r in part["rows"]], "o-", color=color,
                  label=f"E|g|, {label} (slope {part['slope E|g|']:+.2f})")
        noise = [(r["n"], r["E|g-g_full|"]) for r in part["rows"] if r["E|g-g_full|"] > 0]
        axis.plot(*zip(*noise), "s--", color=color,
                  label=f"E|g - g_full|, {label} (slope {part['slope noise']:+.2f})")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("batch size n")
    axis.set_ylabel("mean |gradient entry|, first dense layer")
    axis.legend(fontsize=7)
    axis.set_title("Gao & Zhong Fig. 3 / eq. 4 on Fashion-MNIST: only the noise shrinks", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main()
