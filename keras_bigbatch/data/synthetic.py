"""Synthetic ImageNet-shaped data: random images generated once, for throughput runs.

```
training:   one batch of `batch` examples (per-replica under an input
            context, else the global batch), drawn once from
            stateless_uniform(seed) and yielded at every step, forever
            (so `start_step` changes nothing)
evaluation: ceil(test_examples / B) global batches (the last one partial),
            all cut from one batch of min(B, test_examples) examples
batch-size schedules (`scheduled_dataset`): the same, one batch per epoch
numpy batches (`batches`, JAX and PyTorch): the same shapes, drawn once by
            numpy's default_rng([seed, 0])
```

The input pipeline then costs nearly nothing, so a run measures the model
and the accelerator. Images are uint8 `(image_size, image_size, 3)` (like
`imagenet2012`), labels int64 in `[0, num_classes)`. Every step and every
replica see the same examples: the data is only good for timing.
"""

import itertools

import numpy as np

from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.data.registry import register_source
from keras_bigbatch.data.source import BATCH_SIZE_SCHEDULES
from keras_bigbatch.data.source import NUMPY_BATCHES
from keras_bigbatch.data.source import DataSource


class SyntheticSource(DataSource):
    """Random uint8 images as a `DataSource` (see the module docstring).

    Args:
        image_size: image side in pixels.
        num_classes: labels are drawn from `[0, num_classes)`.
        train_examples: the training size the source reports (it sets steps
            per epoch).
        test_examples: the test size the source reports (it sets the
            evaluation pass).
    """

    name = "synthetic"
    features = frozenset({NUMPY_BATCHES, BATCH_SIZE_SCHEDULES})

    def __init__(self, image_size=224, num_classes=1000, train_examples=1_281_167,
                 test_examples=50_000):
        self.image_size = check_positive_int("image_size", image_size)
        self._num_classes = check_positive_int("num_classes", num_classes)
        self._examples = {"train": check_positive_int("train_examples", train_examples),
                          "test": check_positive_int("test_examples", test_examples)}

    def num_examples(self, split):
        return self._examples[split]

    @property
    def num_classes(self):
        return self._num_classes

    def example_shape(self):
        return (self.image_size, self.image_size, 3)

    @property
    def element_spec(self):
        from keras_bigbatch.data import pipeline

        return pipeline.image_spec(self.image_size)

    def _batch(self, size, seed):
        """A dataset holding one batch of `size` random examples, generated once."""
        from keras_bigbatch.data import pipeline

        return pipeline.random_images(size, self.image_size, self._num_classes, seed)

    def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
        from keras_bigbatch.data import pipeline

        if training:
            return self._batch(batch, seed).repeat()
        count = self._examples[split]
        return pipeline.one_pass(self._batch(min(global_batch_size, count), seed), count,
                                 global_batch_size)

    def _numpy_batch(self, size, seed):
        """`size` random examples as numpy arrays (uint8 images, int64 labels)."""
        rng = np.random.default_rng([int(seed), 0])
        x = rng.integers(0, 256, (size, self.image_size, self.image_size, 3), dtype=np.uint8)
        return x, rng.integers(0, self._num_classes, (size,), dtype=np.int64)

    def _batches(self, split, global_batch_size, shard, seed, training, start_step):
        if training:  # the worker's slice: one batch, generated once, yielded forever
            batch = self._numpy_batch(global_batch_size // shard[1], seed)
            return (batch for _ in itertools.count())  # a generator: what Keras's fit takes
        count = self._examples[split]
        x, y = self._numpy_batch(min(global_batch_size, count), seed)
        sizes = [global_batch_size] * (count // global_batch_size)
        sizes += [count % global_batch_size] if count % global_batch_size else []
        return ((x[:size], y[:size]) for size in sizes)

    def _epoch_examples(self, seed, epoch, shard, global_batch_size, first_batch):
        # Batch-size schedules: the worker's slice of one global batch, every step.
        steps = self._examples["train"] // global_batch_size - first_batch
        return self._batch(global_batch_size // shard[1], seed).repeat(steps).unbatch()


@register_source("synthetic")
def synthetic_source(image_size=224, num_classes=1000, train_examples=1_281_167,
                     test_examples=50_000):
    """A `SyntheticSource`: ImageNet's shapes and sizes by default (see the module docstring).

    Example:

        >>> from keras_bigbatch.data import get_source
        >>> data = get_source("synthetic", image_size=64, train_examples=1024)
        >>> data.steps_per_epoch(256), data.dataset("train", 256).element_spec[0].shape
        (4, TensorShape([256, 64, 64, 3]))
    """
    return SyntheticSource(image_size, num_classes, train_examples, test_examples)
