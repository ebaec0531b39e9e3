import math

import keras
import numpy as np
import pytest

from keras_bigbatch.losses import SparseCategoricalCrossentropy

LOGITS = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0], [-2.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
                  dtype=np.float32)
LABELS = np.array([0, 2, 0, 1])


def softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def value(loss, y_true, y_pred, **kwargs):
    return keras.ops.convert_to_numpy(loss(y_true, y_pred, **kwargs))


# Config round trip.

def test_config_round_trip():
    loss = SparseCategoricalCrossentropy(from_logits=False, label_smoothing=0.2, name="smooth",
                                         reduction="sum", dtype="float16")
    config = loss.get_config()
    assert config == {"name": "smooth", "reduction": "sum", "dtype": "float16",
                      "from_logits": False, "label_smoothing": 0.2}
    for restored in (SparseCategoricalCrossentropy.from_config(config),
                     keras.losses.deserialize(keras.losses.serialize(loss))):
        assert type(restored) is SparseCategoricalCrossentropy
        assert restored.get_config() == config
    assert keras.losses.serialize(loss)["registered_name"] == (
        "keras_bigbatch>SparseCategoricalCrossentropy")


def test_saved_model_keeps_the_loss(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=SparseCategoricalCrossentropy(label_smoothing=0.1))
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    loss = restored.loss
    assert type(loss) is SparseCategoricalCrossentropy
    assert (loss.from_logits, loss.label_smoothing) == (True, 0.1)
    x, y = np.ones((2, 4), np.float32), np.array([0, 2])
    np.testing.assert_allclose(restored.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)


# One value against hand-computed numbers.

def test_hand_computed():
    # label 0 of C = 2, e = 0.1: target = (0.9 * [1, 0] + 0.1 / 2) = [0.95, 0.05];
    # log softmax([2, 0]) = [2, 0] - log(1 + e^2) = [-0.12693, -2.12693];
    # loss = 0.95 * 0.12693 + 0.05 * 2.12693 = 0.22693.
    expected = 0.95 * math.log1p(math.exp(-2.0)) + 0.05 * (2.0 + math.log1p(math.exp(-2.0)))
    loss = SparseCategoricalCrossentropy(label_smoothing=0.1)
    np.testing.assert_allclose(value(loss, [0], [[2.0, 0.0]]), expected, rtol=1e-6)
    assert round(expected, 4) == 0.2269


# What it generalizes.

@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("label_shape", [(-1,), (-1, 1)])
def test_no_smoothing_is_keras_sparse_crossentropy(from_logits, label_shape):
    y_pred = LOGITS if from_logits else softmax(LOGITS)
    y_true = LABELS.reshape(label_shape)
    ours = SparseCategoricalCrossentropy(from_logits=from_logits)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    np.testing.assert_allclose(value(ours, y_true, y_pred), value(keras_loss, y_true, y_pred),
                               rtol=1e-6)
    ours = SparseCategoricalCrossentropy(from_logits=from_logits, reduction=None)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits,
                                                            reduction=None)
    np.testing.assert_allclose(value(ours, y_true, y_pred), value(keras_loss, y_true, y_pred),
                               rtol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("label_shape", [(-1,), (-1, 1)])
@pytest.mark.parametrize("smoothing", [0.1, 0.5])
def test_smoothing_is_keras_categorical_crossentropy(from_logits, label_shape, smoothing):
    y_pred = LOGITS if from_logits else softmax(LOGITS)
    one_hot = np.eye(3, dtype=np.float32)[LABELS]
    ours = SparseCategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing,
                                         reduction=None)
    keras_loss = keras.losses.CategoricalCrossentropy(
        from_logits=from_logits, label_smoothing=smoothing, reduction=None)
    expected = value(keras_loss, one_hot, y_pred)
    got = value(ours, LABELS.reshape(label_shape), y_pred)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # Smoothing raises the loss of a confident, correct prediction (row 1: label 2, logit 3).
    plain = value(SparseCategoricalCrossentropy(from_logits=from_logits, reduction=None),
                  LABELS, y_pred)
    assert got[1] > plain[1]
    # Sample weights and the reduction behave as Keras's.
    weights = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
    ours = SparseCategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing)
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=from_logits,
                                                      label_smoothing=smoothing)
    np.testing.assert_allclose(value(ours, LABELS, y_pred, sample_weight=weights),
                               value(keras_loss, one_hot, y_pred, sample_weight=weights),
                               rtol=1e-5)


def test_float_labels_and_half_precision_predictions():
    loss = SparseCategoricalCrossentropy(label_smoothing=0.1, reduction=None)
    expected = value(loss, LABELS, LOGITS)
    np.testing.assert_allclose(value(loss, LABELS.astype(np.float32), LOGITS), expected, rtol=1e-6)
    # The loss computes in its own dtype (float32 by default), as Keras's do.
    np.testing.assert_allclose(value(loss, LABELS, LOGITS.astype(np.float16)), expected,
                               rtol=1e-3)


# Bad arguments.

@pytest.mark.parametrize("bad", [1.0, 1, -0.1, float("nan"), "0.1", None, True])
def test_bad_label_smoothing(bad):
    with pytest.raises(ValueError, match=r"Argument `label_smoothing` must be a number in "
                                         rf"\[0, 1\)\. Received: label_smoothing={bad!r}"):
        SparseCategoricalCrossentropy(label_smoothing=bad)


@pytest.mark.parametrize("bad", [1, 0, "true", None])
def test_bad_from_logits(bad):
    with pytest.raises(ValueError, match=r"Argument `from_logits` must be True or False\. "
                                         rf"Received: from_logits={bad!r}"):
        SparseCategoricalCrossentropy(from_logits=bad)


# A small fit.

def test_fit_with_unknown_batch_dimension():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # A last partial batch: the traced batch dimension is unknown (None).
        data = dict(x=tf.data.Dataset.from_tensor_slices((x, y)).batch(16))
        assert data["x"].element_spec[1].shape.as_list() == [None]
    else:
        # JAX and torch trace static shapes; the last partial batch (8) is a second shape.
        data = dict(x=x, y=y, batch_size=16)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=SparseCategoricalCrossentropy(label_smoothing=0.1))
    history = model.fit(**data, epochs=5, shuffle=False, verbose=0)
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
