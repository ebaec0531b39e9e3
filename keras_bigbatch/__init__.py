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
once; otherwise they load right after Keras's own import, whenever that
comes (`_AfterKeras`), so `import keras_bigbatch; import keras;
keras.saving.load_model(path)` finds them.
"""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

_LAZY = ("callbacks", "checkpoint", "data", "distribute", "layers", "losses", "micro_batching",
         "models", "optimizers", "schedules", "training", "tuner")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"keras_bigbatch.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_AGNOSTIC = ("callbacks", "layers", "losses", "micro_batching", "models", "optimizers",
             "schedules")


def _register():
    for name in _AGNOSTIC:
        importlib.import_module(f"keras_bigbatch.{name}")


class _AfterKeras(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Loads the Keras-only subpackages (their Keras registrations) just after
    `keras` itself is imported, once; then leaves `sys.meta_path`."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return spec
        self._loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _register()


if "keras" in sys.modules:  # Keras is loaded already: registering costs next to nothing
    _register()
elif not any(isinstance(finder, _AfterKeras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AfterKeras())


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["callbacks", "checkpoint", "data", "distribute", "layers", "losses", "micro_batching",
           "models", "optimizers",
           "schedules", "training", "tuner", "__version__"]
