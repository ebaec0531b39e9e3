"""The strategy-aware trainer that runs every recipe (TensorFlow only).

    global_batch_size      = regime.batch_size
    per_replica_batch_size = global_batch_size / strategy.num_replicas_in_sync

The model and optimizer are built inside `strategy.scope()`. Single-host
strategies (default, mirrored, TPU) train with `model.fit`; a
`MultiWorkerMirroredStrategy` trains with `custom_loop.fit_distributed`
because `model.fit` fails there in Keras 3 (keras-team/keras#20585).
"""

import inspect
import sys
import time

import keras
import numpy as np

from keras_bigbatch import data as data_lib
from keras_bigbatch import models
from keras_bigbatch import optimizers
from keras_bigbatch.callbacks import WeightDistance
from keras_bigbatch.distribute import batching
from keras_bigbatch.distribute import strategy as strategy_lib
from keras_bigbatch.training import custom_loop
from keras_bigbatch.training.config import TrainConfig

EVAL_BATCH_SIZE = 1000


def load_data(config):
    """Returns `(x_train, y_train), (x_test, y_test)` as float32 in [0, 1]."""
    if config.dataset == "fashion_mnist":
        (x_train, y_train), (x_test, y_test) = data_lib.load_fashion_mnist(
            config.data_dir
        )
        x_train = x_train.astype(np.float32) / 255.0
        x_test = x_test.astype(np.float32) / 255.0
    else:
        (x_train, y_train), (x_test, y_test) = data_lib.load_digits()
    if config.train_examples:
        x_train, y_train = x_train[: config.train_examples], y_train[: config.train_examples]
    if config.test_examples:
        x_test, y_test = x_test[: config.test_examples], y_test[: config.test_examples]
    return (x_train, y_train), (x_test, y_test)


def build_model(config, input_shape, num_classes):
    """Builds the config's model (call inside `strategy.scope()`)."""
    common = dict(
        normalization=config.normalization,
        virtual_batch_size=config.virtual_batch_size,
        normalization_momentum=config.normalization_momentum,
        seed=config.seed,
    )
    if config.model == "mlp":
        return models.mlp(input_shape, num_classes, config.hidden_units, **common)
    if config.model == "keskar_f1":
        return models.keskar_f1(input_shape, num_classes, **common)
    return models.small_cnn(input_shape, num_classes, **common)


def build_optimizer(config, learning_rate):
    """Builds the config's optimizer (call inside `strategy.scope()`).

    Raises:
        ValueError: `optimizer_args` names an argument the optimizer does
            not take (the message lists the ones it does).
    """
    args = dict(config.optimizer_args)
    if config.optimizer == "lamb":
        cls = keras.optimizers.Lamb
    else:
        cls = {
            "sgd": keras.optimizers.SGD,
            "lars": optimizers.LARS,
            "mclr": optimizers.MCLR,
            "percent_delta": optimizers.PercentDelta,
        }[config.optimizer]
        args.setdefault("momentum", config.momentum)
    allowed = set(inspect.signature(cls.__init__).parameters)
    allowed |= set(inspect.signature(keras.optimizers.Optimizer.__init__).parameters)
    allowed -= {"self", "args", "kwargs", "learning_rate"}
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise ValueError(
            f"Argument `optimizer_args` has {unknown}, which {cls.__name__} does "
            f"not take; valid: {sorted(allowed)}. "
            f"Received: optimizer_args={config.optimizer_args!r}"
        )
    return cls(learning_rate=learning_rate, **args)


def check_batch_sizes(config, num_replicas):
    """Validates global/per-replica/ghost batch sizes before anything runs."""
    per_replica = batching.per_replica_batch_size(
        config.regime.batch_size, num_replicas
    )
    if config.normalization == "ghost" and per_replica % config.virtual_batch_size:
        raise ValueError(
            f"Argument `virtual_batch_size` ({config.virtual_batch_size}) must "
            f"divide the per-replica batch size ({per_replica} = global batch "
            f"{config.regime.batch_size} / {num_replicas} replicas). "
            f"Received: virtual_batch_size={config.virtual_batch_size}"
        )
    return per_replica


