"""A recipe file with its own model and its own tf.data source, as a user writes one.

The source is a tf.data factory (`kb.data.from_dataset_fn`) that yields whole
global batches and maps a function with Python control flow on a tensor
(AutoGraph converts it because the file is imported as a module); the model
is a small CNN. Both are registered here, so every worker that loads the
file has them.
"""

import keras
import tensorflow as tf

import keras_bigbatch as kb


def _scale(image, label):
    if tf.reduce_max(image) > 1.0:  # Python `if` on a tensor: AutoGraph's job
        image = image / 16.0
    return image[..., None] * 2.0 - 1.0, label


@kb.data.register_source("digits_tfdata")
def digits_tfdata():
    (x, y), (x_test, y_test) = kb.data.load_digits()

    def dataset_fn(split, global_batch_size):
        images, labels = (x, y) if split == "train" else (x_test, y_test)
        return (tf.data.Dataset.from_tensor_slices((images * 16.0, labels))
                .map(_scale).batch(global_batch_size))

    return kb.data.from_dataset_fn(dataset_fn, {"train": len(x), "test": len(x_test)},
                                   num_classes=10, name="digits_tfdata")


@kb.training.register_model("own_cnn")
def own_cnn(input_shape, num_classes, filters=4):
    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(filters, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(num_classes),
    ], name="own_cnn")


def get_config(size="default"):
    return {
        "name": "own_data",
        "description": "digits through a user's tf.data factory and CNN",
        "seed": 2,
        "data": {"source": "digits_tfdata"},
        "model": {"name": "own_cnn", "filters": 4},
        "schedule": {"batch_size": 64, "epochs": 1 if size == "smoke" else 2,
                     "learning_rate": 0.1},
        "evaluation": {"evaluations": 1},
        "runs": [{"name": "A"}],
        "expected": {"A": {"test_accuracy": (0.6, 1.0)}},
    }
