"""`keras-bigbatch train RECIPE [--size smoke] [--set KEY=VALUE ...] [--runs A,B] [...]`.

`--set` takes dotted keys (`schedule.batch_size=1024`, `data.dir=/data`,
`seed=1`), each parsed to the type of the value it replaces, and applies to
every run. `--max-micro-batch N` then sets each run's `micro_batch_size` for
the strategy's replicas: the largest valid one <= N, none where the whole
per-replica batch fits (k = global batch / (replicas x micro_batch_size)
passes per update; `cli.micro_batches`); with `--set micro_batch_size` it is
refused. `--output DIR` (default `results/RECIPE`, `results/RECIPE-smoke`
with `--size smoke`) receives `results.json` (rewritten after every run, so
an interrupted table keeps its finished rows), `results.png`, and per run
`RUN/model.keras` and `RUN/history.json`. Under a multi-worker strategy
worker i > 0 writes into `DIR/worker-i/` instead.

Resuming: every run saves checkpoints to `DIR/RUN/checkpoints/` (every
`checkpoint.every_seconds`, default 300, or `--set checkpoint.every_steps=N`;
the last `checkpoint.keep` are kept). Rerunning the same command continues
each run from its newest usable checkpoint, mid-epoch included, and skips
runs that finished; it stops with an error listing the differing keys if the
settings changed. SIGTERM saves at the next step and exits with status 143.
`--deterministic` turns on TensorFlow's op determinism, so that a resumed run
equals an uninterrupted one bit for bit. Under a multi-worker strategy every
worker reads the chief's `DIR/RUN/checkpoints/`, so DIR must be shared.

What a run shows: each run prints its header line, progress lines inside
its epochs (update, examples/s, loss, ETA; at most every 15 s when stdout is
not a terminal) and about five epoch lines (`training.progress`). `--verbose`
(`-v`) prints progress every 5 s (0.5 s redrawn on a terminal) and every
epoch's line; `--quiet` (`-q`) prints none of it: only errors, the results
table, the expected checks and where they were written. Every run writes
TensorBoard scalars to `DIR/RUN/logs/` (`training.run_logs`: loss,
accuracy, learning rate, batch size, test and validation accuracy, noise
scale when measured; `tensorboard --logdir DIR`), a resumed run's included.

`prepare(args)` checks everything before the first run trains (bad input:
`UsageError` or `ValueError`, exit status 2, and no output folder is left
behind); `run(args, prepared)` creates the output folder and trains.
"""

import dataclasses
import os
import sys
import time

