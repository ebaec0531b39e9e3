"""The `keras-bigbatch` command.

    keras-bigbatch train RECIPE [--size smoke] [--set KEY=VALUE ...] [--runs A,B]
                         [--strategy NAME] [--cpu-devices N] [--output DIR]
                         [--deterministic]
    keras-bigbatch tune RECIPE --tuner NAME --max-trials N [--output DIR] [--run NAME]
                        [--knob KNOB=SPEC ...] [--set KEY=VALUE ...] [--size smoke]
                        [--strategy NAME] [--objective val_accuracy] [--overwrite]
    keras-bigbatch list

RECIPE is a registered name (`keras-bigbatch list`) or a recipe file.
`--set` takes dotted keys (`schedule.batch_size=1024`, `data.dir=/data`,
`seed=1`), each parsed to the type of the value it replaces, and applies to
every run. `--output DIR` (default `results/RECIPE`, `results/RECIPE-smoke`
with `--size smoke`) receives
`results.json` (rewritten after every run, so an interrupted table keeps its
finished rows), `results.png`, and per run `RUN/model.keras` and
`RUN/history.json`. Under a multi-worker strategy worker i > 0 writes into
`DIR/worker-i/` instead.

Resuming: every run saves checkpoints to `DIR/RUN/checkpoints/` (every
`checkpoint.every_seconds`, default 300, or `--set checkpoint.every_steps=N`;
the last `checkpoint.keep` are kept). Rerunning the same command continues
each run from its newest usable checkpoint, mid-epoch included, and skips
runs that finished; it stops with an error listing the differing keys if the
settings changed. SIGTERM saves at the next step and exits with status 143.
`--deterministic` turns on TensorFlow's op determinism, so that a resumed run
equals an uninterrupted one bit for bit. Under a multi-worker strategy every
worker reads the chief's `DIR/RUN/checkpoints/`, so DIR must be shared.

`tune` searches the large-batch knobs of one run with Keras Tuner (see
`keras_bigbatch.tuner.command`).

`python -m keras_bigbatch.training RECIPE ...` is `keras-bigbatch train RECIPE ...`.
Exit status: 0 on success, 2 for bad input (the message says what is valid;
everything is checked before the first run trains), 1 if training fails,
143 after saving on SIGTERM, 130 on Ctrl-C.
"""

import argparse
import os
import sys
import time

from keras_bigbatch.distribute.strategy import STRATEGIES
from keras_bigbatch.training import files
from keras_bigbatch.training import recipes as recipes_lib
from keras_bigbatch.training import report
from keras_bigbatch.training.checkpoint import CheckpointError
from keras_bigbatch.training.preemption import Preempted
from keras_bigbatch.training.preemption import PreemptionWatch


class UsageError(Exception):
    """Bad input: printed as `error: ...`, exit status 2."""


def _parser():
    parser = argparse.ArgumentParser(
        prog="keras-bigbatch", description="Train Keras models with very large batches.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="run a recipe and report its results")
    train.add_argument("recipe", help="a registered recipe name (see `list`) or a recipe file")
    train.add_argument("--size", choices=recipes_lib.SIZES, default="default",
                       help="'smoke' shrinks everything for CI (default: %(default)s)")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="change a config value for every run, e.g. schedule.epochs=3 "
                            "(repeatable)")
    train.add_argument("--runs", default=None, help="comma-separated run names (default: all)")
    train.add_argument("--strategy", choices=STRATEGIES, default="default")
    train.add_argument("--cpu-devices", type=int, default=None,
                       help="with --strategy mirrored or data-parallel: split the CPU "
                            "into N devices")
    train.add_argument("--seed", type=int, default=None, help="shorthand for --set seed=N")
    train.add_argument("--output", "--out", dest="output", default=None,
                       help="output folder (default: results/RECIPE, or results/RECIPE-smoke)")
    train.add_argument("--deterministic", action="store_true",
                       help="op determinism: a resumed run equals an uninterrupted one "
                            "bit for bit (slower on GPUs)")
    tune = commands.add_parser("tune", help="search a run's large-batch knobs with Keras Tuner")
    tune.add_argument("recipe", help="a registered recipe name (see `list`) or a recipe file")
    tune.add_argument("--tuner", default="random", help="random, bayesian or hyperband "
                      "(default: %(default)s)")
    tune.add_argument("--max-trials", type=int, default=10, help="default: %(default)s")
    tune.add_argument("--run", default=None, help="the recipe's run to tune (default: its first)")
    tune.add_argument("--knob", dest="knobs", action="append", default=[], metavar="KNOB=SPEC",
                      help="fix (lars), narrow to choices (sgd,lars) or to a range (0.1:10) "
                           "a knob of the search space (repeatable)")
    tune.add_argument("--size", choices=recipes_lib.SIZES, default="default")
    tune.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="change a config value of the run (repeatable)")
    tune.add_argument("--strategy", choices=STRATEGIES, default="default")
    tune.add_argument("--cpu-devices", type=int, default=None)
    tune.add_argument("--seed", type=int, default=None,
                      help="the run's and the tuner's seed (default: the run's seed)")
    tune.add_argument("--objective", default="val_accuracy",
                      help="val_accuracy, accuracy or loss (default: %(default)s)")
    tune.add_argument("--validation-examples", type=int, default=None,
                      help="training examples held out for val_accuracy (default: 10%%)")
    tune.add_argument("--top", type=int, default=5, help="best trials shown and written")
    tune.add_argument("--output", "--out", dest="output", default=None,
                      help="output folder (default: results/RECIPE-tune, or -tune-smoke)")
    tune.add_argument("--overwrite", action="store_true",
                      help="start the search afresh (default: resume the one in --output)")
    commands.add_parser("list", help="list the registered recipes, data sources and models")
    return parser


