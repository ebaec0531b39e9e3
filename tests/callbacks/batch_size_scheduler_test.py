"""BatchSizeScheduler + make_scheduled_dataset: exact batches inside one `fit`.

`make_scheduled_dataset` is a tf.data pipeline: the tests that fit one are
marked `tensorflow`; the schedule arithmetic and checks run on every backend.
"""

import contextlib
import os
import tempfile
import warnings

import keras
import numpy as np
import pytest

from keras_bigbatch.callbacks import BatchSizeScheduler
from keras_bigbatch.schedules import BatchSizeSchedule

N = 1000
SCHEDULE = {0: 32, 2: 64, 3: 200}
EPOCHS = 5
# 1000 // 32 = 31 (epochs 0, 1), 1000 // 64 = 15, 1000 // 200 = 5 (epochs 3, 4)
STEPS = [31, 31, 15, 5, 5]


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 8)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")


class ExamplesSeen(keras.metrics.Sum):
    """Examples in this epoch (summed over replicas)."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(keras.ops.ones_like(keras.ops.cast(y_true, "float32")))


class TracedModel(keras.Sequential):
    traces = 0

    def train_step(self, data):
        TracedModel.traces += 1  # Python runs only while tracing / compiling
        return super().train_step(data)


class StepLog(keras.callbacks.Callback):
    """Steps and iterations per epoch; `updates`: (iterations before, after) of every update.

    Keras calls `on_train_batch_begin`, not `on_train_batch_end`, for the
    phantom call that finds the end of a dataset of unknown length.
    """

    def on_train_begin(self, logs=None):
        self.updates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.steps = 0

    def on_train_batch_begin(self, batch, logs=None):
        self._before = iterations(self.model)

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.updates.append((self._before, iterations(self.model)))

    def on_epoch_end(self, epoch, logs=None):
        logs["steps"] = self.steps
        logs["iterations"] = iterations(self.model)


def iterations(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def build(strategy=None, model_class=keras.Sequential):
    with strategy.scope() if strategy else contextlib.nullcontext():
        keras.utils.set_random_seed(0)
        model = model_class([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(2)])
        model.compile(keras.optimizers.SGD(keras.optimizers.schedules.PiecewiseConstantDecay(
                          [62], [0.1, 0.01]), momentum=0.9),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[ExamplesSeen(name="examples")])
    return model


def arrays_dataset(x, y, scheduler, strategy):
    from keras_bigbatch.data import make_scheduled_dataset

    return make_scheduled_dataset(x, y, scheduler, strategy=strategy, seed=3)


def own_pipeline(x, y, scheduler, strategy):
    """A user's tf.data pipeline of the batch size: slices, a Python-side map, batch(b)."""
    import tensorflow as tf

    from keras_bigbatch.data.pipeline import make_scheduled_dataset_from_function

    def double_negatives(features):  # numpy, run by Python for every example
        return np.where(features < 0, 2 * features, features).astype("float32")

    def augment(features, label):
        if label > 0:  # Python control flow on a tensor: AutoGraph converts it
            features = -features
        features = tf.numpy_function(double_negatives, [features], tf.float32)
        return tf.ensure_shape(features, (8,)), label

    def pipeline(global_batch_size):
        return (tf.data.Dataset.from_tensor_slices((x, y))
                .map(augment).batch(global_batch_size, drop_remainder=True))

    return make_scheduled_dataset_from_function(pipeline, scheduler, len(x), strategy=strategy)


def run(strategy=None, epochs=EPOCHS, model_class=keras.Sequential, callbacks=(),
        dataset=arrays_dataset, **fit):
    x, y = data()
    scheduler = BatchSizeScheduler(SCHEDULE)
    train = dataset(x, y, scheduler, strategy)
    model = build(strategy, model_class)
    log = StepLog()
    history = model.fit(train, epochs=epochs, verbose=0,
                        callbacks=[scheduler, log, *callbacks], **fit)
    history.history["updates"] = log.updates
    return model, history.history, scheduler


