import numpy as np
import pytest
import tensorflow as tf

from keras_bigbatch.data import SyntheticSource
from keras_bigbatch.data import get_source
from keras_bigbatch.data import source_arguments
from keras_bigbatch.data import synthetic_source


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: sources build no Keras state."""
    yield


def context(workers, worker, replicas):
    return tf.distribute.InputContext(
        num_input_pipelines=workers, input_pipeline_id=worker, num_replicas_in_sync=replicas)


def test_registered_with_imagenet_defaults():
    assert source_arguments("synthetic") == {
        "image_size": 224, "num_classes": 1000, "train_examples": 1_281_167,
        "test_examples": 50_000}
    source = get_source("synthetic")
    assert isinstance(source, SyntheticSource) and source.name == "synthetic"
    assert repr(source) == (
        "SyntheticSource(name='synthetic', train=1281167, test=50000, classes=1000)")
    assert source.element_spec == (tf.TensorSpec((224, 224, 3), tf.uint8),
                                   tf.TensorSpec((), tf.int64))
    assert source.steps_per_epoch(4096) == 312     # 1,281,167 // 4096


def test_training_repeats_one_seeded_batch():
    source = synthetic_source(image_size=8, num_classes=5, train_examples=100, test_examples=10)
    batches = list(source.dataset("train", 16, seed=3).take(3))
    x, y = batches[0]
    assert x.shape == (16, 8, 8, 3) and x.dtype == tf.uint8 and y.dtype == tf.int64
    assert 0 <= y.numpy().min() and y.numpy().max() < 5
    assert x.numpy().std() > 50                    # uniform over 0..255
    for other_x, other_y in batches[1:]:           # generated once, yielded every step
        np.testing.assert_array_equal(other_x, x)
        np.testing.assert_array_equal(other_y, y)
    again = next(iter(source.dataset("train", 16, seed=3, start_step=7)))
    np.testing.assert_array_equal(again[0], x)
    other = next(iter(source.dataset("train", 16, seed=4)))
    assert not np.array_equal(other[0], x)


def test_training_per_replica_batches():
    source = synthetic_source(image_size=4, train_examples=64, test_examples=8)
    for worker in (0, 1):
        dataset = source.dataset("train", 16, context(2, worker, 4))
        assert dataset.element_spec[0].shape == (4, 4, 4, 3)     # 16 / 4 replicas
        assert len(list(dataset.take(5))) == 5


def test_epoch_examples_for_batch_size_schedules():
    source = synthetic_source(image_size=4, train_examples=40, test_examples=8)
    examples = list(source._epoch_examples(0, tf.constant(0, tf.int64), (1, 2),
                                           tf.constant(16, tf.int64),
                                           tf.constant(0, tf.int64)).batch(8))
    assert len(examples) == 2                        # 40 // 16 steps of 16 / 2 workers
    first = next(iter(source.dataset("train", 8, seed=0)))
    for x, y in examples:
        np.testing.assert_array_equal(x, first[0])   # one batch, drawn once from the seed
        np.testing.assert_array_equal(y, first[1])


def test_evaluation_is_one_finite_pass():
    source = synthetic_source(image_size=4, train_examples=64, test_examples=10)
    sizes = [len(y) for _, y in source.dataset("test", 4)]
    assert sizes == [4, 4, 2]
    assert [len(y) for _, y in source.dataset("test", 64)] == [10]
    assert [len(y) for _, y in source.dataset("train", 32, training=False)] == [32, 32]


def test_argument_errors():
    with pytest.raises(ValueError, match=r"`image_size` must be a positive integer\. "
                                         r"Received: image_size=0"):
        synthetic_source(image_size=0)
    with pytest.raises(ValueError, match=r"Received: num_classes=2\.5"):
        synthetic_source(num_classes=2.5)
    with pytest.raises(ValueError, match=r"Received: test_examples=-1"):
        synthetic_source(test_examples=-1)
    with pytest.raises(ValueError, match=r"`global_batch_size` \(128\) is larger than the 100"):
        synthetic_source(train_examples=100).dataset("train", 128)
