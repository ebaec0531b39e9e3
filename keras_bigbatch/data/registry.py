"""Data sources by name: `register_source` and `get_source`."""

import inspect

_FACTORIES = {}


def register_source(name):
    """Decorator: registers `factory(**args) -> DataSource` under `name`.

    The factory's keyword arguments are the recipe's `data` section (less
    `source`); `get_source` checks them against its signature.
    """

    def decorate(factory):
        if name in _FACTORIES and _FACTORIES[name] is not factory:
            raise ValueError(f"A data source named {name!r} is already registered.")
        _FACTORIES[name] = factory
        return factory

    return decorate


def source_names():
    """Names of the registered data sources, sorted."""
    return sorted(_FACTORIES)


def source_arguments(name):
    """The keyword arguments (and defaults) the source `name` takes."""
    factory = _factory(name)
    return {p.name: p.default for p in inspect.signature(factory).parameters.values()}


def _factory(name):
    if name not in _FACTORIES:
        raise ValueError(
            f"Argument `data.source` must be a registered data source, one of "
            f"{source_names()}. Received: data.source={name!r}"
        )
    return _FACTORIES[name]


def get_source(name, **args):
    """Builds the registered source `name` with `args` (checked by name first)."""
    valid = source_arguments(name)
    unknown = sorted(set(args) - set(valid))
    if unknown:
        raise ValueError(
            f"Data source {name!r} takes the arguments {sorted(valid)}; unknown: "
            f"{unknown}. Received: {args!r}"
        )
    return _factory(name)(**args)
