"""`RunLogs`: a run's TensorBoard scalars, on every backend, without TensorFlow.

Scalars are written as TensorBoard event files (`events.out.tfevents.*`)
by TensorBoard's own record writer and protocol buffers (the `tensorboard`
package, a dependency of this one), so JAX and PyTorch runs log the same
scalars with TensorFlow absent; folders go through `checkpoint.files`
(local paths, or `gs://` and other `tf.io.gfile` URLs on TensorFlow).

```
step t = updates done (optimizer.iterations after update t), as Keras's TensorBoard
batch/KEY               every `every` updates: each number in Keras's batch logs
                        (loss, accuracy, ...: the epoch's running means so far)
batch/learning_rate     the schedule's rate of update t: schedule(t - 1)
batch/batch_size        the global batch of update t
batch/examples_per_second   since the previous batch point of the epoch
epoch/KEY               at each epoch's last update: each number in the epoch
                        logs (loss, accuracy, val_accuracy, test_accuracy when
                        measured, batch_size under batch growth,
                        gradient_noise_scale when a GradientNoiseScale
                        callback measures it, weight_distance, ...)
epoch/learning_rate     the rate of the epoch's last update
epoch/batch_size        the epoch's global batch
```

A resumed run (a checkpoint, a Hyperband continuation) opens a new event
file that starts with a `SessionLog.START` at its first update: TensorBoard
then drops the steps a preempted session logged after its last checkpoint
(the mechanism PyTorch's `SummaryWriter(purge_step=...)` uses), so every
step is the resumed run's own.
"""

import os
import socket
import threading
import time

import keras

from keras_bigbatch.callbacks._steps import optimizer_steps
from keras_bigbatch.checkpoint import files

_FILE_COUNTER = iter(range(1 << 30))  # two writers in one process: two files


def _next_stamp(filesystem, log_dir):
    """The new file's time stamp: now, or one past the newest file's.

    TensorBoard reads a folder's event files in the order of their names, so
    a resumed session's file must sort after the files before it, also when
    it starts within the same second."""
    stamps = [int(name.split(".")[3]) for name in filesystem.listdir(log_dir)
              if name.startswith("events.out.tfevents.") and name.split(".")[3].isdigit()]
    return max([int(time.time())] + [stamp + 1 for stamp in stamps])


class ScalarWriter:
    """Scalars into one TensorBoard event file in `log_dir` (created)."""

    def __init__(self, log_dir):
        from tensorboard.compat.proto import event_pb2
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._event, self._summary = event_pb2, summary_pb2
        filesystem = files.filesystem(log_dir)
        filesystem.makedirs(log_dir)
        name = (f"events.out.tfevents.{_next_stamp(filesystem, log_dir)}."
                f"{socket.gethostname()}.{os.getpid()}.{next(_FILE_COUNTER)}")
        self.path = f"{str(log_dir).rstrip('/')}/{name}"
        self._records = RecordWriter(filesystem.GFile(self.path, "wb"))
        self._lock = threading.Lock()  # batch-end hooks may run on Keras's threads
        self._write(self._event.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event):
        with self._lock:
            self._records.write(event.SerializeToString())

    def start_session(self, step):
        """Marks a (re)start at `step`: TensorBoard drops earlier files' steps >= `step`."""
        log = self._event.SessionLog(status=self._event.SessionLog.START)
        self._write(self._event.Event(wall_time=time.time(), step=step, session_log=log))

    def scalars(self, step, values):
        """Writes `{tag: number}` at `step`, then flushes."""
        summary = self._summary.Summary(value=[
            self._summary.Summary.Value(tag=tag, simple_value=float(value))
            for tag, value in values.items()])
        self._write(self._event.Event(wall_time=time.time(), step=int(step), summary=summary))
        self.flush()

    def flush(self):
        with self._lock:
            self._records.flush()

    def close(self):
        with self._lock:
            self._records.close()


