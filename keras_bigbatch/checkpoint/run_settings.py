"""What must not change between a run and its resumption, and the check before training.

```
settings(config, R, W)          the flat dict every checkpoint records
settings_differences(old, new)  ["key: checkpoint X, now Y", ...]
check_settings(dir, config, s)  CheckpointError naming every differing key,
                                from the newest readable manifest (JSON only)
```

The `keras-bigbatch` command calls `check_settings` for every run before it
trains any; `RunCheckpointer.restore` checks the checkpoint it resumes from.
"""

import keras

from keras_bigbatch.checkpoint.store import CheckpointError
from keras_bigbatch.checkpoint.store import CheckpointStore
from keras_bigbatch.distribute.runtime import runtime_for

# Config sections and keys that may change between a run and its resumption:
# how often to save, whether missing data may be downloaded (the data are the
# same either way), and the micro batch (the update is the same either way:
# keras_bigbatch.micro_batching).
_FREE = ("checkpoint", "data.download", "micro_batch_size")


def settings(config, num_replicas, num_workers=1):
    """What must not change between a run and its resumption (a flat dict):
    the config but its `checkpoint` section, `data.download` and
    `micro_batch_size`, the
    replicas and workers (each replica keeps its own share of the running
    metric totals), and, off TensorFlow, the Keras backend (`keras_backend`:
    numpy batches follow another data order than tf.data's, and
    keras.distribution keeps one metric total where tf.distribute keeps one
    per replica). TensorFlow runs leave the key out, as before it existed."""
    flat = {"num_replicas": num_replicas, "num_workers": num_workers}
    if keras.backend.backend() != "tensorflow":
        flat["keras_backend"] = keras.backend.backend()

    def walk(value, prefix):
        if isinstance(value, dict):
            for key, entry in value.items():
                walk(entry, f"{prefix}.{key}" if prefix else str(key))
        elif prefix not in _FREE:
            flat[prefix] = list(value) if isinstance(value, tuple) else value

    walk({k: v for k, v in config.items() if k not in _FREE}, "")
    return flat


# Keys added to the config after checkpoints were first written, with the
# value that reproduces what a checkpoint without them trained: absent in a
# checkpoint and at this value now is no difference.
ADDED_KEYS = {"schedule.updates": None, "schedule.convention": "whole_steps"}


def settings_differences(saved, current):
    """`["key: checkpoint X, now Y", ...]` for every key that differs (a key
    of `ADDED_KEYS` absent from `saved` counts as its value there)."""
    lines = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key, "(absent)"), current.get(key, "(absent)")
        if key in ADDED_KEYS and key not in saved:
            old = ADDED_KEYS[key]
        if old != new:
            lines.append(f"{key}: checkpoint {old!r}, now {new!r}")
    return lines


def check_settings(directory, config, strategy):
    """Raises `CheckpointError` if `directory`'s newest readable manifest was
    written with other settings (lists every differing key). Reads JSON only.

    `strategy`: the run's `tf.distribute.Strategy`, `KerasDistribution` or
    `Runtime` (see `distribute.runtime.runtime_for`)."""
    runtime = runtime_for(strategy)
    store = CheckpointStore(directory)
    current = settings(config, runtime.num_replicas, runtime.num_workers)
    for step in reversed(store.steps()):
        try:
            manifest = store.read_manifest(step)
        except CheckpointError:
            continue
        saved = manifest["state"].get("settings", {})
        differences = settings_differences(saved, current)
        if differences:
            raise CheckpointError(
                f"{directory} holds run {config['name']!r} trained with other settings; "
                "differing keys:\n  " + "\n  ".join(differences) +
                "\nRerun with the checkpoint's settings to resume it, or give another "
                "--output (or remove that folder) to start over.")
        return