def test_schedule_dict_callable_and_config():
    schedule = BatchSizeSchedule(SCHEDULE)
    assert [schedule(e) for e in range(5)] == [32, 32, 64, 200, 200]
    assert [schedule.steps_per_epoch(N, e) for e in range(5)] == STEPS
    assert schedule.total_steps(N, 5) == 87 and schedule.total_steps(N, 5, initial_epoch=3) == 10
    again = BatchSizeSchedule.from_config(schedule.get_config())
    assert again.boundaries == schedule.boundaries
    assert BatchSizeSchedule(lambda e: 32 * 2**e)(3) == 256
    preset = BatchSizeSchedule.small_first_epoch(512, 8192)
    assert [preset(e) for e in range(3)] == [512, 8192, 8192]
    scheduler = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(BatchSizeScheduler(SCHEDULE)))
    assert scheduler.schedule.boundaries == schedule.boundaries


@pytest.mark.parametrize("schedule, match", [
    ({}, "non-empty dict"),
    ([32, 64], "non-empty dict"),
    ({1: 32}, "start at epoch 0"),
    ({0: 64, 2: 32}, "must not decrease"),
    ({0: 32, -1: 16}, "epochs"),
    ({0: 0}, r"schedule\[0\]"),
    ({0: 32.0}, r"schedule\[0\]"),
])
def test_bad_schedules_name_the_argument(schedule, match):
    with pytest.raises(ValueError, match=match):
        BatchSizeSchedule(schedule)


def test_callable_schedule_checked_each_epoch():
    schedule = BatchSizeSchedule(lambda e: 64 if e == 0 else 32)
    assert schedule(0) == 64
    with pytest.raises(ValueError, match="must not decrease"):
        schedule(1)
    with pytest.raises(ValueError, match="exceeds the data set"):
        BatchSizeSchedule({0: 2000}).steps_per_epoch(N, 0)
    with pytest.raises(ValueError, match="small_batch_size"):
        BatchSizeSchedule.small_first_epoch(1024, 512)


@pytest.mark.tensorflow
@pytest.mark.parametrize("dataset", [arrays_dataset, own_pipeline])
def test_exact_batches_in_one_fit(dataset):
    model, history, scheduler = run(dataset=dataset)
    # update t reads its learning rate at optimizer.iterations == t: no phantom step
    # between the updates, nor at the phase changes (steps 62, 77)
    assert history["updates"] == [(t, t + 1) for t in range(sum(STEPS))]
    assert history["steps"] == STEPS
    # every step had exactly the scheduled batch: steps * batch examples per epoch
    assert history["examples"] == [s * b for s, b in zip(STEPS, [32, 32, 64, 200, 200])]
    assert history["batch_size"] == [32, 32, 64, 200, 200]
    # optimizer.iterations continues across phases and counts only real updates
    assert history["iterations"] == list(np.cumsum(STEPS))
    assert scheduler.history["steps"] == STEPS
    # the PiecewiseConstantDecay boundary (step 62) fell where planned
    lr = model.optimizer.learning_rate
    assert float(keras.ops.convert_to_numpy(lr)) == pytest.approx(0.01)


@pytest.mark.tensorflow
def test_one_trace_for_all_batch_sizes():
    TracedModel.traces = 0
    run(model_class=TracedModel)
    assert 1 <= TracedModel.traces <= 3  # at most one per distinct batch size; TF: 1


@pytest.mark.tensorflow
def test_steps_per_execution_is_exact():
    from keras_bigbatch.data import make_scheduled_dataset

    x, y = data()
    scheduler = BatchSizeScheduler(SCHEDULE)
    model = build()
    model.compile(model.optimizer, model.loss, metrics=[ExamplesSeen(name="examples")],
                  steps_per_execution=4)
    history = model.fit(make_scheduled_dataset(x, y, scheduler), epochs=EPOCHS, verbose=0,
                        callbacks=[scheduler, StepLog()]).history
    assert history["examples"] == [s * b for s, b in zip(STEPS, [32, 32, 64, 200, 200])]
    assert history["iterations"] == list(np.cumsum(STEPS))