class _Progress(keras.callbacks.Callback):
    """Prints about `lines` progress lines per run, with test accuracy."""

    def __init__(self, name, epochs, lines=5, stream=None):
        super().__init__()
        self.name, self.epochs = name, epochs
        self.every = max(1, epochs // lines)
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        parts = [f"[{self.name}] epoch {epoch + 1}/{self.epochs}"]
        for key in ("loss", "accuracy", "val_accuracy"):
            if key in logs:
                parts.append(f"{key} {logs[key]:.4f}")
        parts.append(f"{time.perf_counter() - self.start:.0f}s")
        print("  ".join(parts), file=self.stream, flush=True)


class _TestAccuracy(keras.callbacks.Callback):
    """Adds `val_accuracy` (accuracy on the test set) to some epochs' logs."""

    def __init__(self, evaluate, dataset, every, epochs):
        super().__init__()
        self.evaluate, self.dataset = evaluate, dataset
        self.every, self.epochs = every, epochs
        self.final = None  # accuracy after the last epoch, once measured

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and (
            (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs
        ):
            logs["val_accuracy"] = self.evaluate(self.dataset)
            if epoch + 1 == self.epochs:
                self.final = logs["val_accuracy"]


def train(config, strategy=None, callbacks=(), verbose=True):
    """Runs one training run and returns its measurements.

    Args:
        config: a `TrainConfig` or a dict of its fields.
        strategy: a `tf.distribute.Strategy`; default: the default strategy.
        callbacks: extra Keras callbacks for `fit`.
        verbose: print progress lines.

    Returns:
        A dict with `name`, `test_accuracy`, `train_accuracy`, `updates`,
        `epochs`, `wall_time_s`, `global_batch_size`,
        `per_replica_batch_size`, `num_replicas`, `curve` (updates, test
        accuracy) and `distance` (updates, ||w - w0||), plus the config.
    """
    import tensorflow as tf

    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    strategy = strategy or tf.distribute.get_strategy()
    num_replicas = strategy.num_replicas_in_sync
    per_replica = check_batch_sizes(config, num_replicas)
    (x_train, y_train), (x_test, y_test) = load_data(config)
    regime = config.regime
    global_batch = regime.batch_size
    steps_per_epoch = data_lib.steps_per_epoch(len(x_train), global_batch)
    if steps_per_epoch == 0:
        raise ValueError(
            f"Global batch size {global_batch} exceeds the {len(x_train)} "
            "training examples: no full batch exists. "
            f"Received: batch_size={global_batch}"
        )
    epochs = max(1, round(regime.total_steps(len(x_train)) / steps_per_epoch))
    validation_freq = max(1, epochs // config.evaluations)
    num_classes = int(max(y_train.max(), y_test.max())) + 1

    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = build_model(config, x_train.shape[1:], num_classes)
        optimizer = build_optimizer(config, regime.to_schedule(len(x_train)))
        model.compile(
            optimizer=optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            **strategy_lib.compile_options(strategy),
        )
    test_ds = data_lib.make_dataset(
        x_test, y_test, EVAL_BATCH_SIZE * num_replicas, strategy=strategy,
        shuffle=False, drop_remainder=False,
    )
    evaluate = custom_loop.make_evaluator(model, strategy)
    test_accuracy_callback = _TestAccuracy(evaluate, test_ds, validation_freq, epochs)
    distance = WeightDistance(epochs * steps_per_epoch, config.distance_points)
    run_callbacks = [
        distance,
        test_accuracy_callback,
        *callbacks,
    ]
    if verbose:
        run_callbacks.append(_Progress(config.name, epochs))
        print(
            f"[{config.name}] {regime.describe()}; {num_replicas} replica(s) x "
            f"{per_replica} = global batch {global_batch}; "
            f"{epochs * steps_per_epoch} updates",
            flush=True,
        )
    start = time.perf_counter()
    if strategy_lib.is_multi_worker(strategy):
        dataset_fn = custom_loop.worker_dataset_fn(
            x_train, y_train, global_batch, config.seed, num_replicas
        )
        history = custom_loop.fit_distributed(
            model, strategy, dataset_fn, epochs, steps_per_epoch, run_callbacks
        )
    else:
        train_ds = data_lib.make_dataset(
            x_train, y_train, global_batch, strategy=strategy, seed=config.seed,
            repeat=True,
        )
        history = model.fit(
            train_ds,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=run_callbacks,
            shuffle=False,  # make_dataset already shuffles, seeded
            verbose=0,
        ).history
    wall_time = time.perf_counter() - start
    # The callback already measured the final epoch; evaluate again only if
    # training stopped early (a user callback set stop_training).
    test_accuracy = test_accuracy_callback.final
    if test_accuracy is None:
        test_accuracy = evaluate(test_ds)
    train_eval_ds = data_lib.make_dataset(
        x_train, y_train, EVAL_BATCH_SIZE * num_replicas, strategy=strategy,
        shuffle=False, drop_remainder=False,
    )
    train_accuracy = evaluate(train_eval_ds)
    val_accuracy = history.get("val_accuracy", [])
    val_epochs = [
        e for e in range(1, epochs + 1)
        if e % validation_freq == 0 or e == epochs
    ][: len(val_accuracy)]
    return {
        "name": config.name,
        "test_accuracy": test_accuracy,
        "train_accuracy": train_accuracy,
        "updates": int(keras.ops.convert_to_numpy(optimizer.iterations)),
        "epochs": epochs,
        "wall_time_s": wall_time,
        "global_batch_size": global_batch,
        "per_replica_batch_size": per_replica,
        "num_replicas": num_replicas,
        "curve": {
            "updates": [e * steps_per_epoch for e in val_epochs],
            "test_accuracy": [float(a) for a in val_accuracy],
        },
        "distance": {
            "updates": distance.history["step"],
            "distance": distance.history["distance"],
        },
        "config": config.to_dict(),
        "model": model,
    }

