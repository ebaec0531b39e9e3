"""Reference models used by the recipes, tests and benchmarks."""

from keras_bigbatch.models.alexnet import alexnet_bn
from keras_bigbatch.models.cnn import small_cnn
from keras_bigbatch.models.mlp import keskar_f1
from keras_bigbatch.models.mlp import mlp
from keras_bigbatch.models.resnet import small_resnet
from keras_bigbatch.models.resnet50 import resnet50

__all__ = ["alexnet_bn", "keskar_f1", "mlp", "resnet50", "small_cnn", "small_resnet"]
