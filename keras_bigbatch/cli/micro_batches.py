"""Micro-batching from the command line: `--max-micro-batch N`, and the
recipes' micro-batch settings that `train --help` shows.

```
k = global batch / (replicas x m)   passes per update, m rows per replica each
--set micro_batch_size=m            m for every run; it must divide every
                                    per-replica batch (`training.plan`)
--max-micro-batch N                 per run, on the run's replicas: the largest
                                    valid m <= N, none when the whole per-replica
                                    batch fits (`plan.choose_micro_batch_size`,
                                    after every --set)
```

`--max-micro-batch` with `--set micro_batch_size` is refused (exit status
2): both choose m, and neither silently wins.

A recipe module that declares `MICRO_BATCHES = {"fits": text, "hardware":
((hardware, strategy, replicas, max_micro_batch), ...)}` (the ImageNet
recipes; `recipes/_imagenet.py`) gets its settings in `train --help`: each
row's flags and the k of every run.
"""

import importlib
import textwrap

from keras_bigbatch.cli.errors import UsageError
from keras_bigbatch.training import config as config_lib
from keras_bigbatch.training import recipes as recipes_lib
from keras_bigbatch.training.plan import check_batch_sizes
from keras_bigbatch.training.plan import choose_micro_batch_size


def check_bound(bound, overrides):
    """Raises `UsageError` unless `--max-micro-batch` is None or >= 1 and
    `--set micro_batch_size` (in `overrides`, `(key, text)` pairs) is absent."""
    if bound is None:
        return
    if bound < 1:
        raise UsageError("--max-micro-batch must be an integer >= 1 (the most rows per replica "
                         f"in one forward/backward pass). Received: --max-micro-batch {bound}")
    given = [text for key, text in overrides if key == "micro_batch_size"]
    if given:
        raise UsageError(
            "--max-micro-batch and --set micro_batch_size both choose the micro batch; give "
            f"one of them. Received: --max-micro-batch {bound}, --set micro_batch_size={given[-1]}")


def global_batches(config):
    """The config's global batch sizes: its batch-growth plan's, sorted, or its one."""
    growth = config_lib.batch_growth_plan(config)
    if growth is None:
        return [config["schedule"]["batch_size"]]
    return sorted(set(growth.batch_size.boundaries.values()))


def choose(configs, num_replicas, bound):
    """`configs` with `micro_batch_size` = the largest valid micro batch <=
    `bound` on `num_replicas` replicas (None where the whole per-replica batch
    fits), each resolved.

    Raises:
        ValueError: the replicas or a ghost batch do not divide a batch, or no
            micro batch <= `bound` is valid (the message names the run).
    """
    chosen = []
    for config in configs:
        growth = config_lib.batch_growth_plan(config)
        check_batch_sizes(config, num_replicas, growth)
        try:
            micro = choose_micro_batch_size(config, num_replicas, bound, growth)
        except ValueError as error:
            raise ValueError(f"Run {config['name']!r}: {error}") from None
        chosen.append(config_lib.resolve(config_lib.merge(config, {"micro_batch_size": micro})))
    return chosen


def passes(config, num_replicas):
    """`k = G / (R x m) = k` for each of the config's global batches G (batch
    growth: `..., growing to G' / (R x m) = k'`), or `k = 1 (G / R = p per
    replica fits)` without micro-batching."""
    batches, micro = global_batches(config), config["micro_batch_size"]
    if micro is None:
        return (f"k = 1 ({batches[-1]} / {num_replicas} = {batches[-1] // num_replicas} "
                "per replica fits)")
    return "k = " + ", growing to ".join(
        f"{b} / ({num_replicas} x {micro}) = {b // (num_replicas * micro)}" for b in batches)


def describe_choice(config, num_replicas, bound):
    """The command's line for one run's `--max-micro-batch` choice."""
    micro = config["micro_batch_size"]
    chosen = "whole per-replica batch" if micro is None else f"micro batch {micro} per replica"
    return (f"  {config['name']}: --max-micro-batch {bound}: {chosen}, "
            f"{passes(config, num_replicas)}")


def _flags(strategy, bound, configs):
    flags = [] if strategy == "default" else [f"--strategy {strategy}"]
    micros = {config["micro_batch_size"] for config in configs}
    if micros != {None}:
        flags.append(f"--set micro_batch_size={micros.pop()}" if len(micros) == 1
                     else f"--max-micro-batch {bound}")
    return " ".join(flags) or "(no flag)"


def recipe_settings(name):
    """`train --help` lines for registered recipe `name` at its default size:
    for each row of its `MICRO_BATCHES`, the flags and every run's k ([] when
    the recipe declares none)."""
    declared = getattr(importlib.import_module(f"keras_bigbatch.recipes.{name}"),
                       "MICRO_BATCHES", None)
    if declared is None:
        return []
    configs = recipes_lib.run_configs(recipes_lib.load_recipe(name))
    lines = [f"  {name}"] + textwrap.wrap(f"fits: {declared['fits']}", 88,
                                          initial_indent=" " * 4, subsequent_indent=" " * 10)
    for hardware, strategy, replicas, bound in declared["hardware"]:
        chosen = choose(configs, replicas, bound)
        groups = {}  # k text -> run names
        for config in chosen:
            groups.setdefault(passes(config, replicas), []).append(config["name"])
        lines.append(f"    {hardware + ':':<16}{_flags(strategy, bound, chosen)}")
        lines += [f"{'':<8}{', '.join(runs) + ': ' if len(configs) > 1 else ''}{text}"
                  for text, runs in groups.items()]
    return lines


def help_text():
    """The epilog of `keras-bigbatch train --help`."""
    lines = [
        "micro-batching (in-step gradient accumulation): one update from the mean gradient",
        "of k passes of m rows per replica, k = global batch / (replicas x m); the update is",
        "the whole batch's when the ghost batch divides m, the memory m rows'.",
        "  --set micro_batch_size=m   m for every run (it must divide every per-replica batch)",
        "  --max-micro-batch N        per run: the largest valid m <= N (none if the batch fits)",
        "",
        "the recipes on common hardware (keras-bigbatch train RECIPE FLAGS; what fits is an",
        "estimate, not measured):",
    ]
    for name in recipes_lib.recipe_names():
        lines += recipe_settings(name)
    return "\n".join(lines)
