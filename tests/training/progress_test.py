"""`Progress`: the lines a run prints inside its epochs and at their ends (any backend)."""

import io
import re

import keras
import numpy as np
import pytest

from keras_bigbatch.training import progress
from keras_bigbatch.training.progress import Progress
from keras_bigbatch.training.progress import format_duration
from keras_bigbatch.training.progress import format_rate
from keras_bigbatch.training.report import format_table
from keras_bigbatch.training.report import format_value

BATCH_LINE = re.compile(
    r"^\[t\] epoch (\d)/2  batch (\d+)/(\d+)  step (\d+)/(\d+)  loss (\d+\.\d{4})  "
    r"(\d+|n/a) examples/s  ETA (\S+)$")
EPOCH_LINE = re.compile(
    r"^\[t\] epoch (\d)/2  loss \d+\.\d{4}  accuracy \d\.\d{4}  (\d+|n/a) examples/s  \d+s$")


def test_durations_and_rates_say_n_a_when_unknown():
    assert [format_duration(s) for s in (4.4, 65, 3600 * 3 + 7 * 60 + 20)] == [
        "4s", "1m05s", "3h07m"]
    assert format_duration(None) == format_duration(float("nan")) == "n/a"
    assert format_rate(6400, 2.0) == "3200 examples/s"  # 100 updates of 64 in 2 s
    assert format_rate(None, None) == format_rate(64, 0) == "n/a examples/s"
    assert format_value(float("nan"), ".3f") == format_value(None) == "n/a"
    assert format_value(0.12345, ".3f") == "0.123"


def test_the_results_table_says_n_a_for_a_missing_accuracy():
    row = {"name": "A", "test_accuracy": 0.5, "train_accuracy": None, "global_batch_size": 64,
           "updates": 3, "epochs": 1, "wall_time_s": 1.2}
    table = format_table([row, dict(row, name="B", test_accuracy=None)])
    assert table.splitlines()[2].split() == ["A", "50.00%", "n/a", "64", "3", "1", "1"]
    assert table.splitlines()[3].split()[:3] == ["B", "n/a", "n/a"]


def _fit(callback, epochs=2, steps=10, batch=32):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(steps * batch, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model.fit(x, y, batch_size=batch, epochs=epochs, callbacks=[callback], verbose=0,
              shuffle=False)
    return model


def test_lines_inside_epochs_count_the_run_s_updates_and_examples():
    stream = io.StringIO()
    _fit(Progress("t", (0, 10, 20), 32, interval=0, stream=stream))
    lines = stream.getvalue().splitlines()
    batches = [BATCH_LINE.match(line) for line in lines if "batch " in line]
    assert all(batches), lines
    shown = [(int(m[1]), int(m[2]), int(m[4])) for m in batches]
    assert all(step == 10 * (epoch - 1) + batch for epoch, batch, step in shown)
    assert [step for _, _, step in shown] == sorted({step for _, _, step in shown})
    if keras.backend.backend() == "tensorflow":  # hooks in the loop, in order
        # interval 0: a line at every batch end but each epoch's first (it sets the marks)
        assert shown == [(1, b, b) for b in range(2, 11)] + [(2, b, 10 + b) for b in range(2, 11)]
    else:  # on Keras's thread pool: a late hook (an earlier batch) prints nothing
        assert {epoch for epoch, _, _ in shown} == {1, 2}
    assert {(m[3], m[5]) for m in batches} == {("10", "20")}
    assert all(m[7] != "n/a" for m in batches)  # a rate between two batch ends
    assert batches[-1][8] == "0s" or keras.backend.backend() != "tensorflow"  # ETA, last update
    assert batches[0][8] != "n/a"
    epochs = [EPOCH_LINE.match(line) for line in lines if "batch " not in line]
    assert all(epochs) and [m[1] for m in epochs] == ["1", "2"], lines


def test_short_epochs_print_n_a_and_lines_follow_the_interval():
    stream = io.StringIO()
    _fit(Progress("t", (0, 1, 2), 32, interval=0, stream=stream), steps=1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and all("n/a examples/s" in line for line in lines), lines
    stream = io.StringIO()  # an hour's interval: the epoch lines only
    _fit(Progress("t", (0, 10, 20), 32, interval=3600, stream=stream))
    assert [line.split("  ")[0] for line in stream.getvalue().splitlines()] == [
        "[t] epoch 1/2", "[t] epoch 2/2"]


def test_about_lines_epoch_lines_per_run_and_verbose_2_every_epoch():
    stream = io.StringIO()
    _fit(Progress("t", range(11), 32, lines=5, interval=3600, stream=stream), epochs=10, steps=1)
    assert [int(line.split()[2].split("/")[0]) for line in stream.getvalue().splitlines()] == [
        2, 4, 6, 8, 10]
    stream = io.StringIO()
    _fit(Progress("t", range(11), 32, verbose=2, interval=3600, stream=stream), epochs=10,
         steps=1)
    assert len(stream.getvalue().splitlines()) == 10


def test_progress_keeps_keras_asynchronous_dispatch():
    # Keras syncs every step for a batch-end hook unless the callback is async-safe
    # (JAX, PyTorch; TensorFlow's loop is synchronous anyway)
    none = keras.callbacks.CallbackList([])._async_train
    assert none == (keras.backend.backend() != "tensorflow")
    assert keras.callbacks.CallbackList([Progress("t", (0, 1), 32)])._async_train == none


@pytest.mark.parametrize("verbose,kinds", [(0, []), (False, []), (True, ["Progress"]),
                                           (2, ["Progress"])])
def test_run_callbacks_follow_verbose(verbose, kinds):
    from keras_bigbatch.training.plan import plan

    run = plan({"name": "d", "data": {"source": "digits"}, "model": {"name": "mlp"},
                "schedule": {"batch_size": 64, "epochs": 2, "learning_rate": 0.1}})
    shown = progress.run_callbacks(run, 2, verbose=verbose)
    assert [type(c).__name__ for c in shown] == kinds
    if kinds:
        assert shown[0].updates_before == run.updates_before[:3]