def numbers(logs, prefix):
    """`{prefix + key: value}` of the logs' numbers (not bools, not text)."""
    return {prefix + key: value for key, value in (logs or {}).items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


class RunLogs(keras.callbacks.Callback):
    """Writes a run's scalars to TensorBoard event files in `log_dir` (see module).

    Batch-end work is one addition and one comparison but at every `every`-th
    update; the logs Keras hands a batch-end hook are Python numbers already
    (Keras converts them, on its thread pool on JAX and PyTorch, so
    `async_safe` keeps their asynchronous dispatch). On that pool hooks may
    finish out of order, so there batch points are held until `HOLD` updates
    later (or the epoch's end) and written in step order (a Ctrl-C loses the
    held ones); where Keras calls the hooks in its loop (TensorFlow, or any
    callback that is not `async_safe`, as the trainer's checkpointer) each
    is written at once.

    Args:
        log_dir: the folder (local, or a `tf.io.gfile` URL on TensorFlow).
        updates_before: updates before epoch e, e = 0 .. epochs (`Run.updates_before`).
        learning_rate: `schedule(update index) -> rate` (a Keras
            `LearningRateSchedule`, or any callable), a number, or None.
        batch_size: `epoch -> global batch size`.
        every: batch scalars every this many updates (default: about 200
            points over the run).
    """

    async_safe = True
    HOLD = 64  # updates: more than Keras's thread pool has hooks in flight

    def __init__(self, log_dir, updates_before, learning_rate, batch_size, every=None):
        super().__init__()
        self.log_dir, self.updates_before = log_dir, tuple(updates_before)
        self.learning_rate, self.batch_size = learning_rate, batch_size
        self.every = every or max(1, self.updates_before[-1] // 200)
        self.writer = None
        self._loop = None  # the thread running fit's loop
        self._lock = threading.Lock()
        self._epoch, self._epoch_start = 0, 0
        self._held, self._due, self._written = [], None, None  # (step, time, logs) points

    def _rate(self, update_index):
        if self.learning_rate is None:
            return {}
        rate = self.learning_rate
        if callable(rate):  # a schedule; else one rate for the whole run
            rate = rate(update_index)
        return {"learning_rate": float(keras.ops.convert_to_numpy(rate))}

    def on_train_begin(self, logs=None):
        self._loop = threading.get_ident()
        if self.writer is None:
            self.writer = ScalarWriter(self.log_dir)
        done = optimizer_steps(self.model)
        if done:  # a resumed run: its steps replace what an earlier session logged past here
            self.writer.start_session(done + 1)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._written = epoch, None
        self._epoch_start = optimizer_steps(self.model)  # once an epoch; mid-epoch resumes too

    def on_train_batch_end(self, batch, logs=None):
        step = self._epoch_start + batch + 1
        hold = 0 if threading.get_ident() == self._loop else self.HOLD
        if self._due is not None and step >= self._due:  # held points are final now
            self._write_held(step - hold)
        if step % self.every:
            return
        with self._lock:
            self._held.append((step, time.perf_counter(), numbers(logs, "")))
            if self._due is None:
                self._due = step + hold
        if not hold:
            self._write_held(step)

    def _write_held(self, last):
        """Writes the held points up to step `last`, in step order, with the
        examples per second between consecutive points of the epoch."""
        with self._lock:
            ready = sorted(point for point in self._held if point[0] <= last)
            self._held = [point for point in self._held if point[0] > last]
            self._due = min(p[0] for p in self._held) + self.HOLD if self._held else None
            for step, now, values in ready:
                if self._written is not None and step <= self._written[0]:
                    continue  # later than `hold`: never seen, but never out of order
                size = self.batch_size(self._epoch)
                values = dict(values, batch_size=size, **self._rate(step - 1))
                if self._written is not None and now > self._written[1]:
                    values["examples_per_second"] = (
                        (step - self._written[0]) * size / (now - self._written[1]))
                self._written = (step, now)
                self.writer.scalars(step, {f"batch/{k}": v for k, v in values.items()})

    def on_epoch_end(self, epoch, logs=None):
        self._write_held(float("inf"))  # Keras has run every batch hook of the epoch
        step = self.updates_before[epoch + 1]
        values = dict(numbers(logs, "epoch/"))
        values.setdefault("epoch/batch_size", self.batch_size(epoch))
        values.update({f"epoch/{k}": v for k, v in self._rate(step - 1).items()})
        self.writer.scalars(step, values)

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self._write_held(float("inf"))
            self.writer.close()
            self.writer = None
