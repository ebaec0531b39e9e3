"""One trainer, two calls: `build(config, strategy)` and `fit(config, model, strategy)`.

Both start from `plan(config, strategy) -> Run` (training/plan.py), which
resolves and checks everything once. Every engine trains with Keras's own
`model.fit` on what the run's `Runtime` (distribute/runtime.py) feeds it:

    tf.distribute        strategy.distribute_datasets_from_function(source.dataset):
                         each worker reads its slice of every global batch, cut
                         into per-replica batches
    keras.distribution   numpy batches (source.batches): process w of W feeds
                         rows [w B / W, (w + 1) B / W) of every global batch,
                         XLA cuts them per device (JAX, PyTorch; no TensorFlow)

so step t sees global batch t under any strategy, and one update on a
global batch equals the one-device update on that batch (tested against
one device). Recipes, the command line, the Keras Tuner HyperModel and the
notebooks all go through these two calls.
"""

import contextlib
import time

import keras

from keras_bigbatch.callbacks import BatchSizeScheduler
from keras_bigbatch.callbacks import WeightDistance
from keras_bigbatch.distribute.runtime import runtime_for
from keras_bigbatch.micro_batching import micro_batch
from keras_bigbatch.training import own_model
from keras_bigbatch.training import registry
from keras_bigbatch.training.accuracies import Accuracies
from keras_bigbatch.training.plan import plan
from keras_bigbatch.training.plan import source  # noqa: F401 (trainer.source, for callers)
from keras_bigbatch.training import progress
from keras_bigbatch.training.result import RunResult


def build(config, strategy=None, *, model=None, data=None):
    """The config's model (or yours), compiled inside the engine's scope.

    Seeds Keras with `config["seed"]`, builds the registered model under the
    run's precision policy (`"auto"`: per device, see
    `distribute.resolve_precision`), the optimizer with the schedule's
    learning rates (`Regime.to_schedule`), the loss, and compiles with the
    config's `metrics` (default `["accuracy"]`). An optimizer that needs more of the model gets it from
    its registry entry (CBLR: a `CurvatureModel`). Under `mixed_float16`
    Keras wraps the optimizer in a `LossScaleOptimizer`. With
    `micro_batch_size` the model's `fit` runs every batch as micro-batches
    (`keras_bigbatch.micro_batching.micro_batch`), also in a user's own
    `model.fit`.

    Args:
        config: a run config (partial dicts are completed from
            `config.DEFAULTS` and checked).
        strategy: a `tf.distribute.Strategy` or (JAX, PyTorch) a
            `KerasDistribution`; default: the current one.
        model: your own model instead of the config's registered one: a
            `keras.Model`, or a function `config -> keras.Model` (called in
            the engine's scope; see `training.own_model`).
        data: your own `DataSource` (`kb.data.from_arrays`,
            `from_dataset_fn`, `from_generator`): what the model is checked
            against.

    Returns:
        The compiled `keras.Model`.

    Raises:
        ValueError: bad config, a `model` that is not a model or function,
            or one whose input does not fit the data's examples.
    """
    run = plan(config, strategy, model=model, data=data)
    config = run.config
    optimizer_args = {k: v for k, v in config["optimizer"].items() if k != "name"}
    loss_args = {k: v for k, v in config["loss"].items() if k != "name"}
    keras.utils.set_random_seed(config["seed"])
    with _dtype_policy(run.precision), run.runtime.scope():
        registered = model is None
        if registered:
            model = registry.build_model(config["model"]["name"], run.source.example_shape(),
                                         run.source.num_classes, **run.model_arguments)
        else:
            model = own_model.make(model, config, run.runtime)
        own_model.check_inputs(model, run.source)
        loss = registry.build_loss(config["loss"]["name"], **loss_args)
        own_model.check_logits(model, loss)
        optimizer = registry.build_optimizer(
            config["optimizer"]["name"], run.learning_rate_schedule(), **optimizer_args)
        model = registry.prepare_model(config["optimizer"]["name"], model)
        own_model.mark(model, config["model"]["name"], registered, data)
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=list(config["metrics"]),
            steps_per_execution=config["steps_per_execution"],
            **run.compile_options,
        )
    if run.micro_batch_size is not None:
        micro_batch(model, run.micro_batch_size)
    return model


