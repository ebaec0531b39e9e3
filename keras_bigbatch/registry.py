"""Names for recipes and the command line: one `Registry` class (the ground floor: no imports).

Data sources, models, optimizers, losses and recipes are each one `Registry`
(in `data/registry.py`, `training/registry.py` and `training/recipes.py`), so
every name resolves, lists and fails the same way:

```
registry.register(name, value, **metadata)   or   @registry.register(name)
registry.lookup(name)          value; unknown: "Argument `model.name` must name a
                               registered model, one of [...]. Received: model.name='x'"
registry.arguments(name)       {keyword: default} of the value's signature
registry.check_arguments(name, args)
                               unknown: "Model 'mlp' takes the arguments [...];
                               unknown: [...]. Received: {...}"
registry.build(name, *args, **kwargs)   checked, then value(*args, **kwargs)
registry.metadata(name)        what an entry carries besides its value
```

A `Registry` is a mutable mapping of its table (`{name: value}`, in
registration order); `lookup` also tries its `fallback` (optimizers: Keras's
own names).
"""

import collections.abc
import dataclasses
import inspect
import types

_DECORATE = object()  # `register(name)` without a value: returns a decorator


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered name: its value and what else it carries (`metadata`)."""

    name: str
    value: object
    metadata: types.MappingProxyType = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({}))


def signature_arguments(function, skip=()):
    """`{keyword: default}` of `function`'s named parameters, less `skip`.

    `*args` and `**kwargs` are left out; a parameter without a default maps
    to `inspect.Parameter.empty`.
    """
    return {
        p.name: p.default for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in skip
    }


class Registry(collections.abc.MutableMapping):
    """Values by name, with their arguments checked and one wording for errors.

    Args:
        kind: what an entry is, in messages: `"model"`, `"data source"`.
        argument: the config key that names an entry, in messages:
            `"model.name"`, `"data.source"`.
        skip: parameters the caller always passes itself, left out of
            `arguments` (models: `("input_shape", "num_classes")`).
        arguments: `value -> {keyword: default}` (default:
            `signature_arguments(value, skip)`).
        fallback: `name -> value or None`, tried by `lookup` for a name not
            in the table (optimizers: Keras's own names).
        alternatives: what else `argument` may be, appended to the list of
            names in the unknown-name message (`"or a Keras optimizer name"`).
        replace: whether registering a taken name with another value
            replaces it (models, losses: a notebook cell run again); by
            default it raises. The same value again is always fine.
        entries: the dict holding `{name: Entry}` (default: a new one); a
            registry over a module's dict lets a test swap in a copy.

    Example:

        >>> models = Registry("model", "model.name")
        >>> @models.register("tiny")
        ... def tiny(units=8):
        ...     return units
        >>> models.names(), models.arguments("tiny"), models.build("tiny", units=4)
        (['tiny'], {'units': 8}, 4)

        and `models.lookup("huge")` raises "Argument `model.name` must name a
        registered model, one of ['tiny']. Received: model.name='huge'".
    """

    def __init__(self, kind, argument, *, skip=(), arguments=None, fallback=None,
                 alternatives="", replace=False, entries=None):
        self.kind = kind
        self.argument = argument
        self._skip = tuple(skip)
        self._arguments = arguments
        self._fallback = fallback
        self._alternatives = alternatives
        self._replace = replace
        self._entries = {} if entries is None else entries

    # The mapping: the table only (no fallback).

    def __getitem__(self, name):
        return self._entries[name].value

    def __setitem__(self, name, value):
        self._entries[name] = Entry(name, value)

    def __delitem__(self, name):
        del self._entries[name]

    def __iter__(self):
        return iter(self._entries)

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        return f"Registry({self.kind!r}, {self.names()})"

    # Registering and looking up.

    def register(self, name, value=_DECORATE, /, **metadata):
        """Registers `value` as `name`; without `value`, a decorator that does.

        Returns `value`. Raises `ValueError` if `name` is not a non-empty
        string, or is taken by another value (unless `replace`). The same
        definition run again (a re-run notebook cell, an edited recipe file
        loaded again: same module and qualified name, not a lambda) replaces
        the entry.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"Argument `name` must be a non-empty string naming a {self.kind}. "
                f"Received: name={name!r}")
        if value is _DECORATE:
            return lambda decorated: self.register(name, decorated, **metadata)
        taken = self._entries.get(name)
        if (taken is not None and taken.value is not value and not self._replace
                and not _redefined(taken.value, value)):
            raise ValueError(f"A {self.kind} named {name!r} is already registered.")
        if taken is None or taken.value is not value or metadata:
            self._entries[name] = Entry(name, value, types.MappingProxyType(dict(metadata)))
        return value

    def names(self):
        """The registered names (the table, not the fallback), sorted."""
        return sorted(self._entries)

    def entry(self, name):
        """The `Entry` of `name` (a fallback value carries no metadata)."""
        if name in self._entries:
            return self._entries[name]
        value = self._fallback(name) if self._fallback is not None else None
        if value is None:
            raise ValueError(self.unknown_name_message(name))
        return Entry(name, value)

    def lookup(self, name):
        """The value registered as `name`, else the fallback's; raises `ValueError`."""
        return self.entry(name).value

    def metadata(self, name):
        """What the entry `name` carries besides its value (read-only)."""
        return self.entry(name).metadata

    def unknown_name_message(self, name):
        """The one wording for a name that is neither registered nor a fallback."""
        alternatives = f", {self._alternatives}" if self._alternatives else ""
        return (f"Argument `{self.argument}` must name a registered {self.kind}, one of "
                f"{self.names()}{alternatives}. Received: {self.argument}={name!r}")

    # Arguments.

    def arguments(self, name):
        """`{keyword: default}` that the entry `name` takes (less `skip`)."""
        value = self.lookup(name)
        if self._arguments is not None:
            return self._arguments(value)
        return signature_arguments(value, self._skip)

    def check_arguments(self, name, args):
        """Raises `ValueError` naming every key of `args` that `name` does not take."""
        valid = self.arguments(name)
        unknown = sorted(set(args) - set(valid))
        if unknown:
            raise ValueError(
                f"{self.kind[:1].upper()}{self.kind[1:]} {name!r} takes the arguments "
                f"{sorted(valid)}; unknown: {unknown}. Received: {dict(args)!r}")

    def build(self, name, /, *args, **kwargs):
        """`value(*args, **kwargs)` of `name`, its keyword arguments checked first."""
        self.check_arguments(name, kwargs)
        return self.lookup(name)(*args, **kwargs)


def _redefined(old, new):
    """Whether `new` is `old`'s definition run again (module and qualified name)."""
    names = [(getattr(v, "__module__", None), getattr(v, "__qualname__", None))
             for v in (old, new)]
    return names[0] == names[1] and None not in names[0] and "<lambda>" not in names[0][1]
