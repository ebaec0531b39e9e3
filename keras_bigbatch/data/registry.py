"""Data sources by name: `register_source` and `get_source`."""

from keras_bigbatch.registry import Registry

# {name: Entry}, the table of the source registry. `_sources()` reads it at
# each call, so a test can register into a copy for its own duration:
# `monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))`.
_FACTORIES = {}


def _sources():
    """The registry of data sources (a `keras_bigbatch.registry.Registry`)."""
    return Registry("data source", "data.source", entries=_FACTORIES)


def register_source(name):
    """Decorator: registers `factory(**args) -> DataSource` under `name`.

    The factory's keyword arguments are the recipe's `data` section (less
    `source`); `get_source` checks them against its signature. Registering
    a taken name with another factory raises `ValueError`, unless it is the
    same definition run again (a re-run notebook cell, an edited recipe
    file loaded again), which replaces it.
    """
    return _sources().register(name)


def source_names():
    """Names of the registered data sources, sorted."""
    return _sources().names()


def source_arguments(name):
    """The keyword arguments (and defaults) the source `name` takes."""
    return _sources().arguments(name)


def get_source(name, **args):
    """Builds the registered source `name` with `args` (checked by name first)."""
    return _sources().build(name, **args)
