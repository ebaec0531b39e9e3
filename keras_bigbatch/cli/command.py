"""`main`: parses the command line, runs `train`, `tune` or `list`, returns the exit status.

Parsing imports nothing heavy, so `keras-bigbatch --help` (and a usage
error) answers without loading Keras or TensorFlow; a command's modules are
imported once it runs. TensorFlow's own logging is quiet: the command sets
`TF_CPP_MIN_LOG_LEVEL=2` (unless the caller set it) before TensorFlow is
first imported, drops the start-up lines that no level silences (oneDNN,
absl's "before InitializeLog") and sets the `tensorflow` and `absl`
Python loggers to errors only; `TF_CPP_MIN_LOG_LEVEL=0` shows it all.
"""

import contextlib
import logging
import os
import sys
import tempfile

# Before anything imports TensorFlow (the package's modules import it lazily).
_SHOW_TF_LOGGING = os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_bigbatch.cli._parser import parser  # noqa: E402
from keras_bigbatch.cli.errors import UsageError  # noqa: E402

COMMANDS = ("train", "tune", "list")

# What TensorFlow's shared libraries print as they load, whatever TF_CPP_MIN_LOG_LEVEL says.
_START_UP_LINES = ("All log messages before absl::InitializeLog() is called",
                   "oneDNN custom operations are on", "cpu_feature_guard.cc",
                   "To enable the following instructions:")


def main(argv=None):
    """Runs `keras-bigbatch ARGV...` (default `sys.argv[1:]`); returns the exit status.

    A first argument that is not a command is a recipe: `keras-bigbatch
    RECIPE ...` (and `python -m keras_bigbatch.training RECIPE ...`) is
    `keras-bigbatch train RECIPE ...`.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "train")  # `python -m keras_bigbatch.training RECIPE ...`
    with quiet_tensorflow_start():  # `train --help` reads the recipes, which import Keras
        args = parser().parse_args(argv)
        import keras  # noqa: F401 (and TensorFlow on its backend, quietly)
    from keras_bigbatch.cli import list as list_command
    from keras_bigbatch.cli import train
    from keras_bigbatch.cli import tune

    try:
        if args.command == "list":
            return list_command.run()
        if args.command == "tune":
            return tune.run(args)
        prepared = train.prepare(args)
    except (UsageError, ValueError) as error:  # DataFileError, TPUNotFoundError: ValueErrors
        print(f"error: {error}", file=sys.stderr)
        return 2
    return train.run(args, prepared)


@contextlib.contextmanager
def quiet_tensorflow_start():
    """Inside: what TensorFlow prints to stderr as it loads is dropped (other
    lines pass through, when the block ends); after it, the `tensorflow` and
    `absl` Python loggers print errors only. Does nothing where TensorFlow
    is loaded already or the caller set `TF_CPP_MIN_LOG_LEVEL=0`."""
    if "tensorflow" in sys.modules or _SHOW_TF_LOGGING:
        yield
        return
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not any(noise in line for noise in _START_UP_LINES):
                    sys.stderr.write(line)
            sys.stderr.flush()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if "absl.logging" in sys.modules:
        sys.modules["absl.logging"].set_verbosity("error")
