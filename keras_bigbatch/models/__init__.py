"""Small reference models used by the recipes, tests and benchmarks."""

from keras_bigbatch.models.cnn import small_cnn
from keras_bigbatch.models.mlp import keskar_f1
from keras_bigbatch.models.mlp import mlp
from keras_bigbatch.models.resnet import small_resnet

__all__ = ["keskar_f1", "mlp", "small_cnn", "small_resnet"]
