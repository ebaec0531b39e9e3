"""Real data sets read from local files, and global-batch tf.data pipelines.

The readers need only numpy; `make_dataset` and `make_scheduled_dataset`
import TensorFlow.
"""

from keras_bigbatch.data.digits import load_digits
from keras_bigbatch.data.fashion_mnist import load_fashion_mnist
from keras_bigbatch.data.fashion_mnist import load_split
from keras_bigbatch.data.idx import DataFileError
from keras_bigbatch.data.idx import read_idx


def __getattr__(name):
    # tf.data helpers import TensorFlow lazily, so the readers stay light.
    if name in ("make_dataset", "steps_per_epoch"):
        from keras_bigbatch.data import pipeline

        return getattr(pipeline, name)
    if name == "make_scheduled_dataset":
        from keras_bigbatch.data import scheduled

        return scheduled.make_scheduled_dataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DataFileError",
    "load_digits",
    "load_fashion_mnist",
    "load_split",
    "make_dataset",
    "make_scheduled_dataset",
    "read_idx",
    "steps_per_epoch",
]
