"""Your own model and data through the trainer: `train(config, model=..., data=...)`.

Correctness: the same run on two replicas equals one device (weights), and
the run trains the updates its config says. Bad input fails before training
with an error that names it.
"""

import keras
import numpy as np
import pytest

import keras_bigbatch as kb
from keras_bigbatch.training import build
from keras_bigbatch.training import fit
from keras_bigbatch.training import train

CONFIG = {"name": "own", "seed": 3,
          "schedule": {"batch_size": 64, "epochs": 2, "learning_rate": 0.1},
          "evaluation": {"evaluations": 2, "train_accuracy": False},
          "metrics": ["accuracy", "sparse_top_k_categorical_accuracy"]}


def _digits():
    (x, y), (x_test, y_test) = kb.data.load_digits()
    return (x[..., None], y), (x_test[..., None], y_test)


def small_cnn(config):
    """A user's CNN: a function of the config, so the trainer builds it in scope."""
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(config["model"].get("filters", 4), 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ], name="small_cnn")


def _generator(split, global_batch_size, epoch=0):
    (x, y), test = _digits()
    if split == "test":
        x, y = test
    order = np.random.default_rng(epoch).permutation(len(x)) if split == "train" else None
    for start in range(0, len(x), global_batch_size):
        rows = slice(start, start + global_batch_size) if order is None else (
            order[start:start + global_batch_size])
        yield x[rows], y[rows]


def _generator_source():
    (x, _), (x_test, _) = _digits()
    return kb.data.from_generator(_generator, {"train": len(x), "test": len(x_test)},
                                  num_classes=10, name="digits_generator")


def test_own_model_and_generator_train_the_configs_updates_and_metrics():
    result = train(dict(CONFIG, model={"filters": 6}), model=small_cnn,
                   data=_generator_source(), verbose=False)
    assert result.updates == 2 * (1348 // 64)
    assert result.config["model"] == {"name": "small_cnn", "filters": 6}
    assert result.config["data"] == {"source": "digits_generator"}
    assert result.model.layers[0].filters == 6
    assert "sparse_top_k_categorical_accuracy" in result.history
    assert result.test_accuracy > 0.7


@pytest.mark.tensorflow
def test_own_tf_data_pipeline_on_two_replicas_equals_one_device(mirrored):
    import tensorflow as tf

    (x, y), (x_test, y_test) = _digits()

    def dataset_fn(split, global_batch_size):  # a deterministic user pipeline
        xs, ys = (x, y) if split == "train" else (x_test, y_test)
        scale = lambda a, b: (a * 2.0 - 1.0, b)  # noqa: E731
        return tf.data.Dataset.from_tensor_slices((xs, ys)).map(scale).batch(global_batch_size)

    data = kb.data.from_dataset_fn(dataset_fn, {"train": len(x), "test": len(x_test)})
    one = train(CONFIG, model=small_cnn, data=data, verbose=False)
    two = train(CONFIG, mirrored, model=small_cnn, data=data, verbose=False)
    assert one.updates == two.updates == 2 * (len(x) // 64)
    for a, b in zip(one.model.get_weights(), two.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert one.test_accuracy == pytest.approx(two.test_accuracy, abs=1e-9)


@pytest.mark.tensorflow
def test_a_model_built_outside_the_strategy_scope_is_refused(mirrored):
    outside = small_cnn({"model": {}})
    with pytest.raises(ValueError, match="built outside the strategy's scope.*function"):
        build(CONFIG, mirrored, model=outside, data=_generator_source())


def test_bad_input_is_named_before_training():
    data = _generator_source()
    wrong = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)], name="flat")
    with pytest.raises(ValueError, match=r"examples of shape \(8, 8, 1\), but model 'flat' "
                                         r"takes inputs of shape \(64,\)"):
        build(CONFIG, model=wrong, data=data)
    narrow = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(3)], name="narrow")
    with pytest.raises(ValueError, match="outputs 3 values.*has 10 classes"):
        build(CONFIG, model=narrow, data=data)
    with pytest.raises(ValueError, match=r"\('uncompiled'\) has no compiled loss"):
        fit(CONFIG, keras.Sequential([keras.Input((8, 8, 1))], name="uncompiled"), data=data)
    with pytest.raises(ValueError, match="`metrics` names 'top5', which Keras does not know"):
        build(dict(CONFIG, metrics=["top5"]), model=small_cnn, data=data)
    with pytest.raises(ValueError, match="`data` must be a keras_bigbatch.data.DataSource"):
        build(CONFIG, model=small_cnn, data=_digits())
    with pytest.raises(ValueError, match="must return a keras.Model"):
        build(CONFIG, model=lambda config: None, data=data)
    softmax = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                keras.layers.Dense(10, activation="softmax")], name="probs")
    with pytest.raises(ValueError, match="'probs' ends in a softmax.*from_logits"):
        build(CONFIG, model=softmax, data=data)


def test_dotted_keys_reach_your_model_and_fit_trains_on_the_data_build_had():
    model = build(dict(CONFIG, **{"model.filters": 5}), model=small_cnn, data=_generator_source())
    assert model.layers[0].filters == 5
    result = fit(dict(CONFIG, **{"model.filters": 5}), model, verbose=False)
    assert result.config["data"] == {"source": "digits_generator"}
    assert result.config["model"] == {"name": "small_cnn", "filters": 5}


def test_arrays_adapter_is_an_array_source_with_or_without_a_test_split():
    (x, y), test = _digits()
    result = train(dict(CONFIG, evaluation={"evaluations": 1, "train_accuracy": True}),
                   model=small_cnn, data=kb.data.from_arrays((x, y)), verbose=False)
    assert result.test_accuracy is None and result.train_accuracy > 0.5
    assert kb.data.from_arrays((x, y), test).has_split("test")
