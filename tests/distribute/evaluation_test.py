import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bigbatch.distribute.evaluation import make_evaluator
from keras_bigbatch.distribute.evaluation import pad_to_full_batches


def _model_and_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.integers(0, 4, size=10)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    return model, x, y


def test_padding_makes_every_batch_full_and_changes_no_count():
    _, x, y = _model_and_data()
    padded = pad_to_full_batches(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), 4)
    batches = list(padded)
    assert [b[0].shape[0] for b in batches] == [4, 4, 4]
    assert padded.element_spec[0].shape.as_list() == [4, 3]  # static: what a TPU compiles
    np.testing.assert_array_equal(batches[-1][1].numpy(), [y[8], y[9], -1, -1])
    np.testing.assert_array_equal(batches[-1][0].numpy()[2:], 0)


@pytest.mark.parametrize("replicas", [1, 2])
def test_accuracy_of_a_padded_pass_equals_the_unpadded_one(replicas, mirrored):
    strategy = mirrored if replicas == 2 else tf.distribute.get_strategy()
    with strategy.scope():
        model, x, y = _model_and_data()
    predicted = np.argmax(model.predict(x, verbose=0), axis=-1)
    expected = float(np.mean(predicted == y))
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    evaluate = make_evaluator(model, strategy)
    assert evaluate(dataset) == pytest.approx(expected)
    assert evaluate(pad_to_full_batches(dataset, 4)) == pytest.approx(expected)