def set_overrides(args):
    """`(key, text)` pairs of `--set KEY=VALUE` (and `--seed N`), in order."""
    pairs = []
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, e.g. --set schedule.epochs=3")
        pairs.append((key.strip(), value))
    if args.seed is not None:
        pairs.append(("seed", str(args.seed)))
    return pairs


def check_writable(folder):
    """Creates `folder` (local, or any `tf.io.gfile` path such as `gs://`) and
    checks that a file can be written there."""
    try:
        filesystem = files.filesystem(folder)
        probe = f"{folder.rstrip('/')}/.keras_bigbatch-write-test-{os.getpid()}"
        filesystem.makedirs(folder)
        with filesystem.GFile(probe, "w") as stream:
            stream.write("ok")
        filesystem.remove(probe)
    except Exception as error:  # OSError locally; tf.errors.OpError for gfile paths
        raise UsageError(f"--output {folder!r} cannot be written: {error}. "
                         "Give a folder you can write to.") from None


def _worker_output(output, strategy):
    """`output` for the chief (task 0); `output/worker-i` for worker i > 0."""
    from keras_bigbatch.training.checkpointing import worker_index

    task = worker_index(strategy)
    return output if not task else os.path.join(output, f"worker-{task}")


def _list():
    from keras_bigbatch import data
    from keras_bigbatch.training import registry

    print("recipes:")
    for name in recipes_lib.recipe_names():
        recipe = recipes_lib.load_recipe(name, "smoke")
        runs = ", ".join(run["name"] for run in recipe["runs"])
        print(f"  {name}: {recipe.get('description', '')}\n    runs: {runs}")
    print("data sources: " + ", ".join(data.source_names()))
    print("models: " + ", ".join(registry.model_names()))
    print("losses: " + ", ".join(registry.loss_names()))
    print("optimizers: any Keras optimizer name, e.g. sgd, lamb, adamw; "
          "and lars, mclr, percent_delta, cblr")
    return 0


def _prepare(args):
    """Everything that can be wrong with the input, checked before any training.

    Returns `(recipe, configs, panels, output, strategy, checkpoint_root)`.
    """
    recipe = recipes_lib.load_recipe(args.recipe, args.size)
    wanted = args.runs.split(",") if args.runs else None
    configs = recipes_lib.run_configs(recipe, wanted, set_overrides(args))
    panels = report.check_panels(recipe.get("report", {}).get("panels", ["test_accuracy"]))
    output = args.output or os.path.join(  # per size: a smoke run never meets a full one's checkpoints
        "results", recipe["name"] + ("" if args.size == "default" else f"-{args.size}"))
    check_writable(output)

    from keras_bigbatch.distribute import get_strategy
    from keras_bigbatch.training import trainer

    from keras_bigbatch.training import checkpointing
    from keras_bigbatch.training import config as config_lib

    if args.deterministic:
        _enable_determinism()
    strategy = get_strategy(args.strategy, cpu_devices=args.cpu_devices)
    for config in configs:  # every run's data, batch sizes and device settings, before training
        trainer.check_batch_sizes(config, strategy.num_replicas_in_sync)
        plan = config_lib.batch_growth_plan(config)
        batches = [config["schedule"]["batch_size"]]
        if plan is not None:
            batches += list(plan.batch_size.boundaries.values())
            trainer.source(config).check_batch_size_schedules()
        for batch in batches:
            trainer.source(config).steps_per_epoch(batch)
        trainer.device_settings(config, strategy)
        checkpointing.check_settings(_checkpoint_dir(output, config), config, strategy)
    checkpoint_root = output  # the chief's: every worker resumes from it
    output = _worker_output(output, strategy)
    check_writable(output)
    return recipe, configs, panels, output, strategy, checkpoint_root


