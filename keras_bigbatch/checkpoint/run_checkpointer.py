"""`RunCheckpointer`: checkpoints a trainer run and resumes it at the exact step.

A checkpoint at update t holds everything that decides update t + 1:

```
arrays    weights, optimizer slots and iterations (hence the learning rate,
          a function of iterations), dropout seed states, the running metric
          totals of the unfinished epoch (run_state.capture)
state     epoch e and batches b done in it; the History of finished epochs;
          the state of every stateful callback (test accuracy so far,
          ||w - w0||, batch-size phases, gradient-noise estimates: anything
          with get_state/set_state, each under its own key: state_keys.py);
          wall time so far; the run's settings (run_settings.py)
data      nothing: the data source's batch t is a pure function of (seed, t),
          so the resumed run reads from step t on (DataSource start_step)
```

Saves happen after the step that crosses a multiple of `every_steps`, or
`every_seconds` after the previous save, and at every epoch end that is due;
the last batch of an epoch defers to the epoch end, so a checkpoint is
always "b < steps of epoch e" and never an epoch whose end-of-epoch work
(test accuracy, logs) is half done. A resumed run trains the rest of epoch e
in one `fit` whose metrics start from the saved totals, then the following
epochs in a second one; weights, History and results equal an
uninterrupted run's, bit for bit under op determinism (tested with SIGKILL
at random steps).

Under MultiWorkerMirroredStrategy every worker runs this callback in step:
the save decision (time, SIGTERM) is agreed by an all-gather each step
(`Runtime.all_gather`, whatever the engine); every worker writes its own
metric shares (`ckpt-N.worker-i.npz`), waits at a barrier, and only then
does worker 0 write the arrays and the manifest that makes checkpoint N
exist. On restart the workers agree on the newest
checkpoint that every one of them can read. The folder must be one that
every worker reads (a shared disk or `gs://`), as for Keras's BackupAndRestore.

Per step the callback counts and reads the clock (and, multi-worker, makes
one small all-gather); it uses a batch-end hook, which costs nothing extra
on TensorFlow, where Keras converts every step's logs to Python numbers
anyway (its TensorFlow backend dispatches callbacks synchronously). A
resumed epoch's metric totals are added after its first step, so the
trainer's compiled metrics must be sums (Keras's Mean-based `loss` and
`accuracy` are). Any backend: under keras.distribution (JAX) every
process saves the same global state, and the agreement is a process
all-gather.
"""

import copy
import time
import warnings

import keras
import numpy as np

from keras_bigbatch.checkpoint import run_state
from keras_bigbatch.checkpoint.preemption import Preempted
from keras_bigbatch.checkpoint.run_settings import settings
from keras_bigbatch.checkpoint.run_settings import settings_differences
from keras_bigbatch.checkpoint.state_keys import saved_states
from keras_bigbatch.checkpoint.store import CheckpointError
from keras_bigbatch.checkpoint.store import CheckpointStore
from keras_bigbatch.distribute.runtime import runtime_for


