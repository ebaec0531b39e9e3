"""Data sources and global-batch tf.data pipelines.

The readers and the source registry need only numpy; building datasets
(`make_dataset`, `make_scheduled_dataset`, `DataSource.dataset`), building
the `imagenet2012` source and writing ImageNet samples import TensorFlow
when first called.

The training data order (which rows make global batch t, for a seed, a step
and a shard) is defined once, in `order.py`; `pipeline.py` holds every
tf.data pipeline of the in-memory sources and of batch-size schedules.

Registered sources: `digits`, `fashion_mnist`, `imagenet2012`, `synthetic`.
Your own data, for `training.train(config, data=...)` or a registered
factory: `from_arrays` (numpy arrays), `from_dataset_fn` (a tf.data factory
per split, global batch, input context, seed and start step) and
`from_generator` (a Python generator of numpy batches).
"""

from keras_bigbatch.data.arrays import ArraySource
from keras_bigbatch.data.arrays import from_arrays
from keras_bigbatch.data.dataset_function import DatasetFunctionSource
from keras_bigbatch.data.dataset_function import from_dataset_fn
from keras_bigbatch.data.generator import GeneratorSource
from keras_bigbatch.data.generator import from_generator
from keras_bigbatch.data.digits import digits_source
from keras_bigbatch.data.digits import load_digits
from keras_bigbatch.data.fashion_mnist import download_fashion_mnist
from keras_bigbatch.data.fashion_mnist import fashion_mnist_source
from keras_bigbatch.data.fashion_mnist import load_fashion_mnist
from keras_bigbatch.data.fashion_mnist import load_split
from keras_bigbatch.data.idx import DataFileError
from keras_bigbatch.data.idx import read_idx
from keras_bigbatch.data.imagenet import ImageNetSource
from keras_bigbatch.data.imagenet import imagenet2012_source
from keras_bigbatch.data.registry import get_source
from keras_bigbatch.data.registry import register_source
from keras_bigbatch.data.registry import source_arguments
from keras_bigbatch.data.registry import source_names
from keras_bigbatch.data.source import DataSource
from keras_bigbatch.data.synthetic import SyntheticSource
from keras_bigbatch.data.synthetic import synthetic_source
from keras_bigbatch.durations import steps_per_epoch


def __getattr__(name):
    # tf.data helpers import TensorFlow lazily, so the readers stay light.
    if name == "make_dataset":
        from keras_bigbatch.data import pipeline

        return pipeline.make_dataset
    if name in ("make_scheduled_dataset", "make_scheduled_dataset_from_function"):
        from keras_bigbatch.data import pipeline

        return getattr(pipeline, name)
    if name in ("write_tfrecord_sample", "write_ilsvrc_tars"):
        # Imported on use, so `python -m keras_bigbatch.data.imagenet_sample` runs cleanly.
        from keras_bigbatch.data import imagenet_sample

        return getattr(imagenet_sample, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ArraySource",
    "DataFileError",
    "DataSource",
    "DatasetFunctionSource",
    "GeneratorSource",
    "ImageNetSource",
    "SyntheticSource",
    "digits_source",
    "download_fashion_mnist",
    "fashion_mnist_source",
    "from_arrays",
    "from_dataset_fn",
    "from_generator",
    "get_source",
    "imagenet2012_source",
    "load_digits",
    "load_fashion_mnist",
    "load_split",
    "make_dataset",
    "make_scheduled_dataset",
    "make_scheduled_dataset_from_function",
    "read_idx",
    "register_source",
    "source_arguments",
    "source_names",
    "steps_per_epoch",
    "synthetic_source",
    "write_ilsvrc_tars",
    "write_tfrecord_sample",
]
