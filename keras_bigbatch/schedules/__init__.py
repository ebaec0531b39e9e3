"""Learning-rate scaling, warm-up and regime adaptation (backend-agnostic)."""

from keras_bigbatch.schedules.regime import Regime
from keras_bigbatch.schedules.scaling import scale_learning_rate
from keras_bigbatch.schedules.warmup import Warmup

__all__ = ["Regime", "Warmup", "scale_learning_rate"]
