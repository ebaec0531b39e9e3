"""A recipe file of your own: your model and your data source, registered by
name, trained by the `keras-bigbatch` command like the package's recipes.

Rows: SB (small batch, SGD) and LB (8x the batch: LARS with a warm-up over
the first third of the epochs, ghost batches of SB's size; LARS's rate
multiplies each layer's trust ratio 0.001 * ||w|| / ||g||, so it is on
another scale than SGD's). Your CNN
(`my_cnn`) on Fashion-MNIST through your own tf.data pipeline
(`my_fashion_mnist`).

Command:
    keras-bigbatch train examples/my_recipe.py --size smoke --output results/my_recipe-smoke
                                                        (CI: ~15 s of training)
    keras-bigbatch train examples/my_recipe.py          (3 epochs per run on all 60,000 images)
    keras-bigbatch train examples/my_recipe.py --runs LB --set model.filters=32
    keras-bigbatch tune examples/my_recipe.py --size smoke --run LB --max-trials 2 \
        --set data.source=fashion_mnist     (a search needs an in-memory source)
    python examples/search.py --tiny                    (the same search, from Python)

The command imports this file as a module (so the `register_*` calls below
run once, in every process that loads it, and AutoGraph can convert the
pipeline's Python `if`), then runs `get_config(size)`'s runs one by one and
writes the results table, `results.json` and each run's model and
TensorBoard logs into the output folder.
"""

import keras
import tensorflow as tf

import keras_bigbatch as kb


@kb.training.register_model("my_cnn")
def my_cnn(input_shape, num_classes, filters=16, normalization="batch", virtual_batch_size=None):
    """A small CNN. `normalization` and `virtual_batch_size` are the package's
    names, so the recipe's `model.normalization: "ghost"` (and the tuner's
    `ghost_batch_size` knob) reach it."""
    def normalize():
        if normalization == "ghost":
            return kb.layers.GhostBatchNormalization(virtual_batch_size, momentum=0.9)
        return keras.layers.BatchNormalization(momentum=0.9)

    inputs = keras.Input(input_shape)
    x = keras.layers.Reshape((*input_shape[:2], -1))(inputs)  # (28, 28) -> (28, 28, 1)
    for width in (filters, 2 * filters):
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
        x = keras.layers.MaxPooling2D()(keras.layers.ReLU()(normalize()(x)))
    outputs = keras.layers.Dense(num_classes)(keras.layers.Flatten()(x))
    return keras.Model(inputs, outputs, name="my_cnn")


def _augment(image, label):  # Python control flow on tensors: AutoGraph converts it
    if tf.random.uniform(()) < 0.5:
        image = tf.image.flip_left_right(image[..., None])[..., 0]
    return image, label


@kb.data.register_source("my_fashion_mnist")
def my_fashion_mnist(train_examples=None, test_examples=None):
    """Fashion-MNIST through your own tf.data pipeline (the recipe's `data` section
    less `source` are this function's arguments)."""
    (x, y), (x_test, y_test) = kb.data.load_fashion_mnist()
    arrays = {"train": (x[:train_examples], y[:train_examples]),
              "test": (x_test[:test_examples], y_test[:test_examples])}

    def dataset_fn(split, global_batch_size, *, seed=0):
        images, labels = arrays[split]
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        dataset = dataset.map(lambda image, label: (tf.cast(image, tf.float32) / 255.0, label))
        if split == "train":
            dataset = dataset.shuffle(len(images), seed=seed).map(_augment)
        return dataset.batch(global_batch_size)

    sizes = {split: len(labels) for split, (_, labels) in arrays.items()}
    return kb.data.from_dataset_fn(dataset_fn, sizes, num_classes=10, name="my_fashion_mnist")


def get_config(size="default"):
    # Defaults.
    train_examples, test_examples, filters = None, None, 16
    small_batch, large_batch, epochs, lars_learning_rate = 128, 1024, 3, 8.0
    expected = {"SB": (0.85, 0.95), "LB": (0.8, 0.95)}  # not yet measured at this size
    # Smoke override block: CI-sized.
    if size == "smoke":
        train_examples, test_examples, filters = 2048, 1000, 8
        small_batch, large_batch, epochs = 32, 256, 2
        expected = {"SB": (0.5, 1.0), "LB": (0.15, 1.0)}  # a check that it learns, no more

    # Derived values.
    small = kb.schedules.Regime(batch_size=small_batch, epochs=epochs, learning_rate=0.1)
    large = small.replace(batch_size=large_batch, learning_rate=lars_learning_rate,
                          warmup_epochs=epochs / 3)
    return {
        "name": "my_recipe",
        "description": f"my_cnn on my_fashion_mnist, SB={small_batch} vs LB={large_batch}",
        "seed": 0,
        "data": {"source": "my_fashion_mnist", "train_examples": train_examples,
                 "test_examples": test_examples},
        "model": {"name": "my_cnn", "filters": filters},
        "optimizer": {"name": "sgd", "momentum": 0.9},
        "schedule": small.get_config(),
        "evaluation": {"evaluations": epochs},
        "metrics": ["accuracy"],
        "runs": [
            {"name": "SB"},
            {"name": "LB", "schedule": large.get_config(),
             "optimizer": {"name": "lars", "momentum": 0.9, "trust_coefficient": 0.001,
                           "weight_decay": 5e-4},
             "model.normalization": "ghost", "model.virtual_batch_size": small_batch},
        ],
        "report": {"panels": ["test_accuracy", "train_loss"]},
        "expected": {name: {"test_accuracy": bounds} for name, bounds in expected.items()},
    }
