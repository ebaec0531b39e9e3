"""Layer-wise adaptive optimizers for large-batch training.

All of them share `LayerwiseOptimizer` (momentum, coupled weight decay,
exclusion masks) and differ only in the per-layer scale of the rate.
"""

from keras_bigbatch.optimizers.cblr import CBLR
from keras_bigbatch.optimizers.lars import LARS
from keras_bigbatch.optimizers.layerwise import LayerwiseOptimizer
from keras_bigbatch.optimizers.mclr import MCLR
from keras_bigbatch.optimizers.percent_delta import PercentDelta

__all__ = ["CBLR", "LARS", "LayerwiseOptimizer", "MCLR", "PercentDelta"]
