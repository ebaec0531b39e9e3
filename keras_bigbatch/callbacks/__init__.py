"""Keras callbacks for large-batch training (backend-agnostic)."""

from keras_bigbatch.callbacks.weight_distance import WeightDistance

__all__ = ["WeightDistance"]
