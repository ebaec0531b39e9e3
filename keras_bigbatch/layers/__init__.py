"""Keras layers for large-batch training."""

from keras_bigbatch.layers.ghost_batch_normalization import (
    GhostBatchNormalization,
)

__all__ = ["GhostBatchNormalization"]