def _enable_determinism():
    """Deterministic ops: TensorFlow's op determinism, XLA's on GPUs (JAX), or
    PyTorch's deterministic algorithms."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif keras.backend.backend() == "jax":  # read when JAX's GPU backend starts
        flag = "--xla_gpu_deterministic_ops=true"
        if flag not in os.environ.get("XLA_FLAGS", ""):
            os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    elif keras.backend.backend() == "torch":
        import torch

        torch.use_deterministic_algorithms(True)


def _checkpoint_dir(output, config):
    return os.path.join(output, config["name"], "checkpoints")


def _train(args, recipe, configs, panels, output, strategy, checkpoint_root, watch):
    from keras_bigbatch.training import checkpointing
    from keras_bigbatch.training import trainer

    print(f"{recipe['name']} ({args.size}): {len(configs)} run(s) on "
          f"{strategy.num_replicas_in_sync} replica(s); results in {output}/", flush=True)
    results = []
    start = time.perf_counter()
    for index, config in enumerate(configs):
        # SIGTERM after the previous run's last step (every worker decides the same)
        if index and checkpointing.agree_any(strategy, watch.requested):
            raise Preempted(results[-1]["updates"],
                            _checkpoint_dir(checkpoint_root, configs[index - 1]))
        result = trainer.train(config, strategy, checkpoint_dir=_checkpoint_dir(
            checkpoint_root, config), preemption=watch)
        model = result.pop("model")
        run_folder = os.path.join(output, config["name"])
        check_writable(run_folder)
        model.save(os.path.join(run_folder, "model.keras"))
        report.write_history(os.path.join(run_folder, "history.json"), result)
        results.append(result)
        report.write_json(os.path.join(output, "results.json"), {
            "recipe": recipe["name"], "size": args.size, "strategy": args.strategy,
            "overrides": dict(set_overrides(args)), "results": results,
            "expected": report.check_expected(results, recipe.get("expected", {})),
        })
    print()
    print(report.format_table(results))
    print(f"\ntotal wall time {time.perf_counter() - start:.0f} s")
    if "distance" in panels:
        for result in results:
            print(f"  {result['name']}: d||w - w0|| / d ln(t) = {report.log_slope(result):.3f}")
    checks = report.check_expected(results, recipe.get("expected", {}))
    if checks:
        print(f"expected ({args.size}):\n{report.format_checks(checks)}")
    report.plot(os.path.join(output, "results.png"), results, panels,
                recipe.get("description", ""))
    print(f"wrote {output}/results.json, {output}/results.png and RUN/model.keras per run")
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("train", "tune", "list") and not argv[0].startswith("-"):
        argv.insert(0, "train")  # `python -m keras_bigbatch.training RECIPE ...`
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if args.command == "list":
            return _list()
        if args.command == "tune":
            from keras_bigbatch.tuner import command

            return command.run(args)
        prepared = _prepare(args)
    except (UsageError, ValueError) as error:  # DataFileError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    # From here on an error is a failure of training, not of the input: it
    # propagates with its traceback (exit status 1).
    try:
        with PreemptionWatch() as watch:
            return _train(args, *prepared, watch)
    except CheckpointError as error:  # none usable, found when a run starts
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Preempted as stop:
        print(f"preempted (SIGTERM): {stop}. Rerun the same command to resume.",
              file=sys.stderr, flush=True)
        return 143
    except KeyboardInterrupt:
        print(f"interrupted: runs that finished are in {prepared[3]}/results.json; "
              "rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
