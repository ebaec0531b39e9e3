"""keras_bigbatch: train Keras 3 models with very large batches.

Backend-agnostic parts (layers, schedules, callbacks, models) import only
Keras. TensorFlow-only parts (data pipelines, distribution, the trainer)
import TensorFlow when first used.
"""

__version__ = "0.1.0"

from keras_bigbatch import callbacks
from keras_bigbatch import layers
from keras_bigbatch import losses
from keras_bigbatch import models
from keras_bigbatch import optimizers
from keras_bigbatch import schedules

__all__ = ["callbacks", "layers", "losses", "models", "optimizers", "schedules", "__version__"]
