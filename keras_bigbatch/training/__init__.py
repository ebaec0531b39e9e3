"""The trainer: `plan`, `build`, `fit` and `train` a run config; recipes (any backend).

`build` and `fit` are what recipes, the `keras-bigbatch` command, the Keras
Tuner HyperModel and the notebooks call.
"""

from keras_bigbatch.checkpoint import CheckpointError
from keras_bigbatch.checkpoint import Preempted
from keras_bigbatch.checkpoint import PreemptionWatch
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


def fit(config, model, strategy=None, callbacks=(), verbose=True, checkpoint_dir=None,
        preemption=None, *, epochs=None, initial_epoch=0):
    """Trains a model from `build` (resuming from `checkpoint_dir`); see `trainer.fit`."""
    from keras_bigbatch.training import trainer

    return trainer.fit(config, model, strategy, callbacks, verbose, checkpoint_dir, preemption,
                       epochs=epochs, initial_epoch=initial_epoch)


def train(config, strategy=None, callbacks=(), verbose=True, checkpoint_dir=None,
          preemption=None):
    """`build` then `fit`; see `trainer.train`."""
    from keras_bigbatch.training import trainer

    return trainer.train(config, strategy, callbacks, verbose, checkpoint_dir, preemption)


__all__ = [
    "CheckpointError",
    "DEFAULTS",
    "CurvatureModel",
    "Preempted",
    "PreemptionWatch",
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
