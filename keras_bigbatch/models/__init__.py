"""Small reference models used by the recipes, tests and benchmarks."""

from keras_bigbatch.models.cnn import small_cnn
from keras_bigbatch.models.mlp import keskar_f1
from keras_bigbatch.models.mlp import mlp

__all__ = ["keskar_f1", "mlp", "small_cnn"]
