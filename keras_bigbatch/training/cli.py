"""Command line: run a recipe, print its table, write JSON and a plot.

    python -m keras_bigbatch.training recipes/generalization_gap.py \
        [--size default|smoke] [--strategy default|mirrored|multi-worker|tpu|auto] \
        [--cpu-devices N] [--seed S] [--data-dir DIR] [--out results/NAME]
"""

import argparse
import os
import sys
import time


def _parser():
    from keras_bigbatch.distribute.strategy import STRATEGIES
    from keras_bigbatch.training.recipes import SIZES

    parser = argparse.ArgumentParser(
        prog="python -m keras_bigbatch.training",
        description="Run a keras_bigbatch recipe and report its results.",
    )
    parser.add_argument("recipe", help="path of a recipe file, e.g. recipes/generalization_gap.py")
    parser.add_argument("--size", choices=SIZES, default="default",
                        help="'smoke' shrinks everything for CI (default: %(default)s)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="default")
    parser.add_argument("--cpu-devices", type=int, default=None,
                        help="with --strategy mirrored: mirror over N logical CPU devices")
    parser.add_argument("--seed", type=int, default=None, help="override every run's seed")
    parser.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--runs", default=None,
                        help="comma-separated run names to keep (default: all)")
    parser.add_argument("--out", default=None,
                        help="output folder (default: results/<recipe name>)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_bigbatch.training.recipes import load_recipe

    try:
        recipe = load_recipe(args.recipe, args.size, seed=args.seed, data_dir=args.data_dir)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    runs = recipe["runs"]
    if args.runs:
        wanted = args.runs.split(",")
        unknown = sorted(set(wanted) - {r["name"] for r in runs})
        if unknown:
            print(f"error: unknown run name(s) {unknown}; the recipe has "
                  f"{[r['name'] for r in runs]}", file=sys.stderr)
            return 2
        runs = [r for r in runs if r["name"] in wanted]

    from keras_bigbatch.data import DataFileError
    from keras_bigbatch.distribute import get_strategy
    from keras_bigbatch.training import report
    from keras_bigbatch.training.config import TrainConfig
    from keras_bigbatch.training.trainer import train

    try:
        configs = [TrainConfig.from_dict(run) for run in runs]
        strategy = get_strategy(args.strategy, cpu_devices=args.cpu_devices)
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or os.path.join("results", recipe["name"])
    print(f"{recipe['name']} ({args.size}): {len(configs)} runs on "
          f"{strategy.num_replicas_in_sync} replica(s); results in {out}/", flush=True)
    results = []
    start = time.perf_counter()
    for config in configs:
        try:
            results.append(train(config, strategy))
        except DataFileError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        payload = {
            "recipe": recipe["name"], "size": args.size, "strategy": args.strategy,
            "results": report.serializable(results),
        }
        # Written after every run: an interrupted table keeps its rows.
        report.write_json(os.path.join(out, "results.json"), payload)
    total = time.perf_counter() - start
    print()
    print(report.format_table(results))
    print(f"\ntotal wall time {total:.0f} s")
    for result in results:
        print(f"  {result['name']}: d||w - w0|| / d ln(t) = {report.log_slope(result):.3f}")
    report.plot(os.path.join(out, "results.png"), results, recipe.get("description", ""))
    print(f"wrote {out}/results.json and {out}/results.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
