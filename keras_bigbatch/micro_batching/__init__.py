"""Micro-batching: any global batch in the memory of a micro batch.

`micro_batch(model, micro_batch_size)` makes one optimizer update from k
forward/backward passes inside one train step, on TensorFlow (any
tf.distribute strategy), JAX (keras.distribution) and PyTorch: see
`model.py` for the math, `split.py` for how rows are cut, `statistics.py`
for the moving statistics.
"""

from keras_bigbatch.micro_batching.model import micro_batch
from keras_bigbatch.micro_batching.model import micro_batch_size_of
from keras_bigbatch.micro_batching.split import divisors
from keras_bigbatch.micro_batching.split import micro_batch_count

__all__ = ["divisors", "micro_batch", "micro_batch_count", "micro_batch_size_of"]
