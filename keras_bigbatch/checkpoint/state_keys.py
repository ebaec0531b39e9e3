"""The names stateful callbacks save their state under in a checkpoint.

A callback with `get_state()` and `set_state(state)` (test accuracy so far,
||w - w0||, batch-size phases, gradient-noise estimates, ...) is saved under
a key it names, not under its place in `callbacks`, so a resumed run may
list its callbacks in another order, or add one, and each gets its own
state back:

```
key of a callback      its `state_key` attribute (a non-empty string), if set;
                       else its class name ("GradientNoiseScale")
stateful_callbacks(cs) {key: callback} of those with get_state/set_state;
                       ValueError naming both when two would share a key
saved_states(s, cs, p) {key: saved state} for the components `cs` a
                       checkpoint `p` has a state for
```

Checkpoints written before keys were named keyed a callback by position
and type, `callback-{index}-{TypeName}`. `saved_states` gives such a state
to the one callback of that type that has none; when several callbacks or
several saved states share a type, which is whose is unknown, and it raises
`CheckpointError` (a callback whose `state_key` is the old key gets that
state, which settles it).
"""

import re

from keras_bigbatch.checkpoint.store import CheckpointError

_POSITIONAL = re.compile(r"^callback-(\d+)-(.+)$")


def state_key(callback):
    """The key `callback`'s state is saved under: `state_key`, or the class name."""
    key = getattr(callback, "state_key", None)
    if key is None:
        return type(callback).__name__
    if not isinstance(key, str) or not key:
        raise ValueError(f"Attribute `state_key` of {type(callback).__name__} must be a "
                         f"non-empty string. Received: state_key={key!r}")
    return key


def is_stateful(callback):
    return hasattr(callback, "get_state") and hasattr(callback, "set_state")


def stateful_callbacks(callbacks, reserved=()):
    """`{state_key(callback): callback}` of every callback with get_state/set_state.

    Args:
        callbacks: a sequence of Keras callbacks.
        reserved: keys that are taken already (the trainer's own
            components, e.g. "accuracies").

    Raises:
        ValueError: two callbacks would share a key, or one would take a
            reserved key (both are named: give one another `state_key`).
    """
    found, index_of = {}, {}
    for index, callback in enumerate(callbacks):
        if not is_stateful(callback):
            continue
        key = state_key(callback)
        name = f"callbacks[{index}] ({type(callback).__name__})"
        if key in reserved:
            raise ValueError(
                f"{name} would save its state under {key!r}, which the trainer's own "
                f"{key!r} uses: give the callback another `state_key` attribute (a string).")
        if key in found:
            first = f"callbacks[{index_of[key]}] ({type(found[key]).__name__})"
            raise ValueError(
                f"{first} and {name} would both save their state under {key!r}: give one "
                "of them another `state_key` attribute (a string).")
        found[key], index_of[key] = callback, index
    return found


def saved_states(saved, components, path):
    """`{key: state}` of the `components` that the checkpoint's `saved` states cover.

    Args:
        saved: the checkpoint's `{key: state}` of components.
        components: this run's `{key: component}`.
        path: the checkpoint's manifest (named in errors).

    Returns:
        A component's own key's state if saved; else, for a checkpoint
        written before keys were named, the state saved by position
        (`callback-{i}-{Type}`) of the one callback of its type.

    Raises:
        CheckpointError: positional states and this run's callbacks share a
            type but not one to one (which is whose is unknown).
    """
    found = {key: saved[key] for key in components if key in saved}
    positional = {}  # type name -> saved positional keys no component has
    for key in sorted(saved, key=_position):
        match = _POSITIONAL.match(key)
        if match and key not in components:
            positional.setdefault(match.group(2), []).append(key)
    waiting = {}  # type name -> this run's keys without a saved state
    for key, component in components.items():
        if key not in found:
            waiting.setdefault(type(component).__name__, []).append(key)
    for type_name, old_keys in positional.items():
        new_keys = waiting.get(type_name, [])
        if len(old_keys) == 1 and len(new_keys) == 1:
            found[new_keys[0]] = saved[old_keys[0]]
        elif new_keys:
            raise CheckpointError(
                f"{path} saved the state of {len(old_keys)} callback(s) of type {type_name} by "
                f"their place in `callbacks` ({', '.join(old_keys)}), and this run has "
                f"{len(new_keys)} of that type without a saved state "
                f"({', '.join(repr(k) for k in new_keys)}): which state is whose is "
                "ambiguous. Give each of them the `state_key` its state was saved under "
                f"(state_key={old_keys[0]!r} for the callback that was "
                f"callbacks[{_position(old_keys[0])}] in the run that saved it), or remove "
                "the folder to start over.")
    return found


def _position(key):
    match = _POSITIONAL.match(key)
    return int(match.group(1)) if match else -1
