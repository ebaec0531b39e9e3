"""One trainer, two calls: `build(config, strategy)` and `fit(config, model, strategy)`.

    global_batch_size      = config["schedule"]["batch_size"]
    per_replica_batch_size = global_batch_size / strategy.num_replicas_in_sync
    steps_per_epoch        = train examples // global_batch_size   (see training_length)

Every strategy trains with Keras's own `model.fit` on
`strategy.distribute_datasets_from_function(source.dataset)`: each worker
reads its slice of every global batch, cut into per-replica batches, so step
t sees global batch t under any strategy. Under MultiWorkerMirroredStrategy
`enable_multi_worker_fit` first mends keras-team/keras#20585. The compiled
Keras loss scales each replica's mean by 1/replicas and the optimizer sums
the replicas' gradients: one update on a global batch equals the
one-device update on that batch (tested against one device).

On the JAX and PyTorch backends the strategy is a `KerasDistribution`
(`keras.distribution.DataParallel` over the job's devices, or one device) and
`model.fit` reads numpy batches (`DataSource.batches`): process w of W feeds
rows [w B / W, (w + 1) B / W) of every global batch and XLA cuts them per
device. The loss is the global batch's mean, so again one update equals the
one-device update (tested on 2 JAX CPU devices). TensorFlow is not imported.

Recipes, the command line, the Keras Tuner HyperModel and the notebooks all
go through these two calls.
"""

import contextlib
import sys
import time

import keras

from keras_bigbatch import data as data_lib
from keras_bigbatch import durations
from keras_bigbatch.callbacks import BatchSizeScheduler
from keras_bigbatch.callbacks import WeightDistance
from keras_bigbatch.distribute import batching
from keras_bigbatch.distribute import keras_distribution
from keras_bigbatch.distribute import precision as precision_lib
from keras_bigbatch.distribute import strategy as strategy_lib
from keras_bigbatch.optimizers import CBLR
from keras_bigbatch.training import config as config_lib
from keras_bigbatch.training import registry
from keras_bigbatch.training.curvature import CurvatureModel


def default_strategy(strategy=None):
    """`strategy`, or the current one: tf.distribute's on TensorFlow, else
    keras.distribution's (`KerasDistribution`)."""
    if strategy is not None:
        return strategy
    if keras.backend.backend() != "tensorflow":
        return keras_distribution.current()
    import tensorflow as tf

    return tf.distribute.get_strategy()


def _uses_keras_distribution(strategy):
    return isinstance(strategy, keras_distribution.KerasDistribution)


def source(config):
    """The config's `DataSource` (sources cache their arrays), with its
    validation split held out when `evaluation.validation_examples` > 0."""
    args = dict(config["data"])
    name = args.pop("source")
    try:
        data = data_lib.get_source(name, **args)
    except ModuleNotFoundError as error:
        if error.name not in ("tensorflow", "tensorflow_datasets"):
            raise
        raise ValueError(
            f"Data source {name!r} needs TensorFlow (it reads with tf.data), which is not "
            f"installed; the Keras backend is {keras.backend.backend()!r}. Off TensorFlow "
            "the trainer reads in-memory sources (fashion_mnist, digits) and synthetic. "
            f"Received: data.source={name!r}") from None
    held_out = config.get("evaluation", {}).get("validation_examples", 0)
    return data.hold_out(held_out) if held_out else data


def check_batch_sizes(config, num_replicas):
    """Validates global, per-replica and ghost batch sizes; returns per-replica.

    With `batch_growth` every global batch of the plan is checked; the
    first one's per-replica batch is returned.

    Raises:
        ValueError: the replicas do not divide the global batch, or a ghost
            batch (`model.virtual_batch_size`) does not divide the per-replica
            batch. The message names the sizes and what would be valid.
    """
    plan = config_lib.batch_growth_plan(config)
    batches = [config["schedule"]["batch_size"]]
    if plan is not None:
        batches = sorted(set(plan.batch_size.boundaries.values()))
    ghost = config["model"].get("virtual_batch_size")
    for global_batch in batches:
        per_replica = batching.per_replica_batch_size(global_batch, num_replicas)
        if config["model"].get("normalization") == "ghost" and ghost and per_replica % ghost:
            raise ValueError(
                f"Argument `model.virtual_batch_size` ({ghost}) must divide the "
                f"per-replica batch size ({per_replica} = global batch {global_batch} / "
                f"{num_replicas} replicas). Received: model.virtual_batch_size={ghost}"
            )
    return batches[0] // num_replicas


