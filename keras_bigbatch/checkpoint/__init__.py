"""Checkpoints of a training run, and its exact resumption (any engine).

```
files.py             local folders and tf.io.gfile URLs, atomic writes
store.py             CheckpointStore: complete-or-absent checkpoints, the last K
run_state.py         every variable that decides the next step, as numpy arrays
run_settings.py      what must not change between a run and its resumption
state_keys.py        the key each stateful callback's state is saved under
preemption.py        PreemptionWatch: SIGTERM as a request to save and stop
run_checkpointer.py  RunCheckpointer: the callback that saves and resumes a run
```

Engines differ only behind `distribute.runtime`: workers, their index and
their agreement are `Runtime` calls. TensorFlow is imported only for URLs
and under tf.distribute.
"""

from keras_bigbatch.checkpoint import files
from keras_bigbatch.checkpoint import run_state
from keras_bigbatch.checkpoint.preemption import Preempted
from keras_bigbatch.checkpoint.preemption import PreemptionWatch
from keras_bigbatch.checkpoint.run_checkpointer import RunCheckpointer
from keras_bigbatch.checkpoint.run_settings import check_settings
from keras_bigbatch.checkpoint.run_settings import settings
from keras_bigbatch.checkpoint.run_settings import settings_differences
from keras_bigbatch.checkpoint.state_keys import saved_states
from keras_bigbatch.checkpoint.state_keys import state_key
from keras_bigbatch.checkpoint.state_keys import stateful_callbacks
from keras_bigbatch.checkpoint.store import Checkpoint
from keras_bigbatch.checkpoint.store import CheckpointError
from keras_bigbatch.checkpoint.store import CheckpointStore

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointStore",
    "Preempted",
    "PreemptionWatch",
    "RunCheckpointer",
    "check_settings",
    "files",
    "run_state",
    "saved_states",
    "settings",
    "settings_differences",
    "state_key",
    "stateful_callbacks",
]
