"""The command's output folders: the default per recipe and size, the
writability checks, and a multi-worker job's per-worker folder.

`checked_writable` is the check `prepare` makes before any training: it
leaves no folder behind (a refused run creates nothing); `check_writable`
creates the folder, once the runs start.
"""

import os

from keras_bigbatch.checkpoint import files
from keras_bigbatch.cli.errors import UsageError
from keras_bigbatch.distribute.runtime import runtime_for


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


def checked_writable(folder):
    """Checks that `folder` can be created and written, then removes the
    local folders the check created (never one that existed before).

    Raises:
        UsageError: it cannot be written (the message names the folder).
    """
    created, parent = [], os.path.abspath(folder) if not files.is_url(folder) else None
    while parent is not None and not os.path.exists(parent):
        created.append(parent)
        parent = os.path.dirname(parent) if os.path.dirname(parent) != parent else None
    try:
        check_writable(folder)
    finally:
        for path in created:  # deepest first
            try:
                os.rmdir(path)
            except OSError:  # not empty (something else wrote there), or gone
                break


def default_output(recipe_name, size, suffix=""):
    """`results/RECIPE[SUFFIX]`, with `-SIZE` unless the default size: a smoke
    run never meets a full one's checkpoints."""
    return os.path.join(
        "results", recipe_name + suffix + ("" if size == "default" else f"-{size}"))


def worker_output(output, strategy):
    """`output` for the chief (task 0); `output/worker-i` for worker i > 0."""
    task = runtime_for(strategy).worker_index
    return output if not task else os.path.join(output, f"worker-{task}")
