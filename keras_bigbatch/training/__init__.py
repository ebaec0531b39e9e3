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


def build(config, strategy=None, *, model=None, data=None):
    """The compiled model of a run config (or your `model`); see `trainer.build`."""
    from keras_bigbatch.training import trainer

    return trainer.build(config, strategy, model=model, data=data)


def fit(config, model, strategy=None, callbacks=(), verbose=True, checkpoint_dir=None,
        preemption=None, *, epochs=None, initial_epoch=0, log_dir=None, data=None):
    """Trains a compiled model (resuming from `checkpoint_dir`); see `trainer.fit`."""
    from keras_bigbatch.training import trainer

    return trainer.fit(config, model, strategy, callbacks, verbose, checkpoint_dir, preemption,
                       epochs=epochs, initial_epoch=initial_epoch, log_dir=log_dir, data=data)


def train(config, strategy=None, callbacks=(), verbose=True, checkpoint_dir=None,
          preemption=None, *, model=None, data=None, log_dir=None):
    """`build` then `fit`, on the config's or your own model and data; see `trainer.train`."""
    from keras_bigbatch.training import trainer

    return trainer.train(config, strategy, callbacks, verbose, checkpoint_dir, preemption,
                         model=model, data=data, log_dir=log_dir)


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