def fit(config, model, strategy=None, callbacks=(), verbose=True, checkpoint_dir=None,
        preemption=None, *, epochs=None, initial_epoch=0, log_dir=None, data=None):
    """Trains a model from `build` and returns its `RunResult`.

    With `checkpoint_dir` the run saves checkpoints there (`config["checkpoint"]`
    sets how often) and first resumes from the newest usable one: the
    result equals an uninterrupted run's (see `keras_bigbatch.checkpoint`).
    A finished run's final checkpoint holds its result, which is returned
    without training again.

    Args:
        config: the run config `model` was built from.
        model: the compiled model (built under the same `strategy`).
        strategy: the `tf.distribute.Strategy` or `KerasDistribution`;
            default: the current one.
        callbacks: extra Keras callbacks for `fit`. Those with
            `get_state()`/`set_state(state)` (JSON-able dicts, numpy arrays
            allowed) are checkpointed too, each under its `state_key` attribute
            (default: its class name; two that would share a key are refused
            with a clear error, see `checkpoint.stateful_callbacks`).
        verbose: print a header and progress (see `training.progress`):
            True or 1, the default; 2 for more; False or 0 for none.
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
        log_dir: a folder for the run's TensorBoard scalars, or None.
        data: your own `DataSource` instead of the config's (see `build`).

    Raises:
        CheckpointError: the newest checkpoint was written with other
            settings, or none of the existing ones is usable.
        Preempted: stopped on SIGTERM after saving.

    Returns:
        A `RunResult`: the dict `fit` has always returned (`name`,
        `test_accuracy`, `updates`, `curve`, `history`, `config`, ...; see
        `training.result`), whose fields are also attributes.
    """
    own_model.check_compiled(model)
    data = own_model.built_data(model) if data is None else data
    run = plan(config, strategy, model=model if own_model.is_own(model) else None, data=data)
    own_model.check_inputs(model, run.source)
    own_model.check_scope(model, run.runtime)
    if run.micro_batch_size is not None:
        micro_batch(model, run.micro_batch_size)
    stop, start = _epoch_range(run.epochs, epochs, initial_epoch, checkpoint_dir, preemption)
    run.runtime.prepare_fit()
    evaluate = run.runtime.evaluator(model, run.evaluation_batch_size)
    evaluation = run.config["evaluation"]
    accuracies = Accuracies(evaluate, _measured_splits(run),
                            max(1, stop // evaluation["evaluations"]), stop)
    distance = (WeightDistance(run.updates_before[stop], evaluation["distance_points"])
                if evaluation["distance_points"] else None)
    scheduler = BatchSizeScheduler(run.growth.batch_size) if run.growth is not None else None
    own = {"batch_size_scheduler": scheduler, "distance": distance, "accuracies": accuracies}
    own = {key: callback for key, callback in own.items() if callback is not None}
    run_callbacks = list(own.values()) + list(callbacks)
    run_callbacks += progress.run_callbacks(run, stop, verbose=verbose, log_dir=log_dir)
    if verbose:
        print(run.describe(stop), flush=True)
    if start:  # Hyperband's continuation: the schedule resumes at the epoch
        _set_iterations(model, run.updates_before[start])
    position, checkpointer = (start, 0), None
    if checkpoint_dir is not None:
        checkpointer = _checkpointer(run, model, checkpoint_dir, own, callbacks, preemption,
                                     verbose)
        state = checkpointer.restore()
        if state is not None and state["finished"]:
            return RunResult.from_dict(dict(state["result"], config=run.config))
        if state is not None:
            position = (state["epoch"], state["batches_done"])
        run_callbacks.append(checkpointer)  # last: sees every callback's logs
    began = time.perf_counter()
    history = _fit_from(model, run, run_callbacks, position, stop, scheduler)
    wall_time = time.perf_counter() - began
    if checkpointer is not None:  # every session's epochs
        history, wall_time = checkpointer.history, checkpointer.wall_time_s()
    epochs_run = len(history.get("loss", ()))
    last_epoch = position[0] + epochs_run if checkpointer is None else epochs_run
    if accuracies.epochs_measured[-1:] != [last_epoch]:  # a callback stopped training early
        accuracies.measure(last_epoch)
    result = _result(run, model, history, wall_time, accuracies, distance, evaluate, epochs_run)
    if checkpointer is not None:
        checkpointer.save_final(result.to_dict(config=False))
    return result


def train(config, strategy=None, callbacks=(), verbose=True, checkpoint_dir=None,
          preemption=None, *, model=None, data=None, log_dir=None):
    """`build` then `fit`; the result also holds the trained `model`.

    `model` (a `keras.Model` or a function `config -> keras.Model`) and
    `data` (a `DataSource`) replace the config's registered model and data
    source (see `build`); the other arguments are `fit`'s.
    """
    model = build(config, strategy, model=model, data=data)
    result = fit(config, model, strategy, callbacks, verbose, checkpoint_dir, preemption,
                 log_dir=log_dir, data=data)
    return result.with_model(model)


def default_strategy(strategy=None):
    """`strategy`, or the current one: tf.distribute's on TensorFlow, else
    keras.distribution's (`KerasDistribution`)."""
    return runtime_for(strategy).strategy


def evaluation_data(data, split, eval_batch, strategy):
    """One ordered pass over `split` in global batches of `eval_batch` (see
    `Runtime.evaluation_data`)."""
    return runtime_for(strategy).evaluation_data(data, split, eval_batch)


def evaluator(model, strategy, eval_batch):
    """`evaluate(evaluation_data(...)) -> accuracy` for `strategy`."""
    return runtime_for(strategy).evaluator(model, eval_batch)


@contextlib.contextmanager
def _dtype_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _measured_splits(run):
    """`{log key: evaluation data}` of the splits measured during training."""
    measured = {}
    for key, split in (("val_accuracy", "validation"), ("test_accuracy", "test")):
        if run.source.has_split(split) and (
                split != "test" or run.config["evaluation"]["test_accuracy"]):
            measured[key] = run.runtime.evaluation_data(run.source, split,
                                                        run.evaluation_batch_size)
    return measured


def _set_iterations(model, updates):
    iterations = model.optimizer.iterations
    iterations.assign(keras.ops.cast(updates, iterations.dtype))


def _checkpointer(run, model, directory, own, callbacks, preemption, verbose):
    """The run's `RunCheckpointer`: the trainer's stateful callbacks under
    their own names, the caller's under their `state_key`s."""
    from keras_bigbatch import checkpoint

    components = {key: own[key] for key in ("accuracies", "distance", "batch_size_scheduler")
                  if key in own}
    components.update(checkpoint.stateful_callbacks(callbacks, reserved=components))
    checkpointer = checkpoint.RunCheckpointer(directory, run.config, run.runtime, components,
                                              run.epoch_steps, preemption, verbose)
    checkpointer.set_model(model)
    return checkpointer


def _training_data(run, scheduler, start_step):
    if scheduler is not None:  # one feed for every phase: the scheduler sets the batch size
        return run.runtime.scheduled_training_data(run.source, scheduler, run.config["seed"])
    return run.runtime.training_data(run.source, run.global_batch_size, run.config["seed"],
                                     start_step)


def _fit_from(model, run, callbacks, position, stop, scheduler):
    """`model.fit` from step `batches_done` of epoch `epoch` (`position`) to `stop`.

    A mid-epoch start trains the rest of that epoch in one `fit` (its own
    length), then the other epochs: one `fit` per run of epochs of one
    length (a last, shorter epoch of `schedule.updates` gets its own).
    Returns Keras's History dict.
    """
    epoch, batches_done = position
    scheduled = _training_data(run, scheduler, 0) if scheduler is not None else None
    history = {}

    def steps(e):  # None under batch growth: the scheduler's data sets each epoch's length
        return None if run.steps_per_epoch is None else run.epoch_steps(e)

    try:
        with run.runtime.fit_scope():
            if batches_done:  # the rest of the epoch a checkpoint stopped in
                if scheduler is not None:
                    scheduler.resume_at(epoch, batches_done)
                data = scheduled or _training_data(
                    run, None, run.updates_before[epoch] + batches_done)
                history = model.fit(data, initial_epoch=epoch, epochs=epoch + 1,
                                    callbacks=callbacks, shuffle=False, verbose=0,
                                    steps_per_epoch=steps(epoch) and (
                                        steps(epoch) - batches_done)).history
                epoch += 1
            while epoch < stop:
                end = epoch + 1
                while end < stop and steps(end) == steps(epoch):
                    end += 1
                data = scheduled or _training_data(run, None, run.updates_before[epoch])
                rest = model.fit(data, initial_epoch=epoch, epochs=end,
                                 steps_per_epoch=steps(epoch), callbacks=callbacks,
                                 shuffle=False, verbose=0).history
                history = {k: history.get(k, []) + list(v) for k, v in rest.items()}
                epoch = end
    except BaseException:  # Preempted, KeyboardInterrupt: fit skipped on_train_end
        if scheduler is not None:
            scheduler.on_train_end()  # restores the warning filters it changed
        raise
    return history


def _result(run, model, history, wall_time, accuracies, distance, evaluate, epochs_run):
    """The run's `RunResult` (train accuracy measured here when asked for)."""
    train_accuracy = None
    if run.config["evaluation"]["train_accuracy"]:
        train_accuracy = evaluate(run.runtime.evaluation_data(run.source, "train",
                                                              run.evaluation_batch_size))
    return RunResult(
        name=run.name,
        test_accuracy=accuracies.last("test_accuracy"),
        validation_accuracy=accuracies.last("val_accuracy"),
        train_accuracy=train_accuracy,
        updates=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        epochs=epochs_run,
        steps_per_epoch=run.steps_per_epoch,
        wall_time_s=wall_time,
        global_batch_size=run.global_batch_size,
        per_replica_batch_size=run.per_replica_batch_size,
        num_replicas=run.num_replicas,
        curve={"updates": [run.updates_before[e] for e in accuracies.epochs_measured],
               **{key: [float(a) for a in values]
                  for key, values in accuracies.accuracies.items()}},
        distance={"updates": distance.history["step"] if distance else [],
                  "distance": distance.history["distance"] if distance else []},
        history={k: [float(v) for v in values] for k, values in history.items()},
        config=run.config,
    )


def _epoch_range(schedule_epochs, epochs, initial_epoch, checkpoint_dir, preemption):
    """`(stop, start)` epochs of a fit (see `fit`'s `epochs`, `initial_epoch`).

    Raises:
        ValueError: `epochs` not in [1, the schedule's epochs], `initial_epoch`
            not in [0, epochs), `initial_epoch` or `epochs` with a
            `checkpoint_dir`, or `preemption` without one.
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
    if preemption is not None and checkpoint_dir is None:
        raise ValueError("Argument `preemption` needs a `checkpoint_dir` to save to.")
    return stop, initial_epoch