def device_settings(config, strategy):
    """`(dtype policy, compile options)` for `config` on `strategy`'s devices.

    Raises:
        ValueError: a precision or `jit_compile` the devices cannot run,
            `batch_growth` on TPUs (a batch-size schedule feeds batches of
            a changing size; TPUs compile for fixed shapes), or
            `batch_growth` off TensorFlow (its feed is a tf.data pipeline).
    """
    _check_backend_support(config, strategy)
    if config_lib.batch_growth_plan(config) is not None and (
            strategy_lib.device_kind(strategy) == "tpu"):
        raise ValueError(
            "Argument `batch_growth.enabled=true` cannot run on TPUs: the batch-size "
            "schedule changes the batch shape, and TPUs compile for fixed shapes. Use "
            "GPUs, or turn batch growth off. Received: batch_growth.enabled=True")
    precision = precision_lib.resolve_precision(config["precision"], strategy)
    return precision, strategy_lib.compile_options(strategy, config["jit_compile"])


def _check_backend_support(config, strategy):
    """Raises for what the run needs that `strategy`'s backend lacks (build and fit)."""
    if config_lib.batch_growth_plan(config) is not None and _uses_keras_distribution(strategy):
        raise ValueError(
            "Argument `batch_growth.enabled=true` needs the TensorFlow backend (its "
            "batch-size feed is a tf.data pipeline); the Keras backend is "
            f"{keras.backend.backend()!r}. Received: batch_growth.enabled=True")


def model_arguments(config, num_replicas, replicas_see_shares=True):
    """The registered model's keyword arguments from `config["model"]`.

    Adds the run's `seed` where the model takes one. Under several
    tf.distribute replicas `normalization="batch"` becomes `"sync_batch"`
    (Keras BN with `synchronized=True`): Keras's BN normalizes each
    replica's share and keeps unsynchronized moving statistics, so only
    synchronized statistics make the update the one-device update on the
    global batch. (For per-replica statistics use `"ghost"` with
    `virtual_batch_size` = the per-replica batch.) Under keras.distribution
    (`replicas_see_shares=False`) the model is one program over the global
    batch, whose BN statistics are already global: "batch" stays.
    """
    args = {k: v for k, v in config["model"].items() if k != "name"}
    if "seed" in registry.model_arguments(config["model"]["name"]):
        args.setdefault("seed", config["seed"])
    if replicas_see_shares and num_replicas > 1 and args.get("normalization") == "batch":
        args["normalization"] = "sync_batch"
    return args


@contextlib.contextmanager
def _dtype_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build(config, strategy=None):
    """The config's model, compiled inside `strategy.scope()`.

    Seeds Keras with `config["seed"]`, builds the registered model under the
    config's precision policy (`"auto"`: per device, see
    `distribute.resolve_precision`), the optimizer with the schedule's learning
    rates (`Regime.to_schedule`), the loss, and compiles with the
    `accuracy` metric. With CBLR the model becomes a `CurvatureModel`.
    Under `mixed_float16` Keras wraps the optimizer in a
    `LossScaleOptimizer`.

    Args:
        config: a run config (partial dicts are completed from
            `config.DEFAULTS` and checked).
        strategy: a `tf.distribute.Strategy` or (JAX, PyTorch) a
            `KerasDistribution`; default: the current one.

    Returns:
        The compiled `keras.Model`.
    """
    config = config_lib.resolve(config)
    strategy = default_strategy(strategy)
    check_batch_sizes(config, strategy.num_replicas_in_sync)
    data = source(config)
    model_args = model_arguments(config, strategy.num_replicas_in_sync,
                                 not _uses_keras_distribution(strategy))
    optimizer_args = {k: v for k, v in config["optimizer"].items() if k != "name"}
    loss_args = {k: v for k, v in config["loss"].items() if k != "name"}
    precision, compile_options = device_settings(config, strategy)
    keras.utils.set_random_seed(config["seed"])
    with _dtype_policy(precision), strategy.scope():
        model = registry.build_model(config["model"]["name"], data.example_shape(),
                                     data.num_classes, **model_args)
        optimizer = registry.build_optimizer(
            config["optimizer"]["name"], learning_rate_schedule(config, data), **optimizer_args)
        if isinstance(optimizer, CBLR):
            model = CurvatureModel(model.inputs, model.outputs, name=model.name)
        model.compile(
            optimizer=optimizer,
            loss=registry.build_loss(config["loss"]["name"], **loss_args),
            metrics=["accuracy"],
            steps_per_execution=config["steps_per_execution"],
            **compile_options,
        )
    return model


