"""Files on a local disk or on any `tf.io.gfile` file system, through one interface.

```
filesystem(path)         plain file calls for local paths (no TensorFlow);
                         tf.io.gfile for URLs (gs://, ram://, ...), which
                         needs TensorFlow
write_atomically(p, b)   b to "p.tmp-PID" in p's folder, then renamed onto p:
                         a reader never sees a half-written file
```

Checkpoints, results and the command's output check all go through it.
"""

import os


class LocalFiles:
    """The part of `tf.io.gfile` this package uses, for local paths."""

    GFile = staticmethod(open)
    exists = staticmethod(os.path.exists)
    isdir = staticmethod(os.path.isdir)
    listdir = staticmethod(os.listdir)
    remove = staticmethod(os.remove)

    @staticmethod
    def makedirs(path):
        os.makedirs(path, exist_ok=True)

    @staticmethod
    def rename(source, target, overwrite=False):
        if not overwrite and os.path.exists(target):
            raise FileExistsError(target)
        os.replace(source, target)


def is_url(path):
    return "://" in str(path)


def filesystem(path):
    """`LocalFiles` for a local `path`, `tf.io.gfile` for a URL.

    Raises:
        ValueError: `path` is a URL and TensorFlow is not installed.
    """
    if not is_url(path):
        return LocalFiles
    try:
        import tensorflow as tf
    except ModuleNotFoundError:
        raise ValueError(
            f"{str(path)!r} is a URL, which needs tf.io.gfile, and TensorFlow is not "
            "installed. Give a local folder (or a mounted bucket), or install "
            "tensorflow.") from None
    return tf.io.gfile


def write_atomically(path, data):
    """Writes the bytes `data` to `path` through a temporary name and a rename."""
    path = str(path)
    files = filesystem(path)
    files.makedirs(os.path.dirname(path if is_url(path) else os.path.abspath(path)))
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with files.GFile(tmp, "wb") as stream:
            stream.write(data)
        files.rename(tmp, path, overwrite=True)
    except BaseException:
        if files.exists(tmp):
            files.remove(tmp)
        raise