from keras_bigbatch.checkpoint import CheckpointError
from keras_bigbatch.checkpoint import Preempted
from keras_bigbatch.checkpoint import PreemptionWatch
from keras_bigbatch.checkpoint import check_settings
from keras_bigbatch.cli import micro_batches
from keras_bigbatch.cli.errors import UsageError
from keras_bigbatch.cli.output import check_writable
from keras_bigbatch.cli.output import checked_writable
from keras_bigbatch.cli.output import default_output
from keras_bigbatch.cli.output import worker_output
from keras_bigbatch.cli.overrides import set_overrides
from keras_bigbatch.distribute.runtime import runtime_for
from keras_bigbatch.training import recipes as recipes_lib
from keras_bigbatch.training import report


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What `prepare` checked: the recipe, its run configs, the report's
    panels, this worker's output folder, the strategy and the chief's folder
    (`checkpoint_root`) that every worker resumes from."""

    recipe: dict
    configs: list
    panels: list
    output: str
    strategy: object
    checkpoint_root: str


def prepare(args):
    """Everything that can be wrong with the input, checked before any training.

    Raises:
        UsageError, ValueError: bad input (the message says what is valid).
    """
    recipe = recipes_lib.load_recipe(args.recipe, args.size)
    wanted = args.runs.split(",") if args.runs else None
    configs = recipes_lib.run_configs(recipe, wanted, set_overrides(args))
    micro_batches.check_bound(args.max_micro_batch, set_overrides(args))
    panels = report.check_panels(recipe.get("report", {}).get("panels", ["test_accuracy"]))
    output = args.output or default_output(recipe["name"], args.size)
    checked_writable(output)  # leaves no folder behind: `run` creates it

    from keras_bigbatch.distribute import get_strategy
    from keras_bigbatch.training.plan import plan

    if args.deterministic:
        _enable_determinism()
    strategy = get_strategy(args.strategy, cpu_devices=args.cpu_devices)
    if args.max_micro_batch is not None:  # per run, on this strategy's replicas
        configs = micro_batches.choose(configs, runtime_for(strategy).num_replicas,
                                       args.max_micro_batch)
    for config in configs:  # every run's data, batch sizes and device settings, before training
        plan(config, strategy)
        check_settings(_checkpoint_dir(output, config), config, strategy)
    checkpoint_root = output  # the chief's: every worker resumes from it
    output = worker_output(output, strategy)
    checked_writable(output)
    return Prepared(recipe, configs, panels, output, strategy, checkpoint_root)


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


def run(args, prepared):
    """Trains every prepared run; returns the exit status.

    From here on an error is a failure of training, not of the input: it
    propagates with its traceback (exit status 1), except a checkpoint that
    cannot be used or a model that does not fit its data (2), SIGTERM (143,
    after saving) and Ctrl-C (130).
    """
    try:
        with PreemptionWatch() as watch:
            return _train(args, prepared, watch)
    except (CheckpointError, UsageError) as error:  # found when a run starts
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Preempted as stop:
        print(f"preempted (SIGTERM): {stop}. Rerun the same command to resume.",
              file=sys.stderr, flush=True)
        return 143
    except KeyboardInterrupt:
        print(f"interrupted: runs that finished are in {prepared.output}/results.json; "
              "rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130


def _train(args, prepared, watch):
    from keras_bigbatch.training import trainer

    recipe, configs, output = prepared.recipe, prepared.configs, prepared.output
    strategy, verbosity = prepared.strategy, getattr(args, "verbosity", 1)
    if verbosity:
        print(f"{recipe['name']} ({args.size}): {len(configs)} run(s) on "
              f"{strategy.num_replicas_in_sync} replica(s); results in {output}/", flush=True)
    if args.max_micro_batch is not None and verbosity:
        for config in configs:
            print(micro_batches.describe_choice(config, strategy.num_replicas_in_sync,
                                                args.max_micro_batch), flush=True)
    results = []
    start = time.perf_counter()
    for index, config in enumerate(configs):
        # SIGTERM after the previous run's last step (every worker decides the same)
        if index and runtime_for(strategy).agree_any(watch.requested):
            raise Preempted(results[-1]["updates"], _checkpoint_dir(
                prepared.checkpoint_root, configs[index - 1]))
        run_root = os.path.join(prepared.checkpoint_root, config["name"])
        try:  # the model is bad input too: checked against the data before training
            model = trainer.build(config, strategy)
        except ValueError as error:
            raise UsageError(f"run {config['name']!r}: {error}") from None
        check_writable(output)  # made once the first run's model is built: none if refused
        result = trainer.fit(config, model, strategy, verbose=verbosity,
                             checkpoint_dir=_checkpoint_dir(prepared.checkpoint_root, config),
                             preemption=watch, log_dir=os.path.join(run_root, "logs"))
        result = result.to_dict()  # a RunResult; results.json's dict
        run_folder = os.path.join(output, config["name"])
        check_writable(run_folder)
        model.save(os.path.join(run_folder, "model.keras"))
        report.write_history(os.path.join(run_folder, "history.json"), result)
        results.append(result)
        report.write_json(os.path.join(output, "results.json"), {
            "recipe": recipe["name"], "size": args.size, "strategy": args.strategy,
            "overrides": dict(set_overrides(args)), "max_micro_batch": args.max_micro_batch,
            "results": results,
            "expected": report.check_expected(results, recipe.get("expected", {})),
        })
    _print_report(args, prepared, results, time.perf_counter() - start)
    return 0


def _print_report(args, prepared, results, wall_time):
    """The results table, the expected checks and the plot, after the last run."""
    recipe, output = prepared.recipe, prepared.output
    print()
    print(report.format_table(results))
    print(f"\ntotal wall time {wall_time:.0f} s")
    if "distance" in prepared.panels:
        for result in results:
            slope = report.format_value(report.log_slope(result), ".3f")  # n/a: too short
            print(f"  {result['name']}: d||w - w0|| / d ln(t) = {slope}")
    checks = report.check_expected(results, recipe.get("expected", {}))
    if checks:
        print(f"expected ({args.size}):\n{report.format_checks(checks)}")
    report.plot(os.path.join(output, "results.png"), results, prepared.panels,
                recipe.get("description", ""))
    print(f"wrote {output}/results.json, {output}/results.png and RUN/model.keras per run")
