"""Every variable that decides a model's next training step, as numpy arrays.

Keras creates the optimizer's slots and the compiled metrics' totals when
`fit` first traces its step: `build_optimizer` creates the former early, and
a resumed epoch's metric totals are added after its first step
(`restore(..., add=True)`).

```
model.variables          weights, normalization statistics, dropout seeds
optimizer.variables      iterations, slots (momentum, ...), loss scale
model.metrics_variables  the running totals behind an epoch's logged loss
                         and metrics (Keras resets them at each epoch start)
```

Under a `tf.distribute` strategy a variable has one component per local
replica: mirrored ones hold the same value everywhere, sync-on-read ones
(metric totals, unsynchronized statistics) hold each replica's own share.
`capture` stores every local component, so a restored replica continues
from its own share and the epoch's reduced logs come out the same as an
uninterrupted run's. Under MultiWorkerMirroredStrategy the shares of the
other workers' replicas live on those workers: `capture(local_only=True)`
returns just the sync-on-read variables, which each worker saves for itself.

`strategy` is what the run trains under: a `tf.distribute.Strategy`, a
`KerasDistribution`, a `Runtime` of either (`distribute.runtime`), or None.
"""

import numpy as np

from keras_bigbatch.distribute.runtime import runtime_for

GROUPS = ("model", "optimizer", "metrics")


def variables(model):
    """`[(key, variable)]` of everything `capture` stores, in a fixed order."""
    found, seen = [], set()
    groups = (("model", model.variables), ("optimizer", model.optimizer.variables),
              ("metrics", model.metrics_variables))
    for group, group_variables in groups:
        index = 0
        for variable in group_variables:
            if id(variable) in seen:
                continue
            seen.add(id(variable))
            # Not the path: Keras numbers names per process (sgd, sgd_1, ...).
            found.append((f"{group}/{index}", variable))
            index += 1
    return found


def _components(runtime, variable):
    if runtime is None:
        return [variable]  # one value; a Keras variable has numpy() and assign() everywhere
    return runtime.local_values(variable)


def _runtime(strategy):
    return None if strategy is None else runtime_for(strategy)


def capture(model, strategy=None, local_only=False):
    """`{key/replica: numpy array}` of every local component of `variables(model)`.

    Args:
        model: a compiled, built Keras model.
        strategy: its `tf.distribute.Strategy`, `KerasDistribution` or
            `Runtime` (None: no distribution).
        local_only: only sync-on-read variables (each worker's own shares).
    """
    arrays, runtime = {}, _runtime(strategy)
    for key, variable in variables(model):
        if local_only and not (runtime or runtime_for(None)).is_replica_local(variable):
            continue
        for index, component in enumerate(_components(runtime, variable)):
            arrays[f"{key}/{index}"] = np.asarray(component.numpy())
    return arrays


def build_optimizer(model, strategy=None):
    """Creates the optimizer's variables now (Keras would at the first step)."""
    if model.optimizer.built:
        return
    if strategy is None:
        model.optimizer.build(model.trainable_variables)
        return
    with strategy.scope():  # a Runtime's scope() is its strategy's
        model.optimizer.build(model.trainable_variables)


def restore(model, arrays, strategy=None, groups=GROUPS, add=False):
    """Assigns `arrays` (from `capture`) to the model's variables in `groups`.

    With `add=True` each variable becomes `saved + current` instead: how a
    resumed epoch's metric totals continue (see `RunCheckpointer`).

    A variable saved with as many components as it has here gets each one
    back; one saved with another count (another device count) gets the first
    saved component everywhere, which is exact for mirrored variables.

    Raises:
        ValueError: a variable has no saved value, or a different shape
            (the checkpoint belongs to another model).
    """
    missing, runtime = [], _runtime(strategy)
    for key, variable in variables(model):
        if key.split("/", 1)[0] not in groups:
            continue
        components = _components(runtime, variable)
        saved = [arrays.get(f"{key}/{index}") for index in range(len(components))]
        if saved[0] is None:
            missing.append(key)
            continue
        if any(s is None for s in saved):
            saved = [saved[0]] * len(components)
        for component, value in zip(components, saved):
            if tuple(value.shape) != tuple(component.shape):
                raise ValueError(
                    f"The checkpoint's {key} ({variable.path}) has shape {value.shape}, the model's "
                    f"{tuple(component.shape)}: the checkpoint belongs to another model.")
            component.assign(value + component.numpy() if add else value)
    if missing:
        raise ValueError(f"The checkpoint has no value for {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}: it belongs to another model.")
