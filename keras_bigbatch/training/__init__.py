"""The strategy-aware trainer that runs recipes (TensorFlow only)."""

from keras_bigbatch.training.config import TrainConfig
from keras_bigbatch.training.curvature import CurvatureModel
from keras_bigbatch.training.recipes import load_recipe


def train(config, strategy=None, callbacks=(), verbose=True):
    """Runs one `TrainConfig`; see `keras_bigbatch.training.trainer.train`."""
    from keras_bigbatch.training import trainer

    return trainer.train(config, strategy, callbacks, verbose)


__all__ = ["CurvatureModel", "TrainConfig", "load_recipe", "train"]
