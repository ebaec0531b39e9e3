"""keras_bigbatch's trainer on your own Keras model and your own tf.data pipeline.

```
python examples/own_model_and_data.py                          # CNN, ~80% in 5 epochs, ~5 min
python examples/own_model_and_data.py --strategy mirrored      # 2 replicas on 2 logical CPUs
python examples/own_model_and_data.py --log-dir logs/own_cnn   # then: tensorboard --logdir logs
python examples/own_model_and_data.py --tiny                   # a few seconds (what CI runs)
```

`kb.training.train(config, strategy, model=..., data=...)` takes

* `model`: a function `config -> keras.Model` (the trainer calls it inside
  the strategy's scope, so its variables are mirrored; it may read its own
  arguments from `config["model"]`), or a `keras.Model` built in that scope;
* `data`: a `DataSource`; `kb.data.from_dataset_fn(dataset_fn, num_examples)`
  turns a function `dataset_fn(split, global_batch_size) -> tf.data.Dataset`
  of `(x, y)` batches into one. It may also take the keyword arguments
  `seed`, `input_context` and `start_step`; those it does not take, the
  adapter handles (see `keras_bigbatch/data/dataset_function.py`).

The config's other sections (optimizer, schedule, loss, evaluation,
metrics) are the trainer's, as in any recipe; the global batch, its
learning rate and warm-up are in `schedule`.
"""

import argparse

import keras
import tensorflow as tf

import keras_bigbatch as kb


def small_cnn(config):
    """Your model, as a function of the run config (`config["model"]` is this run's)."""
    filters, ghost = config["model"]["filters"], config["model"]["virtual_batch_size"]

    def block(x, width):  # conv -> ghost batch norm -> ReLU
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
        return keras.layers.ReLU()(kb.layers.GhostBatchNormalization(ghost, momentum=0.9)(x))

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.MaxPooling2D()(block(inputs, filters))
    x = keras.layers.GlobalAveragePooling2D()(block(x, 2 * filters))
    return keras.Model(inputs, keras.layers.Dense(10)(x), name="small_cnn")


def fashion_mnist_data(train_examples=None, test_examples=None):
    """Your tf.data pipeline, wrapped as a data source the trainer can shard and resume."""
    (x, y), (x_test, y_test) = kb.data.load_fashion_mnist()
    arrays = {"train": (x[:train_examples], y[:train_examples]),
              "test": (x_test[:test_examples], y_test[:test_examples])}

    def augment(image, label):  # Python control flow on tensors: AutoGraph converts it
        if tf.random.uniform(()) < 0.5:
            image = tf.image.flip_left_right(image)
        return image, label

    def dataset_fn(split, global_batch_size, *, seed=0):
        images, labels = arrays[split]
        dataset = tf.data.Dataset.from_tensor_slices((images[..., None], labels))
        dataset = dataset.map(lambda image, label: (tf.cast(image, tf.float32) / 255.0, label))
        if split == "train":  # one shuffled, augmented epoch; the trainer repeats it
            dataset = dataset.shuffle(len(images), seed=seed).map(augment)
        return dataset.batch(global_batch_size).prefetch(tf.data.AUTOTUNE)

    sizes = {split: len(labels) for split, (_, labels) in arrays.items()}
    return kb.data.from_dataset_fn(dataset_fn, sizes, num_classes=10, name="my_fashion_mnist")


def config(tiny=False):
    """The run: LARS at a global batch of 1024, warm-up then polynomial decay."""
    return {
        "name": "own_cnn", "seed": 0,
        "model": {"filters": 4 if tiny else 16, "virtual_batch_size": 64},  # read by small_cnn
        "optimizer": {"name": "lars", "momentum": 0.9, "trust_coefficient": 0.001,
                      "weight_decay": 5e-4},
        "schedule": {"batch_size": 256 if tiny else 1024, "epochs": 1 if tiny else 5,
                     "learning_rate": 8.0, "warmup_epochs": 0.5 if tiny else 1,
                     "polynomial_power": 2},
        "evaluation": {"evaluations": 1 if tiny else 5},
        "metrics": ["accuracy", "sparse_top_k_categorical_accuracy"],  # Keras names
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few seconds (CI)")
    parser.add_argument("--strategy", default="default", choices=["default", "mirrored"])
    parser.add_argument("--log-dir", help="write TensorBoard scalars here")
    args = parser.parse_args()
    # "mirrored" over 2 logical CPU devices here; on a GPU machine, drop cpu_devices.
    strategy = kb.distribute.get_strategy(
        args.strategy, cpu_devices=2 if args.strategy == "mirrored" else None)
    data = fashion_mnist_data(2048, 1000) if args.tiny else fashion_mnist_data()
    result = kb.training.train(config(args.tiny), strategy, model=small_cnn, data=data,
                               log_dir=args.log_dir)
    print(f"{result.name}: {result.updates} updates of global batch {result.global_batch_size} "
          f"on {result.num_replicas} replica(s), test accuracy {result.test_accuracy:.4f}")


if __name__ == "__main__":
    main()
