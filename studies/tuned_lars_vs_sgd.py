"""At batch 4096 on Fashion-MNIST, how close do a tuned LARS and a tuned SGD
get to small-batch SGD, with the same number of trials each?

Both searches tune the `LARS` run of the `layerwise_optimizers` recipe (MLP
3x256 + BN, 10 epochs, warm-up then poly(2) decay, global batch 4096) with
`keras_bigbatch.tuner` and Keras Tuner's RandomSearch, the optimizer fixed
to LARS or to SGD (momentum 0.9) and every other knob at its default range:

    base_learning_rate  log-uniform, per 256 examples, x 4096/256 (linear rule):
                        LARS [0.05, 5] -> [0.8, 80]; SGD [0.01, 1] -> [0.16, 16]
    warmup_epochs       {0, 1, 2, 3}
    weight_decay        log-uniform [1e-5, 1e-3]
    trust_coefficient   log-uniform [1e-4, 1e-2] (LARS)
    ghost_batch_size    0 (plain BN) or 16, 32, ..., 4096

Trials train on 54,000 examples and are judged on 6,000 held-out training
examples (val_accuracy); the best trial's model is measured once on the
10,000 test images. The small-batch reference is the recipe's SGD-SB run
(batch 128, lr 0.1, x0.1 at epochs 6 and 8) on the same 54,000 examples.
Seeds 0 and 1 seed both the runs and the tuner.

Command:
    python -m studies.tuned_lars_vs_sgd [--trials 12] [--seeds 0,1]   (~40 min, 2 cores)
    python -m studies.tuned_lars_vs_sgd --size smoke                  (CI: seconds)
Writes results/studies/tuned_lars_vs_sgd/{results.json,results.png}: every
trial's validation accuracy against its learning rate at the large batch, per
optimizer, with SGD-SB's validation accuracy as a reference line.
"""

import argparse
import os
import time

from studies import _study


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("default", "smoke"), default="default")
    parser.add_argument("--trials", type=int, default=None, help="per search (default 12; smoke 2)")
    parser.add_argument("--seeds", default=None, help="comma-separated (default 0,1; smoke 0)")
    parser.add_argument("--out", default="results/studies/tuned_lars_vs_sgd")
    args = parser.parse_args(argv)
    smoke = args.size == "smoke"
    trials = args.trials or (2 if smoke else 12)
    seeds = [int(s) for s in (args.seeds or ("0" if smoke else "0,1")).split(",")]

    from keras_bigbatch import training
    from keras_bigbatch import tuner as kbt

    recipe = training.load_recipe("layerwise_optimizers", args.size)
    runs = {c["name"]: c for c in training.run_configs(recipe, ["LARS", "SGD-SB"])}
    base, small = runs["LARS"], runs["SGD-SB"]
    results = {"trials_per_search": trials, "seeds": seeds, "rows": []}
    for seed in seeds:
        began = time.perf_counter()
        hypermodel = kbt.BigBatchHyperModel(dict(base, seed=seed), {"optimizer": "sgd"})
        reference = dict(small, seed=seed)
        reference["evaluation"] = dict(reference["evaluation"],
                                       validation_examples=hypermodel.validation_examples)
        sb = training.train(reference, verbose=False)
        results["rows"].append({
            "seed": seed, "search": "SGD-SB (untuned reference)",
            "global_batch_size": small["schedule"]["batch_size"],
            "test_accuracy": sb["test_accuracy"], "val_accuracy": sb["validation_accuracy"],
            "wall_time_s": time.perf_counter() - began})
        print(f"seed {seed} SGD-SB: test {sb['test_accuracy']:.4f}", flush=True)
        for optimizer in ("lars", "sgd"):
            began = time.perf_counter()
            hypermodel = kbt.BigBatchHyperModel(dict(base, seed=seed), {"optimizer": optimizer})
            tuner = kbt.make_tuner("random", hypermodel,
                                   os.path.join(args.out, f"{optimizer}-seed{seed}"), trials,
                                   seed=seed, overwrite=True)
            summary = kbt.search(tuner, hypermodel, top=3)
            print(kbt.format_table(summary), flush=True)
            best = summary["trials"][0]
            results["rows"].append({
                "seed": seed, "search": f"tuned {optimizer.upper()}",
                "global_batch_size": base["schedule"]["batch_size"],
                "test_accuracy": summary["best_test_accuracy"], "val_accuracy": best["score"],
                "best_values": best["values"], "completed": summary["completed"],
                "trials": trials_of(tuner, hypermodel),
                "wall_time_s": time.perf_counter() - began})
            _study.save(results, args.out)
    print("\nseed  search                       batch  val     test    wall")
    for row in results["rows"]:
        print(f"{row['seed']:<5} {row['search']:<28} {row['global_batch_size']:<6} "
              f"{row['val_accuracy']:.4f}  {row['test_accuracy']:.4f}  {row['wall_time_s']:.0f}s")
    _study.save(results, args.out)
    plot(results, args.out)
    return results


