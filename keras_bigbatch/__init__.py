"""keras_bigbatch: train Keras 3 models with very large batches.

Every subpackage loads on first access (`kb.layers`, `kb.data`, ...), so
`import keras_bigbatch` imports neither Keras nor TensorFlow: the
`keras-bigbatch` command's `--help` answers at once. The backend-agnostic
parts (layers, schedules, callbacks, losses, models, optimizers,
micro_batching) import only Keras; `checkpoint`, `data`, `distribute`,
`training` and `tuner` import TensorFlow only when they build a pipeline, a
strategy or a run, so the JAX and PyTorch backends never load it.

Loading a saved model that holds this package's layers, losses or
optimizers needs their Keras registrations, whatever the import order:
where Keras is imported already, the backend-agnostic subpackages load at
once; otherwise right after Keras's own import, or at the end of this
package's import that pulled Keras in (`_Registrations`), so `import
keras_bigbatch; import keras; keras.saving.load_model(path)` finds them.
"""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

_LAZY = ("callbacks", "checkpoint", "data", "distribute", "layers", "losses", "micro_batching",
         "models", "optimizers", "schedules", "training", "tuner")
# The command and the ground floor's modules load on first access too (`kb.cli`).
_LAZY_MODULES = ("arguments", "cli", "durations", "notebook", "registry")


def __getattr__(name):
    if name in _LAZY or name in _LAZY_MODULES:
        return importlib.import_module(f"keras_bigbatch.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_AGNOSTIC = ("callbacks", "layers", "losses", "micro_batching", "models", "optimizers",
             "schedules")


def _register():
    for name in _AGNOSTIC:
        importlib.import_module(f"keras_bigbatch.{name}")


def _initializing(module):
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


class _Registrations(importlib.abc.MetaPathFinder):
    """Imports the Keras-only subpackages (their Keras registrations) once
    Keras is loaded and none of this package's modules is half-imported.

    It watches the first import of `keras` and of each subpackage: after
    each one it checks, so the registrations happen right after `import
    keras` (whenever it comes), or at the end of the package's own import
    that pulled Keras in; never in the middle of a half-imported module
    (whose names a registration's imports would miss). Then it leaves
    `sys.meta_path`. A mere lookup (`importlib.util.find_spec("keras")`,
    as TensorFlow's import does) loads nothing and changes nothing.
    """

    _WATCHED = frozenset({"keras"} | {f"keras_bigbatch.{name}" for name in _LAZY})

    def find_spec(self, name, path=None, target=None):
        if name not in self._WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Then(spec.loader, self.check)
                return spec
        return None

    def check(self, loaded):
        keras = sys.modules.get("keras")
        if keras is None or (_initializing(keras) and keras is not loaded):
            return
        if any(_initializing(module) and module is not loaded
               for key, module in list(sys.modules.items())
               if key == "keras_bigbatch" or key.startswith("keras_bigbatch.")):
            return
        if self in sys.meta_path:
            sys.meta_path.remove(self)
            _register()


class _Then:
    """A module's own loader, then `after(module)`; hands itself back after."""

    def __init__(self, loader, after):
        self._loader, self._after = loader, after

    def __getattr__(self, name):  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        try:
            self._loader.exec_module(module)
        finally:
            module.__loader__ = module.__spec__.loader = self._loader
        self._after(module)


if "keras" in sys.modules:  # Keras is loaded already: registering costs next to nothing
    _register()
elif not any(isinstance(finder, _Registrations) for finder in sys.meta_path):
    sys.meta_path.insert(0, _Registrations())


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_MODULES))


__all__ = ["arguments", "callbacks", "checkpoint", "cli", "data", "distribute", "durations",
           "layers", "losses", "micro_batching", "models", "notebook", "optimizers", "registry",
           "schedules", "training", "tuner", "__version__"]
