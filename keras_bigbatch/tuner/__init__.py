"""Keras Tuner searches over the large-batch knobs (TensorFlow and JAX, like the trainer).

`BigBatchHyperModel(config, knobs)` turns a recipe run into a Keras Tuner
`HyperModel` whose search space (`SearchSpace`) holds the seeds' knobs;
`make_tuner` and `search` run it with RandomSearch, BayesianOptimization or
Hyperband. The `keras-bigbatch tune` command is `keras_bigbatch.cli.tune`.
"""

from keras_bigbatch.tuner.hypermodel import OBJECTIVES
from keras_bigbatch.tuner.hypermodel import BigBatchHyperModel
from keras_bigbatch.tuner.search import TUNERS
from keras_bigbatch.tuner.search import format_table
from keras_bigbatch.tuner.search import make_tuner
from keras_bigbatch.tuner.search import search
from keras_bigbatch.tuner.space import KNOBS
from keras_bigbatch.tuner.space import SearchSpace

__all__ = [
    "KNOBS",
    "OBJECTIVES",
    "TUNERS",
    "BigBatchHyperModel",
    "SearchSpace",
    "format_table",
    "make_tuner",
    "search",
]