def trials_of(tuner, hypermodel):
    """Every completed trial: its learning rate at the run's batch (the
    schedule's peak rate) and its best validation accuracy."""
    rows = []
    for trial in tuner.oracle.trials.values():
        if trial.status == "COMPLETED" and trial.score is not None:
            schedule = hypermodel.trial_config(trial.hyperparameters)["schedule"]
            rows.append({"trial_id": trial.trial_id, "learning_rate": schedule["learning_rate"],
                         "val_accuracy": trial.score})
    return rows


def plot(results, folder):
    """results.png: each trial's val accuracy vs its learning rate, one panel
    per optimizer (their rates differ by 10x), SGD-SB's as a dotted line. The
    y axis spans 8 points below SGD-SB; a trial below that (a diverged one)
    is drawn as a triangle at the bottom."""
    from matplotlib import ticker

    searches = ("tuned LARS", "tuned SGD")
    figure, axes = _study.figure(columns=len(searches))
    markers = dict(zip(results["seeds"], "os^D"))
    references = [100 * r["val_accuracy"] for r in results["rows"] if r["search"].startswith("SGD")]
    low = int(min(references)) - 8
    for axis, search in zip(axes[0], searches):
        below = 0
        for row in results["rows"]:
            if row["search"].startswith("SGD-SB"):
                axis.axhline(100 * row["val_accuracy"], color="0.4", linestyle=":",
                             label=f"SGD-SB (batch 128), seed {row['seed']}")
            if row["search"] != search:
                continue
            rates = [t["learning_rate"] for t in row["trials"]]
            scores = [100 * t["val_accuracy"] for t in row["trials"]]
            inside = [(r, v) for r, v in zip(rates, scores) if v >= low]
            outside = [r for r, v in zip(rates, scores) if v < low]
            below += len(outside)
            axis.plot(*zip(*inside), markers.get(row["seed"], "o"), linestyle="none",
                      markersize=4, label=f"trials, seed {row['seed']}")
            if outside:
                axis.plot(outside, [low - 0.5] * len(outside), "v", color="C3",
                          linestyle="none", markersize=5)
        if below:
            axis.plot([], [], "v", color="C3", linestyle="none", label=f"{below} below {low}%")
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
        axis.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
        axis.set_ylim(low - 1, max(references) + 1.5)
        batch = next(r["global_batch_size"] for r in results["rows"] if r["search"] == search)
        axis.set_title(f"{search}, batch {batch}", fontsize=9)
        axis.set_xlabel("peak learning rate")
        axis.set_ylabel("best validation accuracy % of the trial")
        axis.legend(fontsize=7, loc="center right")
    _study.save_figure(figure, folder, "Random search, "
                                       f"{results['trials_per_search']} trials per optimizer")

if __name__ == "__main__":
    main()
