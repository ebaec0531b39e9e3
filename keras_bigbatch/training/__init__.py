"""The trainer: `build`, `fit` and `train` a run config; recipes (TensorFlow).

`build` and `fit` are what recipes, the `keras-bigbatch` command, the Keras
Tuner HyperModel and the notebooks call.
"""

from keras_bigbatch.training.config import DEFAULTS
from keras_bigbatch.training.config import resolve
from keras_bigbatch.training.curvature import CurvatureModel
from keras_bigbatch.training.recipes import load_recipe
from keras_bigbatch.training.recipes import recipe_names
from keras_bigbatch.training.recipes import run_configs
from keras_bigbatch.training.registry import register_loss
from keras_bigbatch.training.registry import register_model


def build(config, strategy=None):
    """The compiled model of a run config; see `trainer.build`."""
    from keras_bigbatch.training import trainer

    return trainer.build(config, strategy)


def fit(config, model, strategy=None, callbacks=(), verbose=True):
    """Trains a model from `build`; see `trainer.fit`."""
    from keras_bigbatch.training import trainer

    return trainer.fit(config, model, strategy, callbacks, verbose)


def train(config, strategy=None, callbacks=(), verbose=True):
    """`build` then `fit`; see `trainer.train`."""
    from keras_bigbatch.training import trainer

    return trainer.train(config, strategy, callbacks, verbose)


__all__ = [
    "DEFAULTS",
    "CurvatureModel",
    "build",
    "fit",
    "load_recipe",
    "recipe_names",
    "register_loss",
    "register_model",
    "resolve",
    "run_configs",
    "train",
]
