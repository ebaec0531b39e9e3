"""A recipe file given by path is imported as a module: AutoGraph, pickling, registrations."""

import pickle
import sys
import textwrap

import numpy as np
import pytest

from keras_bigbatch.data import ArraySource
from keras_bigbatch.data import registry as data_registry
from keras_bigbatch.training import registry
from keras_bigbatch.training import trainer
from keras_bigbatch.training.recipes import file_module_name
from keras_bigbatch.training.recipes import load_recipe
from keras_bigbatch.training.recipes import run_configs

# A user's recipe file: their own source, whose tf.data pipeline maps a lambda
# with Python control flow on a tensor (AutoGraph reads a lambda's source
# through its module: outside sys.modules it runs it as-is and the `if` on a
# tensor raises OperatorNotAllowedInGraphError) and their own model.
RECIPE = textwrap.dedent('''
    import keras
    import tensorflow as tf

    import keras_bigbatch as kb


    def doubled(x):
        return 2.0 * x


    class DoubledDigits(kb.data.ArraySource):
        def _dataset(self, split, global_batch_size, shard, batch, seed, training, start_step):
            dataset = super()._dataset(split, global_batch_size, shard, batch, seed, training,
                                       start_step)
            return dataset.map(lambda x, y: (doubled(x) if tf.reduce_sum(x) > 0 else x, y))


    @kb.data.register_source("file_digits")
    def file_digits(train_examples=256):
        digits = kb.data.digits_source(train_examples=train_examples, test_examples=64)
        return DoubledDigits("file_digits", digits.arrays("train"), digits.arrays("test"), 10)


    @kb.training.register_model("file_mlp")
    def file_mlp(input_shape, num_classes, units=16):
        inputs = keras.Input(input_shape)
        x = keras.layers.Dense(units, activation="relu")(keras.layers.Flatten()(inputs))
        outputs = keras.layers.Dense(num_classes)(x)  # logits, as the default loss takes
        return keras.Model(inputs, outputs, name="file_mlp")


    def get_config(size="default"):
        return {"name": "file_recipe", "seed": 1,
                "data": {"source": "file_digits"}, "model": {"name": "file_mlp", "units": 8},
                "schedule": {"batch_size": 64, "epochs": 1, "learning_rate": 0.1},
                "evaluation": {"evaluations": 1, "distance_points": 0},
                "runs": [{"name": "A"}]}
''')


@pytest.fixture
def isolated(monkeypatch):
    """Registrations, sys.path and recipe modules of a test are undone after it."""
    monkeypatch.setattr(data_registry, "_FACTORIES", dict(data_registry._FACTORIES))
    monkeypatch.setattr(registry.MODELS, "_entries", dict(registry.MODELS._entries))
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("keras_bigbatch_recipe_"):
            del sys.modules[name]


def _write(folder, text=RECIPE, name="my_recipe.py"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return str(path)


@pytest.mark.tensorflow
def test_a_recipe_file_trains_its_own_source_and_model(tmp_path, isolated):
    path = _write(tmp_path)
    (config,) = run_configs(load_recipe(path))
    assert "file_digits" in data_registry.source_names()
    assert registry.model_arguments("file_mlp") == {"units": 16}
    # The lambda ran, converted: each training batch is the plain arrays' batch, doubled.
    source = data_registry.get_source("file_digits")
    plain = ArraySource("plain", source.arrays("train"), source.arrays("test"), 10)
    (x, y), = source.dataset("train", 64).take(1).as_numpy_iterator()
    (x_plain, y_plain), = plain.dataset("train", 64).take(1).as_numpy_iterator()
    np.testing.assert_array_equal(x, 2.0 * x_plain)
    np.testing.assert_array_equal(y, y_plain)
    result = trainer.train(config, verbose=False)
    assert result["updates"] == 256 // 64 and result["epochs"] == 1
    assert result["model"].name == "file_mlp" and 0.0 <= result["test_accuracy"] <= 1.0
    assert sys.modules[file_module_name(path)].__file__ == path


@pytest.mark.tensorflow  # the file imports TensorFlow
def test_functions_of_a_recipe_file_pickle(tmp_path, isolated):
    load_recipe(_write(tmp_path))
    factory = registry.MODELS.lookup("file_mlp")
    assert pickle.loads(pickle.dumps(factory)) is factory  # by reference: module + name


def test_a_recipe_file_holds_dataclasses(tmp_path, isolated):
    # dataclasses read string annotations through sys.modules[cls.__module__]
    path = _write(tmp_path, "from __future__ import annotations\nimport dataclasses\n\n"
                            "@dataclasses.dataclass\nclass Run:\n    name: str = 'A'\n\n"
                            "def get_config(size):\n    return {'runs': [{'name': Run().name}]}\n")
    assert load_recipe(path)["runs"] == [{"name": "A"}]


def test_loading_a_file_again_reuses_its_module(tmp_path, isolated):
    path = _write(tmp_path, textwrap.dedent('''
        import keras_bigbatch as kb

        @kb.data.register_source("again_digits")
        def again_digits():
            return kb.data.digits_source(train_examples=128)

        def get_config(size):
            return {"name": "again", "data": {"source": "again_digits"}, "runs": [{"name": "A"}]}
    '''))
    load_recipe(path)
    module = sys.modules[file_module_name(path)]
    factory = data_registry._FACTORIES["again_digits"].value
    # The same bytes: not run again, so register_source("again_digits") is not
    # called again (the factory registered first stays).
    assert load_recipe(path)["name"] == "again"
    assert sys.modules[file_module_name(path)] is module
    assert data_registry._FACTORIES["again_digits"].value is factory
    # Changed bytes: run again, under the same name.
    _write(tmp_path, "def get_config(size):\n"
                     "    return {'name': 'edited', 'runs': [{'name': 'A'}]}\n")
    assert load_recipe(path)["name"] == "edited"
    assert sys.modules[file_module_name(path)] is not module


def test_two_files_of_one_basename_are_two_modules(tmp_path, isolated):
    recipe = ("NAME = {!r}\n\ndef get_config(size):\n"
              "    return {{'name': NAME, 'runs': [{{'name': 'A'}}]}}\n")
    first = _write(tmp_path / "a", recipe.format("a"), "study.py")
    second = _write(tmp_path / "b", recipe.format("b"), "study.py")
    assert file_module_name(first) != file_module_name(second)
    assert load_recipe(first)["name"] == "a" and load_recipe(second)["name"] == "b"
    assert sys.modules[file_module_name(first)].NAME == "a"
    same = str(tmp_path / "a" / ".." / "a" / "study.py")  # one real path, one name
    assert file_module_name(same) == file_module_name(first)


def test_a_recipe_file_imports_its_neighbours(tmp_path, isolated):
    _write(tmp_path, "UNITS = 12\n", "recipe_file_test_helpers.py")
    path = _write(tmp_path, "import recipe_file_test_helpers as helpers\n\n"
                            "def get_config(size):\n"
                            "    return {'name': str(helpers.UNITS), 'runs': [{'name': 'A'}]}\n")
    assert load_recipe(path)["name"] == "12"
    assert sys.path.index(str(tmp_path)) == len(sys.path) - 1  # appended: shadows nothing
    sys.modules.pop("recipe_file_test_helpers")


def test_a_file_that_fails_leaves_no_module(tmp_path, isolated):
    path = _write(tmp_path, "raise RuntimeError('broken recipe')\n")
    with pytest.raises(RuntimeError, match="broken recipe"):
        load_recipe(path)
    assert file_module_name(path) not in sys.modules