def learning_rate_schedule(config, data):
    """The optimizer's rate over steps: the regime's, or the batch-growth plan's."""
    plan = config_lib.batch_growth_plan(config)
    if plan is not None:
        return plan.to_learning_rate_schedule(data.num_examples("train"))
    return config_lib.regime(config).to_schedule(data.num_examples("train"))


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
        for key in ("loss", "accuracy", "val_accuracy", "test_accuracy"):
            if key in logs:
                parts.append(f"{key} {logs[key]:.4f}")
        parts.append(f"{time.perf_counter() - self.start:.0f}s")
        print("  ".join(parts), file=self.stream, flush=True)


class _Accuracies(keras.callbacks.Callback):
    """Adds accuracies (`test_accuracy`, `val_accuracy`) to the logs of every
    `every`-th and the last epoch; `datasets` maps each log key to its data."""

    def __init__(self, evaluate, datasets, every, epochs):
        super().__init__()
        self.evaluate, self.datasets = evaluate, dict(datasets)
        self.every, self.epochs = every, epochs
        self.epochs_measured = []
        self.accuracies = {key: [] for key in self.datasets}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            self.measure(epoch + 1, logs)

    def get_state(self):
        return {"epochs_measured": list(self.epochs_measured),
                "accuracies": {k: [float(a) for a in v] for k, v in self.accuracies.items()}}

    def set_state(self, state):
        self.epochs_measured = list(state["epochs_measured"])
        self.accuracies = {k: list(v) for k, v in state["accuracies"].items()}

    def last(self, key):
        """The latest `key` accuracy, or None if it is not measured."""
        return self.accuracies[key][-1] if self.accuracies.get(key) else None

    def measure(self, epochs_done, logs=None):
        self.epochs_measured.append(epochs_done)
        for key, dataset in self.datasets.items():
            accuracy = self.evaluate(dataset)
            self.accuracies[key].append(accuracy)
            if logs is not None:
                logs[key] = accuracy


def training_length(data, regime):
    """`(steps_per_epoch, epochs)` that `model.fit` runs for a regime.

    Whole epochs: `round(regime.epochs)` of them, e.g. regime adaptation's
    334.3 epochs train 334 (4676 of the schedule's 4680 updates). A regime
    shorter than one epoch trains exactly its `round(epochs * N // B)` steps
    as one shorter epoch.
    """
    steps_per_epoch = data.steps_per_epoch(regime.batch_size)
    total_steps = max(1, durations.epochs_to_steps(regime.epochs, steps_per_epoch))
    if total_steps < steps_per_epoch:
        return total_steps, 1
    return steps_per_epoch, max(1, round(total_steps / steps_per_epoch))


def _fit_from(model, train_data, callbacks, first_epoch, batches_done, epochs,
              steps_per_epoch, updates_before, scheduler):
    """`model.fit` from step `batches_done` of epoch `first_epoch` to the end.

    A mid-epoch start trains the rest of that epoch in one `fit` (its own
    length), then the other epochs in a second. Returns Keras's History dict.
    """
    history = {}
    if batches_done:  # the rest of the epoch a checkpoint stopped in
        if scheduler is not None:
            scheduler.resume_at(first_epoch, batches_done)
        start_step = updates_before(first_epoch) + batches_done
        history = model.fit(train_data(start_step), initial_epoch=first_epoch,
                            epochs=first_epoch + 1, callbacks=callbacks, shuffle=False,
                            verbose=0, steps_per_epoch=steps_per_epoch and (
                                steps_per_epoch - batches_done)).history
        first_epoch += 1
    if first_epoch < epochs:
        rest = model.fit(train_data(updates_before(first_epoch)), initial_epoch=first_epoch,
                         epochs=epochs, steps_per_epoch=steps_per_epoch,
                         callbacks=callbacks, shuffle=False, verbose=0).history
        history = {k: history.get(k, []) + list(v) for k, v in rest.items()}
    return history


