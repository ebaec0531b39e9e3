"""The `keras-bigbatch` argument parser: `train`, `tune` and `list`.

Building it imports nothing heavy (no Keras, no TensorFlow): the strategy
and size names are read from their modules when a value is checked or a
command's help is shown, so `keras-bigbatch --help` answers at once.
"""

import argparse
import importlib


class _Names:
    """The names `module.attribute` holds, read on first use (argparse `choices`)."""

    def __init__(self, module, attribute):
        self._where, self._names = (module, attribute), None

    def _load(self):
        if self._names is None:
            module, attribute = self._where
            self._names = tuple(getattr(importlib.import_module(module), attribute))
        return self._names

    def __contains__(self, value):
        return value in self._load()

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())


STRATEGIES = _Names("keras_bigbatch.distribute.strategy", "STRATEGIES")
SIZES = _Names("keras_bigbatch.training.recipes", "SIZES")


def _train_epilog():
    from keras_bigbatch.cli import micro_batches

    return micro_batches.help_text()


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose `epilog` may be a function, called only when
    the help is shown (`train --help` reads the recipes)."""

    def format_help(self):
        if callable(self.epilog):
            self.epilog = self.epilog()
        return super().format_help()


def parser():
    """The `argparse` parser of every command (see `keras_bigbatch.cli`)."""
    parser = _Parser(
        prog="keras-bigbatch", description="Train Keras models with very large batches.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands.add_parser(
        "train", help="run a recipe and report its results", epilog=_train_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter))
    _add_tune(commands.add_parser(
        "tune", help="search a run's large-batch knobs with Keras Tuner"))
    commands.add_parser("list", help="list the registered recipes, data sources and models")
    return parser


def _add_train(train):
    train.add_argument("recipe", help="a registered recipe name (see `list`) or a recipe file")
    train.add_argument("--size", choices=SIZES, default="default", metavar="SIZE",
                       help="one of %(choices)s; 'smoke' shrinks everything for CI "
                            "(default: %(default)s)")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="change a config value for every run, e.g. schedule.epochs=3 "
                            "(repeatable)")
    train.add_argument("--runs", default=None, help="comma-separated run names (default: all)")
    train.add_argument("--strategy", choices=STRATEGIES, default="default", metavar="NAME",
                       help="one of %(choices)s (default: %(default)s)")
    train.add_argument("--cpu-devices", type=int, default=None,
                       help="with --strategy mirrored or data-parallel: split the CPU "
                            "into N devices")
    train.add_argument("--max-micro-batch", type=int, default=None, metavar="N",
                       help="each run's micro_batch_size on its replicas: the largest that "
                            "divides every per-replica batch (a multiple of the ghost batch), "
                            "at most N rows per replica per pass; none where the whole "
                            "per-replica batch fits. Not with --set micro_batch_size")
    train.add_argument("--seed", type=int, default=None, help="shorthand for --set seed=N")
    train.add_argument("--output", "--out", dest="output", default=None,
                       help="output folder (default: results/RECIPE, or results/RECIPE-smoke)")
    train.add_argument("--deterministic", action="store_true",
                       help="op determinism: a resumed run equals an uninterrupted one "
                            "bit for bit (slower on GPUs)")
    _add_verbosity(train)


def _add_verbosity(command):
    """`--verbose` / `--quiet` (see `cli.train`): `args.verbosity` 2, 1 or 0."""
    group = command.add_mutually_exclusive_group()
    group.add_argument("--verbose", "-v", dest="verbosity", action="store_const", const=2,
                       default=1, help="progress lines more often (every 5 s; every epoch)")
    group.add_argument("--quiet", "-q", dest="verbosity", action="store_const", const=0,
                       help="no progress: errors, the results table and where it was written")


def _add_tune(tune):
    tune.add_argument("recipe", help="a registered recipe name (see `list`) or a recipe file")
    tune.add_argument("--tuner", default="random", help="random, bayesian or hyperband "
                      "(default: %(default)s)")
    tune.add_argument("--max-trials", type=int, default=10, help="default: %(default)s")
    tune.add_argument("--run", default=None, help="the recipe's run to tune (default: its first)")
    tune.add_argument("--knob", dest="knobs", action="append", default=[], metavar="KNOB=SPEC",
                      help="fix (lars), narrow to choices (sgd,lars) or to a range (0.1:10) "
                           "a knob of the search space (repeatable)")
    tune.add_argument("--size", choices=SIZES, default="default", metavar="SIZE",
                      help="one of %(choices)s (default: %(default)s)")
    tune.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="change a config value of the run (repeatable)")
    tune.add_argument("--strategy", choices=STRATEGIES, default="default", metavar="NAME",
                      help="one of %(choices)s (default: %(default)s)")
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
