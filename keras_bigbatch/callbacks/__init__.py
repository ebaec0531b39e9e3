"""Keras callbacks for large-batch training (backend-agnostic)."""

from keras_bigbatch.callbacks.batch_size_scheduler import BatchSizeScheduler
from keras_bigbatch.callbacks.gradient_noise_scale import GradientNoiseScale
from keras_bigbatch.callbacks.layer_diagnostics import LayerDiagnostics
from keras_bigbatch.callbacks.layer_diagnostics import plot_diagnostics
from keras_bigbatch.callbacks.small_loss_discarding_schedule import (
    SmallLossDiscardingSchedule,
)
from keras_bigbatch.callbacks.weight_distance import WeightDistance

__all__ = [
    "BatchSizeScheduler",
    "GradientNoiseScale",
    "LayerDiagnostics",
    "SmallLossDiscardingSchedule",
    "WeightDistance",
    "plot_diagnostics",
]