class RunCheckpointer(keras.callbacks.Callback):
    """Saves a trainer run every `every_steps` updates or `every_seconds`, and resumes it.

    The trainer builds it (`trainer.fit(..., checkpoint_dir=DIR)`), calls
    `restore()` before training, passes it last in `fit`'s callbacks and
    calls `save_final(result)` when the run is done.

    Args:
        directory: the run's checkpoint folder (local or any `tf.io.gfile` path).
        config: the resolved run config (its `checkpoint` section sets
            `every_steps`, `every_seconds` and `keep`).
        strategy: the run's `tf.distribute.Strategy`, `KerasDistribution`,
            or their `Runtime` (see `distribute.runtime.runtime_for`).
        components: `{name: object with get_state()/set_state(state)}`: the
            stateful callbacks whose state goes into every checkpoint, each
            under its name (a run's own callbacks: `stateful_callbacks`).
        epoch_steps: `epoch -> full number of steps of that epoch`.
        watch: a `PreemptionWatch` (SIGTERM) or None.
        verbose: print where the run resumed.
    """

    def __init__(self, directory, config, strategy, components, epoch_steps, watch=None,
                 verbose=True):
        super().__init__()
        options = config["checkpoint"]
        self.store = CheckpointStore(directory, options["keep"])
        self.every_steps, self.every_seconds = options["every_steps"], options["every_seconds"]
        self.runtime = runtime_for(strategy)
        self.config, self.strategy = config, self.runtime.strategy
        self.components, self.epoch_steps = components, epoch_steps
        self.watch, self.verbose = watch, verbose
        self.settings = settings(config, self.runtime.num_replicas, self.runtime.num_workers)
        self.multi_worker = self.runtime.is_multi_worker
        self.task = self.runtime.worker_index
        self.history = {}
        self.epoch, self.batches_done = 0, 0
        self.wall_time_before = 0.0
        self._session_start = time.perf_counter()
        self._last_save_step, self._last_save_time = 0, time.monotonic()
        self._metrics = None  # the resumed epoch's metric totals, set at its start
        self._resume_epoch = None
        self._epoch_start_step = 0

    # ----- restoring
    def _suffixes(self):
        return (f".worker-{self.task}.npz",) if self.multi_worker else ()

    def _choose(self):
        """The checkpoint to resume from (every worker the same), or None."""
        if not self.multi_worker:
            return self.store.latest()
        # Newest first; a step is chosen only once every worker read it whole.
        bound, any_steps = None, bool(self.store.steps())
        seen = self.runtime.all_gather([any_steps])
        if seen.max() != seen.min():  # every worker raises, so none waits for the others
            raise CheckpointError(
                f"Some workers find checkpoints in {self.store.directory} and some do not "
                f"(worker {self.task}: {'some' if any_steps else 'none'}): every worker must "
                "read the chief's folder (a shared disk or gs://).")
        while True:
            try:
                checkpoint = self.store.latest(self._suffixes(), at_most=bound)
            except CheckpointError as error:
                checkpoint, failure = None, error
            else:
                failure = None
            mine = -1 if checkpoint is None else checkpoint.step
            chosen = int(self.runtime.all_gather([mine]).min())
            if chosen < 0:
                if self.runtime.agree_any(any_steps):
                    raise failure or CheckpointError(
                        f"No checkpoint in {self.store.directory} is usable by every worker.")
                return None
            if not self.runtime.agree_any(mine != chosen):
                return checkpoint
            # Someone cannot read a newer one: all look again at `chosen` and
            # before (the minimum falls until every worker reads the same).
            bound = chosen

    def restore(self):
        """Loads the newest usable checkpoint into the model and the components.

        Returns:
            None (nothing to resume), or the checkpoint's state dict, which
            holds `finished` and, for a finished run, `result`.

        Raises:
            CheckpointError: the checkpoint was written with other settings
                (every differing key listed), or checkpoints exist and none
                is usable (every file named).
        """
        checkpoint = self._choose()
        if checkpoint is None:
            return None
        state = checkpoint.state
        differences = settings_differences(state["settings"], self.settings)
        if differences:
            raise CheckpointError(
                f"{checkpoint.path} was written by run {self.config['name']!r} with other "
                "settings; differing keys:\n  " + "\n  ".join(differences))
        if self.task == 0:  # damaged newer ones must not outrank the next saves
            self.store.discard_newer(checkpoint.step)
        run_state.build_optimizer(self.model, self.strategy)
        try:
            run_state.restore(self.model, checkpoint.arrays, self.strategy,
                              groups=("model", "optimizer"))
        except ValueError as error:
            raise CheckpointError(f"{checkpoint.path}: {error}") from None
        self.history = copy.deepcopy(state["history"])
        self.epoch, self.batches_done = state["epoch"], state["batches_done"]
        self.wall_time_before = state["wall_time_s"]
        saved = saved_states(state["components"], self.components, checkpoint.path)
        for name, component in self.components.items():
            if name in saved:
                component.set_state(saved[name])
            else:
                warnings.warn(f"{checkpoint.path} holds no state for callback {name}: it "
                              "starts afresh, and the resumed run may differ.", stacklevel=2)
        if self.batches_done:
            self._metrics = checkpoint.arrays
            self._resume_epoch = self.epoch
        self._last_save_step = checkpoint.step
        if self.verbose:  # every worker: they must all say the same
            where = ("finished" if state["finished"] else
                     f"epoch {self.epoch + 1}, {self.batches_done} of "
                     f"{self.epoch_steps(self.epoch)} steps done")
            print(f"[{self.config['name']}] resumed from {checkpoint.path}: step "
                  f"{checkpoint.step} ({where})", flush=True)
        return state

    # ----- saving
    def _state(self, step, finished=False, result=None):
        return {
            "settings": self.settings, "step": step, "epoch": self.epoch,
            "batches_done": self.batches_done, "history": self.history,
            "wall_time_s": self.wall_time_s(), "finished": finished, "result": result,
            "components": {name: c.get_state() for name, c in self.components.items()},
        }

    def wall_time_s(self):
        """Training time over every session of this run."""
        return self.wall_time_before + time.perf_counter() - self._session_start

    def save(self, step, finished=False, result=None):
        """Writes checkpoint `step` (every worker takes part); returns its manifest path."""
        extra = None
        if self.multi_worker:
            failure = None
            try:
                self.store.save_arrays(step, run_state.capture(self.model, self.strategy, True),
                                       self._suffixes()[0])
            except Exception as error:
                failure = error
            # A barrier (every worker's shares are on disk) that also tells every
            # worker if one failed, so that none waits for the others forever.
            if self.runtime.agree_any(failure is not None):
                raise failure or RuntimeError(
                    f"Another worker could not write its part of checkpoint {step}; see its log.")
            extra = {f".worker-{i}.npz": None for i in range(self.runtime.num_workers)}
        path, failure = self.store.manifest_path(step), None
        if self.task == 0:
            arrays = run_state.capture(self.model, self.strategy)
            try:
                path = self.store.save(step, arrays, self._state(step, finished, result), extra)
            except Exception as error:  # every worker must hear of it, or they would wait
                failure = error
        if self.multi_worker and self.runtime.agree_any(failure is not None):
            raise failure or RuntimeError(
                f"Worker 0 could not write checkpoint {path}; see its log.")
        if failure is not None:
            raise failure
        self._last_save_step, self._last_save_time = step, time.monotonic()
        return path

    def save_final(self, result):
        """The finished run's checkpoint, with its result (a rerun returns it)."""
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.epoch, self.batches_done = len(self.history.get("loss", ())), 0
        return self.save(step, finished=True, result=result)

    def _due(self, step):
        due = bool(self.every_steps) and (
            step // self.every_steps > self._last_save_step // self.every_steps)
        due = due or (self.every_seconds is not None
                      and time.monotonic() - self._last_save_time >= self.every_seconds)
        stop = bool(self.watch is not None and self.watch.requested)
        if self.multi_worker:  # every worker decides the same
            due, stop = (bool(v) for v in self.runtime.all_gather([due, stop]).max(axis=0))
        return due, stop

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._epoch_start_step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if epoch != self._resume_epoch:
            self.batches_done = 0
        self._offset = self.batches_done

    def on_train_batch_end(self, batch, logs=None):
        if self._metrics is not None:
            # The resumed epoch: Keras reset its metric totals (and may only
            # now have created them); continue the saved ones. Mean metrics
            # keep sums, and after one step `saved + current` is exactly the
            # `saved + batch` an uninterrupted run computes.
            run_state.restore(self.model, self._metrics, self.strategy, groups=("metrics",),
                              add=True)
            self._metrics = None
        self.batches_done = self._offset + batch + 1
        if self.batches_done >= self.epoch_steps(self.epoch):
            return  # the epoch's end saves (its logs and test accuracy included)
        step = self._epoch_start_step + batch + 1
        due, stop = self._due(step)
        if due or stop:
            path = self.save(step)
            if stop:
                raise Preempted(step, path)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(
                float(value) if isinstance(value, (int, float, np.number)) else value)
        self.epoch, self.batches_done = epoch + 1, 0
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        due, stop = self._due(step)
        if due or stop:
            path = self.save(step)
            if stop:
                raise Preempted(step, path)
