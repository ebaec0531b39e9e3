"""What a run prints while it trains, and the callbacks that show a run.

`Progress` prints two kinds of lines (the values are examples):

```
[A] epoch 2/3  batch 12/21  step 33/63  loss 0.4523  5120 examples/s  ETA 14s
[A] epoch 2/3  loss 0.4102  accuracy 0.8812  test_accuracy 0.9012  5232 examples/s  9s
```

* inside an epoch, at most every `interval` seconds: the epoch, the batch
  in it, the update (`step`) out of the run's, the loss (Keras's running
  mean over the epoch so far), examples per second since the previous line
  of the epoch (global batch x updates / s) and the ETA of the run's last
  update (the updates left x the seconds per update so far, evaluations
  included, the first update of a fit, which compiles, left out);
* at the end of about `lines` epochs (and of the last): the epoch's metrics
  (loss, accuracy, val_accuracy, test_accuracy where measured), its
  examples per second (its first update left out) and the seconds since
  the run began.

"n/a" stands where a value is not known yet (a rate before two updates, an
ETA before the second update). On a terminal the line inside an epoch is
redrawn in place; elsewhere (a log file, a notebook's captured output) each
is a new line, so the interval is longer.

verbose   lines inside epochs         epoch lines
0         none                        none
1         every 1 s (terminal),       about `lines` per run
          every 15 s (not)
2         every 0.5 s, every 5 s      every epoch

The batch-end hook is O(1) (the clock, one comparison); it reads the loss
only for a line it prints. It declares `async_safe`, so on JAX and PyTorch
Keras keeps dispatching steps asynchronously and runs the hook on its
thread pool, after it has turned the logs into Python numbers (which it
does for every step anyway); on TensorFlow Keras calls it in the loop.
"""

import math
import sys
import threading
import time

import keras

from keras_bigbatch.callbacks._steps import optimizer_steps

_INTERVALS = {1: (1.0, 15.0), 2: (0.5, 5.0)}  # verbose -> (terminal, not a terminal) seconds
EPOCH_KEYS = ("loss", "accuracy", "val_accuracy", "test_accuracy")


def format_duration(seconds):
    """`45s`, `12m05s`, `3h07m`; "n/a" for None or nan."""
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        return "n/a"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_rate(examples, seconds):
    """`5120 examples/s`, or `n/a examples/s` without a measured interval."""
    if not examples or not seconds or seconds <= 0:
        return "n/a examples/s"
    return f"{examples / seconds:.0f} examples/s"


def _number(logs, key):
    value = (logs or {}).get(key)
    return "n/a" if value is None else f"{float(value):.4f}"


