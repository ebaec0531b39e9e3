"""keras_bigbatch: train Keras 3 models with very large batches.

Backend-agnostic parts (layers, schedules, callbacks, losses, models,
optimizers, micro_batching) import only Keras. `checkpoint`, `data`, `distribute`, `training`
and `tuner` are imported on first access (`kb.data`), and import TensorFlow only when they
build a pipeline, a strategy or a run, so the JAX and PyTorch backends never
load it.
"""

import importlib

__version__ = "0.1.0"

from keras_bigbatch import callbacks
from keras_bigbatch import layers
from keras_bigbatch import losses
from keras_bigbatch import micro_batching
from keras_bigbatch import models
from keras_bigbatch import optimizers
from keras_bigbatch import schedules

_LAZY = ("checkpoint", "data", "distribute", "training", "tuner")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"keras_bigbatch.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["callbacks", "checkpoint", "data", "distribute", "layers", "losses", "micro_batching",
           "models", "optimizers",
           "schedules", "training", "tuner", "__version__"]
