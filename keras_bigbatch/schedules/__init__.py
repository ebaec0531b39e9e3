"""Learning-rate and batch-size schedules (backend-agnostic)."""

from keras_bigbatch.schedules.batch_size import BatchSizeSchedule
from keras_bigbatch.schedules.mlperf import MLPerfPolynomialDecay
from keras_bigbatch.schedules.noise_scale import BatchGrowthPlan
from keras_bigbatch.schedules.noise_scale import momentum_scaled_batch_size
from keras_bigbatch.schedules.noise_scale import noise_scale
from keras_bigbatch.schedules.noise_scale import plan_batch_growth
from keras_bigbatch.schedules.regime import Regime
from keras_bigbatch.schedules.scaling import scale_learning_rate
from keras_bigbatch.schedules.warmup import Warmup

__all__ = [
    "BatchGrowthPlan",
    "BatchSizeSchedule",
    "MLPerfPolynomialDecay",
    "Regime",
    "Warmup",
    "momentum_scaled_batch_size",
    "noise_scale",
    "plan_batch_growth",
    "scale_learning_rate",
]
