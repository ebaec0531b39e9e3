"""The `keras-bigbatch` argument parser: `train`, `tune` and `list`."""

import argparse

from keras_bigbatch.cli import micro_batches
from keras_bigbatch.distribute.strategy import STRATEGIES
from keras_bigbatch.training.recipes import SIZES


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
        "train", help="run a recipe and report its results", epilog=micro_batches.help_text,
        formatter_class=argparse.RawDescriptionHelpFormatter))
    _add_tune(commands.add_parser(
        "tune", help="search a run's large-batch knobs with Keras Tuner"))
    commands.add_parser("list", help="list the registered recipes, data sources and models")
    return parser


def _add_train(train):
    train.add_argument("recipe", help="a registered recipe name (see `list`) or a recipe file")
    train.add_argument("--size", choices=SIZES, default="default",
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


def _add_tune(tune):
    tune.add_argument("recipe", help="a registered recipe name (see `list`) or a recipe file")
    tune.add_argument("--tuner", default="random", help="random, bayesian or hyperband "
                      "(default: %(default)s)")
    tune.add_argument("--max-trials", type=int, default=10, help="default: %(default)s")
    tune.add_argument("--run", default=None, help="the recipe's run to tune (default: its first)")
    tune.add_argument("--knob", dest="knobs", action="append", default=[], metavar="KNOB=SPEC",
                      help="fix (lars), narrow to choices (sgd,lars) or to a range (0.1:10) "
                           "a knob of the search space (repeatable)")
    tune.add_argument("--size", choices=SIZES, default="default")
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
