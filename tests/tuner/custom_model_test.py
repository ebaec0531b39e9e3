"""A search over a user's own models, registered in a recipe file: the ghost
batch knob applies where the model takes `virtual_batch_size`, is left out
where it does not, and is refused there when asked for."""

import sys
import textwrap

import pytest

from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.training import registry
from keras_bigbatch.training.recipes import load_recipe
from keras_bigbatch.training.recipes import run_configs
from keras_bigbatch.tuner import BigBatchHyperModel
from keras_bigbatch.tuner import make_tuner
from keras_bigbatch.tuner import search

# Three CNNs on the digits: one takes normalization and virtual_batch_size
# (the package's convention), one only virtual_batch_size (None = plain
# batch normalization), one neither.
RECIPE = textwrap.dedent('''
    import keras

    import keras_bigbatch as kb


    def _cnn(input_shape, num_classes, filters, normalize):
        inputs = keras.Input(input_shape)
        x = keras.layers.Reshape((*input_shape, 1))(inputs)
        x = normalize(keras.layers.Conv2D(filters, 3, use_bias=False)(x))
        x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
        return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


    def _batch_norm(virtual_batch_size):
        if virtual_batch_size:
            return kb.layers.GhostBatchNormalization(virtual_batch_size)
        return keras.layers.BatchNormalization()


    @kb.training.register_model("tune_cnn")
    def tune_cnn(input_shape, num_classes, filters=4, normalization="batch",
                 virtual_batch_size=None):
        ghost = virtual_batch_size if normalization == "ghost" else None
        return _cnn(input_shape, num_classes, filters, _batch_norm(ghost))


    @kb.training.register_model("tune_cnn_ghosts")
    def tune_cnn_ghosts(input_shape, num_classes, filters=4, virtual_batch_size=None):
        return _cnn(input_shape, num_classes, filters, _batch_norm(virtual_batch_size))


    @kb.training.register_model("tune_cnn_plain")
    def tune_cnn_plain(input_shape, num_classes, filters=4):
        return _cnn(input_shape, num_classes, filters, _batch_norm(None))


    def get_config(size="default"):
        return {"name": "tune_cnn", "seed": 1, "data": {"source": "digits"},
                "model": {"name": "tune_cnn"}, "optimizer": {"name": "sgd", "momentum": 0.9},
                "schedule": {"batch_size": 64, "epochs": 1, "learning_rate": 0.1},
                "runs": [{"name": "with_ghosts"},
                         {"name": "ghosts_only", "model": {"name": "tune_cnn_ghosts"}},
                         {"name": "plain", "model": {"name": "tune_cnn_plain"}}]}
''')
KNOBS = {"optimizer": "sgd", "warmup_epochs": 0.0}


@pytest.fixture
def recipe(tmp_path, monkeypatch):
    """The recipe file's runs by name; its registrations undone after the test."""
    monkeypatch.setattr(registry.MODELS, "_entries", dict(registry.MODELS._entries))
    monkeypatch.setattr(sys, "path", list(sys.path))
    path = tmp_path / "my_cnns.py"
    path.write_text(RECIPE)
    before = set(sys.modules)
    yield {config["name"]: config for config in run_configs(load_recipe(str(path)))}
    for name in set(sys.modules) - before:
        if name.startswith("keras_bigbatch_recipe_"):
            del sys.modules[name]


def _ghost_sizes(model):
    return [layer.virtual_batch_size for layer in model.layers
            if isinstance(layer, GhostBatchNormalization)]


@pytest.mark.parametrize("run", ["with_ghosts", "ghosts_only"])
def test_a_search_sets_the_ghost_batch_of_a_custom_model(recipe, run, tmp_path):
    hypermodel = BigBatchHyperModel(recipe[run], dict(KNOBS, ghost_batch_size=[0, 16, 32]),
                                    verbose=False)
    tuner = make_tuner("random", hypermodel, tmp_path / "tuner", max_trials=2, seed=2)
    summary = search(tuner, hypermodel)
    assert summary["completed"] == 2 and 0.0 <= summary["best_test_accuracy"] <= 1.0
    for trial in tuner.oracle.trials.values():  # each trial's model has its ghost batch
        ghost = trial.hyperparameters.values["ghost_batch_size"]
        model = hypermodel.build(trial.hyperparameters)
        assert _ghost_sizes(model) == ([ghost] if ghost else [])


def test_a_search_over_a_custom_model_without_the_knobs_arguments(recipe, tmp_path):
    config = recipe["plain"]
    hypermodel = BigBatchHyperModel(config, KNOBS, verbose=False)
    assert "ghost_batch_size" not in hypermodel.space.get_config()  # a default knob: left out
    tuner = make_tuner("random", hypermodel, tmp_path / "tuner", max_trials=2, seed=2)
    summary = search(tuner, hypermodel)
    assert summary["completed"] == 2
    assert all("ghost_batch_size" not in row["values"] for row in summary["trials"])
    # asked for, the knob is refused: it names the argument the model lacks
    with pytest.raises(ValueError, match=r"Knob `ghost_batch_size` sets model.virtual_batch_size, "
                                         r"which model 'tune_cnn_plain' does not take \(it "
                                         r"takes: \['filters'\]\)"):
        BigBatchHyperModel(config, dict(KNOBS, ghost_batch_size=[0, 16]), verbose=False)
