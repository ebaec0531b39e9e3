"""`main`: parses the command line, runs `train`, `tune` or `list`, returns the exit status."""

import os
import sys

from keras_bigbatch.cli import list as list_command
from keras_bigbatch.cli import train
from keras_bigbatch.cli import tune
from keras_bigbatch.cli._parser import parser
from keras_bigbatch.cli.errors import UsageError

COMMANDS = ("train", "tune", "list")


def main(argv=None):
    """Runs `keras-bigbatch ARGV...` (default `sys.argv[1:]`); returns the exit status.

    A first argument that is not a command is a recipe: `keras-bigbatch
    RECIPE ...` (and `python -m keras_bigbatch.training RECIPE ...`) is
    `keras-bigbatch train RECIPE ...`.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "train")  # `python -m keras_bigbatch.training RECIPE ...`
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if args.command == "list":
            return list_command.run()
        if args.command == "tune":
            return tune.run(args)
        prepared = train.prepare(args)
    except (UsageError, ValueError) as error:  # DataFileError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    return train.run(args, prepared)