def fit(config, model, strategy=None, callbacks=(), verbose=True, checkpoint_dir=None,
        preemption=None, *, epochs=None, initial_epoch=0):
    """Trains a model from `build` and returns its measurements.

    With `checkpoint_dir` the run saves checkpoints there (`config["checkpoint"]`
    sets how often) and first resumes from the newest usable one: the
    result equals an uninterrupted run's (see `training.checkpointing`). A
    finished run's final checkpoint holds its result, which is returned
    without training again.

    Args:
        config: the run config `model` was built from.
        model: the compiled model (built under the same `strategy`).
        strategy: the `tf.distribute.Strategy` or `KerasDistribution`;
            default: the current one.
        callbacks: extra Keras callbacks for `fit`. Those with
            `get_state()`/`set_state(state)` (JSON-able dicts, numpy arrays
            allowed) are checkpointed too.
        verbose: print a header and about 5 progress lines.
        checkpoint_dir: a folder (local or `tf.io.gfile`) for this run's
            checkpoints, or None.
        preemption: a `PreemptionWatch`: on SIGTERM the run saves at the
            next step and raises `Preempted`. Needs `checkpoint_dir`.
        epochs: stop after this many epochs of the run's schedule (None: all
            of them). The learning rate still follows the whole schedule, so
            a shorter fit is a prefix of the full run (Keras Tuner's
            Hyperband budgets).
        initial_epoch: start at this epoch of the schedule: the optimizer's
            update counter (hence the learning rate) and the data order are
            set to where the full run has them. The weights are the model's
            own (Hyperband continues a trial from its saved weights; the
            optimizer's slots start afresh). Neither `epochs` nor
            `initial_epoch` goes with `checkpoint_dir`, whose checkpoints
            cover whole runs.

    Raises:
        CheckpointError: the newest checkpoint was written with other
            settings, or none of the existing ones is usable.
        Preempted: stopped on SIGTERM after saving.

    Returns:
        A dict: `name`, `test_accuracy` (None when `evaluation.test_accuracy`
        is off), `validation_accuracy` (None without
        `evaluation.validation_examples`), `train_accuracy` (None when
        `evaluation.train_accuracy` is off), `updates`, `epochs`,
        `steps_per_epoch`, `wall_time_s`, `global_batch_size`,
        `per_replica_batch_size`, `num_replicas`, `curve` (updates, and the
        measured `test_accuracy` and `val_accuracy` at each), `distance`
        (updates, ||w - w0||; empty unless
        `evaluation.distance_points`), `history` (Keras's History dict) and
        `config` (the resolved config).
    """
    config = config_lib.resolve(config)
    strategy = default_strategy(strategy)
    _check_backend_support(config, strategy)
    arrays = _uses_keras_distribution(strategy)  # numpy batches, keras.distribution
    num_replicas = strategy.num_replicas_in_sync
    per_replica = check_batch_sizes(config, num_replicas)
    data = source(config)
    stop_epoch = epochs
    regime = config_lib.regime(config)
    plan = config_lib.batch_growth_plan(config)
    global_batch = regime.batch_size
    steps_per_epoch, epochs = training_length(data, regime)
    dataset_size = data.num_examples("train")
    if plan is not None:
        steps_per_epoch, epochs = None, plan.epochs
    epochs, first_epoch = _epoch_range(epochs, stop_epoch, initial_epoch, checkpoint_dir)

    def updates_before(epoch):
        if plan is not None:
            return plan.batch_size.total_steps(dataset_size, epoch)
        return epoch * steps_per_epoch
    evaluation = config["evaluation"]
    if strategy_lib.is_multi_worker(strategy) and not arrays:
        from keras_bigbatch.distribute import enable_multi_worker_fit

        enable_multi_worker_fit()

    eval_batch = evaluation["batch_size"] * num_replicas
    measured = {}
    for key, split in (("val_accuracy", "validation"), ("test_accuracy", "test")):
        if data.has_split(split) and (split != "test" or evaluation["test_accuracy"]):
            measured[key] = evaluation_data(data, split, eval_batch, strategy)
    evaluate = evaluator(model, strategy, eval_batch)
    accuracies = _Accuracies(evaluate, measured,
                             max(1, epochs // evaluation["evaluations"]), epochs)
    run_callbacks = [accuracies]
    distance = None
    if evaluation["distance_points"]:
        distance = WeightDistance(updates_before(epochs), evaluation["distance_points"])
        run_callbacks.insert(0, distance)
    run_callbacks.extend(callbacks)
    if verbose:
        run_callbacks.append(_Progress(config["name"], epochs))
        plan_text = f"; {plan.describe(dataset_size)}" if plan is not None else ""
        print(f"[{config['name']}] {regime.describe()}{plan_text}; {num_replicas} replica(s) x "
              f"{per_replica} = global batch {global_batch}; "
              f"{updates_before(epochs)} updates", flush=True)

    seed = config["seed"]
    scheduler = None
    if plan is not None:  # one fit runs every phase; the scheduler sets each epoch's batch size
        scheduler = BatchSizeScheduler(plan.batch_size)
        run_callbacks.insert(0, scheduler)
        scheduled_data = strategy.distribute_datasets_from_function(
            lambda context: data.scheduled_dataset(scheduler, num_replicas, context, seed=seed))

    def train_data(start_step):
        if plan is not None:
            return scheduled_data
        if arrays:  # this process's slice of every global batch
            return data.batches("train", global_batch, seed=seed, start_step=start_step,
                                shard=(strategy.worker_index, strategy.num_workers))
        return strategy.distribute_datasets_from_function(
            lambda context: data.dataset("train", global_batch, context, seed=seed,
                                         start_step=start_step))

    def epoch_steps(epoch):  # full steps of an epoch
        return updates_before(epoch + 1) - updates_before(epoch)

    _check_steps_per_execution(config["steps_per_execution"], epoch_steps, epochs)

    batches_done = 0
    checkpointer = None
    if first_epoch:  # Hyperband's continuation: the schedule resumes at the epoch
        iterations = model.optimizer.iterations
        iterations.assign(keras.ops.cast(updates_before(first_epoch), iterations.dtype))
    if checkpoint_dir is not None:
        from keras_bigbatch.training.checkpointing import RunCheckpointer

        components = {"accuracies": accuracies}
        components.update({"distance": distance} if distance else {})
        components.update({"batch_size_scheduler": scheduler} if scheduler else {})
        for index, callback in enumerate(callbacks):
            if hasattr(callback, "get_state") and hasattr(callback, "set_state"):
                components[f"callback-{index}-{type(callback).__name__}"] = callback
        checkpointer = RunCheckpointer(checkpoint_dir, config, strategy, components,
                                       epoch_steps, preemption, verbose)
        checkpointer.set_model(model)
        state = checkpointer.restore()
        if state is not None and state["finished"]:
            return dict(state["result"], config=config)
        if state is not None:
            first_epoch, batches_done = state["epoch"], state["batches_done"]
        run_callbacks.append(checkpointer)  # last: sees every callback's logs
    elif preemption is not None:
        raise ValueError("Argument `preemption` needs a `checkpoint_dir` to save to.")

    start = time.perf_counter()
    try:
        with strategy.scope() if arrays else contextlib.nullcontext():
            history = _fit_from(model, train_data, run_callbacks, first_epoch, batches_done,
                                epochs, steps_per_epoch, updates_before, scheduler)
    except BaseException:  # Preempted, KeyboardInterrupt: fit skipped on_train_end
        if scheduler is not None:
            scheduler.on_train_end()  # restores the warning filters it changed
        raise
    wall_time = time.perf_counter() - start
    if checkpointer is not None:  # every session's epochs
        history, wall_time = checkpointer.history, checkpointer.wall_time_s()
    epochs_run = len(history.get("loss", ()))
    last_epoch = first_epoch + epochs_run if checkpointer is None else epochs_run
    if accuracies.epochs_measured[-1:] != [last_epoch]:  # a callback stopped training early
        accuracies.measure(last_epoch)
    train_accuracy = None
    if evaluation["train_accuracy"]:
        train_accuracy = evaluate(evaluation_data(data, "train", eval_batch, strategy))
    result = {
        "name": config["name"],
        "test_accuracy": accuracies.last("test_accuracy"),
        "validation_accuracy": accuracies.last("val_accuracy"),
        "train_accuracy": train_accuracy,
        "updates": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "epochs": epochs_run,
        "steps_per_epoch": steps_per_epoch,
        "wall_time_s": wall_time,
        "global_batch_size": global_batch,
        "per_replica_batch_size": per_replica,
        "num_replicas": num_replicas,
        "curve": {
            "updates": [updates_before(e) for e in accuracies.epochs_measured],
            **{key: [float(a) for a in values] for key, values in accuracies.accuracies.items()},
        },
        "distance": {
            "updates": distance.history["step"] if distance else [],
            "distance": distance.history["distance"] if distance else [],
        },
        "history": {k: [float(v) for v in values] for k, values in history.items()},
        "config": config,
    }
    if checkpointer is not None:
        checkpointer.save_final({k: v for k, v in result.items() if k != "config"})
    return result


def evaluation_data(data, split, eval_batch, strategy):
    """One ordered pass over `split` in global batches of `eval_batch`: a
    tf.data pipeline (padded to full batches on TPUs, which need fixed
    shapes), or numpy batches under a `KerasDistribution`."""
    if _uses_keras_distribution(strategy):
        return data.batches(split, eval_batch, training=False)
    from keras_bigbatch.training.evaluation import pad_to_full_batches

    dataset = data.dataset(split, eval_batch, training=False)
    if strategy_lib.device_kind(strategy) == "tpu":
        dataset = pad_to_full_batches(dataset, eval_batch)
    return dataset


def evaluator(model, strategy, eval_batch):
    """`evaluate(evaluation_data(...)) -> accuracy` for `strategy`."""
    from keras_bigbatch.training import evaluation

    if _uses_keras_distribution(strategy):
        return evaluation.make_batch_evaluator(model, eval_batch)
    return evaluation.make_evaluator(model, strategy)


def _check_steps_per_execution(steps_per_execution, epoch_steps, epochs):
    """Raises unless `steps_per_execution` divides every epoch's steps (Keras
    would otherwise run past the epoch's end: more updates than the schedule's)."""
    if steps_per_execution == 1:
        return
    lengths = sorted({epoch_steps(epoch) for epoch in range(epochs)})
    if any(length % steps_per_execution for length in lengths):
        divisors = sorted(d for d in range(1, lengths[0] + 1)
                          if all(n % d == 0 for n in lengths))
        raise ValueError(
            f"Argument `steps_per_execution` ({steps_per_execution}) must divide the steps "
            f"of every epoch ({lengths}); Keras would run past an epoch's end. Valid: "
            f"{divisors}. Received: steps_per_execution={steps_per_execution}")


def _epoch_range(schedule_epochs, epochs, initial_epoch, checkpoint_dir):
    """`(stop, start)` epochs of a fit (see `fit`'s `epochs`, `initial_epoch`).

    Raises:
        ValueError: `epochs` not in [1, the schedule's epochs], `initial_epoch`
            not in [0, epochs), or `initial_epoch` with a `checkpoint_dir`.
    """
    stop = schedule_epochs if epochs is None else epochs
    if isinstance(stop, bool) or not isinstance(stop, int) or not 1 <= stop <= schedule_epochs:
        raise ValueError(
            f"Argument `epochs` must be an int in [1, {schedule_epochs}] (the run's "
            f"schedule trains {schedule_epochs} epochs) or None. Received: epochs={epochs!r}")
    if (isinstance(initial_epoch, bool) or not isinstance(initial_epoch, int)
            or not 0 <= initial_epoch < stop):
        raise ValueError(f"Argument `initial_epoch` must be an int in [0, {stop}) (`epochs` "
                         f"is {stop}). Received: initial_epoch={initial_epoch!r}")
    if initial_epoch and checkpoint_dir is not None:
        raise ValueError(
            "Argument `initial_epoch` cannot be combined with `checkpoint_dir`: the run "
            f"resumes where its checkpoint says. Received: initial_epoch={initial_epoch}")
    if stop != schedule_epochs and checkpoint_dir is not None:
        raise ValueError(
            "Argument `epochs` cannot be combined with `checkpoint_dir`: a checkpointed run "
            f"trains its whole schedule ({schedule_epochs} epochs), and its final checkpoint "
            f"marks it finished. Received: epochs={epochs}")
    return stop, initial_epoch


def train(config, strategy=None, callbacks=(), verbose=True, checkpoint_dir=None,
          preemption=None):
    """`build` then `fit`; the result also holds the trained `model`."""
    model = build(config, strategy)
    result = fit(config, model, strategy, callbacks, verbose, checkpoint_dir, preemption)
    result["model"] = model
    return result
