"""Losses for large-batch training (backend-agnostic)."""

from keras_bigbatch.losses.label_smoothing import SparseCategoricalCrossentropy
from keras_bigbatch.losses.small_loss_discarding import SmallLossDiscarding

__all__ = ["SmallLossDiscarding", "SparseCategoricalCrossentropy"]
