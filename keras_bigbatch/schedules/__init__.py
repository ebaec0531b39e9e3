"""Learning-rate and batch-size schedules (backend-agnostic)."""

from keras_bigbatch.schedules.batch_size import BatchSizeSchedule
from keras_bigbatch.schedules.regime import Regime
from keras_bigbatch.schedules.scaling import scale_learning_rate
from keras_bigbatch.schedules.warmup import Warmup

__all__ = ["BatchSizeSchedule", "Regime", "Warmup", "scale_learning_rate"]