@pytest.mark.tensorflow
@pytest.mark.parametrize("dataset", [arrays_dataset, own_pipeline])
def test_mirrored_matches_single_device(mirrored, dataset):
    single, history, _ = run(dataset=dataset)
    keras.backend.clear_session()
    replicated, mirrored_history, _ = run(mirrored, dataset=dataset)
    assert mirrored_history["updates"] == history["updates"]
    assert mirrored_history["steps"] == STEPS
    assert mirrored_history["examples"] == history["examples"]
    assert mirrored_history["iterations"] == history["iterations"]
    for a, b in zip(single.get_weights(), replicated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.tensorflow
def test_replicas_must_divide_every_batch(mirrored):
    from keras_bigbatch.data import make_scheduled_dataset

    x, y = data()
    with pytest.raises(ValueError, match=r"Epoch 1 .*global_batch_size.*\[32, 34\]"):
        make_scheduled_dataset(x, y, BatchSizeScheduler({0: 32, 1: 33}), strategy=mirrored)
    scheduler = BatchSizeScheduler(lambda e: 32 if e == 0 else 33)
    dataset = make_scheduled_dataset(x, y, scheduler, strategy=mirrored)
    model = build(mirrored)
    with pytest.raises(ValueError, match=r"global_batch_size.*\[32, 34\]"):
        model.fit(dataset, epochs=2, verbose=0, callbacks=[scheduler])
    assert int(model.optimizer.iterations.numpy()) == 31  # epoch 0 kept


@pytest.mark.tensorflow
def test_resume_mid_schedule_gives_the_same_weights():
    straight, _, _ = run()
    keras.backend.clear_session()

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:
                raise RuntimeError("simulated preemption")

    with tempfile.TemporaryDirectory() as folder:
        backup = keras.callbacks.BackupAndRestore(os.path.join(folder, "backup"))
        with pytest.raises(RuntimeError, match="preemption"):
            run(callbacks=[backup, Crash()])
        keras.backend.clear_session()
        resumed, history, scheduler = run(callbacks=[keras.callbacks.BackupAndRestore(
            os.path.join(folder, "backup"))])
    assert scheduler.history["epoch"] == [3, 4]
    assert history["iterations"] == [82, 87]
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_fit_without_the_scheduled_dataset_is_explained():
    x, y = data()
    model = build()
    with pytest.raises(ValueError, match="make_scheduled_dataset"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[BatchSizeScheduler(SCHEDULE)])


@pytest.mark.tensorflow
def test_wiring_mistakes_are_explained():
    from keras_bigbatch.data import make_scheduled_dataset

    x, y = data()
    model = build()
    scheduler = BatchSizeScheduler(SCHEDULE)
    dataset = make_scheduled_dataset(x, y, scheduler)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(dataset.repeat(), epochs=1, steps_per_epoch=5, verbose=0, callbacks=[scheduler])
    with pytest.raises(ValueError, match="BatchSizeScheduler"):
        make_scheduled_dataset(x, y, {0: 32})


@pytest.mark.tensorflow
def test_own_pipeline_gets_each_epochs_batch_size_and_epoch():
    import tensorflow as tf

    from keras_bigbatch.data.pipeline import make_scheduled_dataset_from_function

    keras.utils.set_random_seed(0)  # fixed seeds: what repeats an order rebuilt each epoch
    x = np.arange(100)
    scheduler = BatchSizeScheduler({0: 10, 2: 25})
    calls = []

    def pipeline(global_batch_size, epoch):  # traced once: tensors, not ints
        calls.append((global_batch_size.dtype, epoch.dtype))
        seed = tf.stack([tf.constant(7, tf.int64), epoch])  # epoch e's stateless permutation
        return tf.data.Dataset.range(100).map(
            lambda i: tf.gather(x, tf.random.experimental.index_shuffle(i, seed, 99))).batch(
            global_batch_size, drop_remainder=True)

    outside = tf.data.Dataset.from_tensor_slices(x).shuffle(100)  # reshuffles per iterator
    reshuffled = make_scheduled_dataset_from_function(
        lambda b: outside.batch(b, drop_remainder=True), BatchSizeScheduler({0: 10}), 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither form warns
        dataset = make_scheduled_dataset_from_function(pipeline, scheduler, 100)
    assert calls == [(tf.int64, tf.int64)]
    assert dataset.element_spec.shape.as_list() == [None]  # one trace for every batch size
    epochs = {}
    for epoch in (0, 1, 2):  # what BatchSizeScheduler.on_epoch_begin writes
        scheduler._feeds[-1].set_epoch(epoch, scheduler.schedule(epoch))
        epochs[epoch] = [b.numpy().tolist() for b in dataset]
    assert [[len(b) for b in epochs[e]] for e in (0, 1, 2)] == [[10] * 10, [10] * 10, [25] * 4]
    assert sorted(sum(epochs[0], [])) == sorted(sum(epochs[1], [])) == list(range(100))
    assert epochs[0] != epochs[1]  # a new order every epoch
    scheduler._feeds[-1].set_epoch(2, 25, skip=3)  # resumed 3 steps into epoch 2
    assert [b.numpy().tolist() for b in dataset] == epochs[2][3:]
    first, second = ([b.numpy().tolist() for b in reshuffled] for _ in range(2))
    assert first != second and sorted(sum(first, [])) == sorted(sum(second, []))


@pytest.mark.tensorflow
def test_random_ops_rebuilt_every_epoch_are_named_in_a_warning():
    import tensorflow as tf

    from keras_bigbatch.data.pipeline import make_scheduled_dataset_from_function

    keras.utils.set_random_seed(0)
    x = np.arange(20)
    scheduler = BatchSizeScheduler({0: 5})
    with pytest.warns(UserWarning, match=r"random ops \(RandomUniformInt, ShuffleDatasetV3\)"):
        dataset = make_scheduled_dataset_from_function(
            lambda b: tf.data.Dataset.from_tensor_slices(x).shuffle(20).map(
                lambda v: v + 100 * tf.random.uniform((), 0, 9, tf.int64)).batch(
                b, drop_remainder=True), scheduler, 20)
    # what the warning is about: epoch 1 repeats epoch 0
    epochs = [[b.numpy().tolist() for b in dataset] for _ in range(2)]
    assert epochs[0] == epochs[1]


@pytest.mark.tensorflow
def test_own_pipeline_mistakes_are_explained():
    import tensorflow as tf

    from keras_bigbatch.data.pipeline import make_scheduled_dataset_from_function

    x = np.arange(100)
    scheduler = BatchSizeScheduler({0: 30})
    with pytest.raises(ValueError, match="Argument `dataset_fn` must be a function"):
        make_scheduled_dataset_from_function(x, scheduler, 100)
    with pytest.raises(ValueError, match="must return a tf.data.Dataset"):
        make_scheduled_dataset_from_function(lambda b: x, scheduler, 100)
    with pytest.raises(ValueError, match="dataset_size"):
        make_scheduled_dataset_from_function(lambda b: x, scheduler, 0)
    with pytest.raises(ValueError, match="BatchSizeScheduler"):
        make_scheduled_dataset_from_function(lambda b: x, {0: 30}, 100)
    partial = make_scheduled_dataset_from_function(  # 100 = 3 * 30 + 10: no drop_remainder
        lambda b: tf.data.Dataset.from_tensor_slices(x).batch(b), scheduler, 100)
    with pytest.raises(tf.errors.InvalidArgumentError, match="exactly global_batch_size"):
        list(partial)
    short = make_scheduled_dataset_from_function(  # 3 batches of 30, 6 expected
        lambda b: tf.data.Dataset.from_tensor_slices(x).batch(b, drop_remainder=True),
        scheduler, 200)
    with pytest.raises(tf.errors.FailedPreconditionError, match="expected to contain 6"):
        list(short)