class Progress(keras.callbacks.Callback):
    """Progress lines inside epochs and at their ends (see the module docstring).

    Args:
        name: the run's name, the lines' prefix.
        updates_before: updates before epoch e, e = 0 .. epochs: the last
            entry is the run's updates (`Run.updates_before[:stop + 1]`).
        batch_size: `epoch -> global batch size`, or an int.
        verbose: 1 or 2 (see the module docstring).
        lines: about this many epoch lines per run at `verbose=1`.
        interval: seconds between lines inside an epoch (default: by
            `verbose` and whether `stream` is a terminal).
        stream: where to print (default: `sys.stdout`).
    """

    async_safe = True

    def __init__(self, name, updates_before, batch_size, verbose=1, lines=5, interval=None,
                 stream=None):
        super().__init__()
        self.name, self.updates_before = name, tuple(updates_before)
        self.epochs = len(self.updates_before) - 1
        self.batch_size = batch_size if callable(batch_size) else (lambda epoch: batch_size)
        self.stream = stream or sys.stdout
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        verbose = 2 if verbose >= 2 else 1
        self.interval = interval if interval is not None else (
            _INTERVALS[verbose][0 if self.terminal else 1])
        self.every = 1 if verbose == 2 else max(1, self.epochs // lines)
        self.start = time.perf_counter()
        self._lock = threading.Lock()
        self._first = None  # (update, time) at the first batch end of the fit
        self._epoch = self._epoch_start = 0
        self._next = math.inf
        self._epoch_first = self._mark = self._last = None
        self._drawn = False  # a line redrawn in place is on the terminal

    def on_train_begin(self, logs=None):
        self._first = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._epoch_start = epoch, optimizer_steps(self.model)
        self._epoch_first = self._mark = self._last = None
        self._next = time.perf_counter()  # the first batch end sets the marks

    def on_train_batch_end(self, batch, logs=None):
        self._last = now = time.perf_counter()
        if now < self._next:
            return
        with self._lock:
            step = self._epoch_start + batch + 1
            if self._epoch_first is None:  # this epoch's (and fit's) first batch end
                self._epoch_first = self._mark = (step, now)
                self._first = self._first or (step, now)
                self._next = now + self.interval
                return
            if step <= self._mark[0]:  # a late call from Keras's thread pool
                return
            self._emit(self._line(step, now, logs), redraw=True)
            self._mark, self._next = (step, now), now + self.interval

    def _line(self, step, now, logs):
        epoch, total = self._epoch, self.updates_before[-1]
        batch = step - self.updates_before[epoch]
        rate = format_rate((step - self._mark[0]) * self.batch_size(epoch), now - self._mark[1])
        eta = None
        if self._first is not None and step > self._first[0]:
            eta = (total - step) * (now - self._first[1]) / (step - self._first[0])
        return (f"[{self.name}] epoch {epoch + 1}/{self.epochs}  batch {batch}/"
                f"{self.updates_before[epoch + 1] - self.updates_before[epoch]}  step "
                f"{step}/{total}  loss {_number(logs, 'loss')}  {rate}  ETA {format_duration(eta)}")

    def on_epoch_end(self, epoch, logs=None):
        now, end = time.perf_counter(), self._last  # end: the epoch's last batch end
        self._next = math.inf  # no batch line between epochs
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        parts = [f"[{self.name}] epoch {epoch + 1}/{self.epochs}"]
        parts += [f"{key} {_number(logs, key)}" for key in EPOCH_KEYS if key in (logs or {})]
        first, last = self._epoch_first, self.updates_before[epoch + 1]
        parts.append(format_rate(first and (last - first[0]) * self.batch_size(epoch),
                                 first and end - first[1]))
        parts.append(format_duration(now - self.start))
        self._emit("  ".join(parts), redraw=False)

    def on_train_end(self, logs=None):
        if self._drawn:
            self._emit("", redraw=False)

    def _emit(self, line, redraw):
        """Prints `line`; on a terminal a `redraw` line replaces the previous one."""
        if self.terminal:
            end = "" if redraw else "\n"
            print(f"\r\x1b[K{line}", end=end, file=self.stream, flush=True)
            self._drawn = redraw
        elif line:
            print(line, file=self.stream, flush=True)


def run_callbacks(run, stop, *, verbose=True, log_dir=None):
    """The callbacks that show a run: `Progress` lines (`verbose` 1 or 2;
    none for 0/False) and TensorBoard scalars in `log_dir` (`RunLogs`,
    written by the chief worker only; None: none).

    Args:
        run: the run's `Run` (training/plan.py).
        stop: the epoch the fit stops at (the run's `epochs`, or fewer).
        verbose: False/0, True/1 or 2.
        log_dir: a folder for TensorBoard event files, or None.
    """
    updates_before = run.updates_before[:stop + 1]
    if run.growth is not None:
        batch_size = run.growth.batch_size
    else:
        batch_size = lambda epoch: run.global_batch_size  # noqa: E731
    callbacks = []
    if verbose:
        callbacks.append(Progress(run.name, updates_before, batch_size, verbose=int(verbose)))
    if log_dir is not None and run.runtime.worker_index == 0:
        from keras_bigbatch.training.run_logs import RunLogs

        callbacks.append(RunLogs(log_dir, updates_before, run.learning_rate_schedule(),
                                 batch_size))
    return callbacks
