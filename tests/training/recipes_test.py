import copy
import os
import re

import pytest

from keras_bigbatch.training import report
from keras_bigbatch.training.recipes import SIZES
from keras_bigbatch.training.recipes import load_recipe
from keras_bigbatch.training.recipes import recipe_names
from keras_bigbatch.training.recipes import run_configs

DIGITS_RECIPE = os.path.join(os.path.dirname(__file__), "digits_recipe.py")
RESULT_SCALARS = ("test_accuracy", "train_accuracy", "updates", "epochs", "steps_per_epoch")


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: nothing here builds Keras state, so skip the reset."""
    yield


def test_recipe_names():
    names = recipe_names()
    assert {"generalization_gap", "layerwise_optimizers"} <= set(names)
    assert names == sorted(names) and not any(n.startswith("_") for n in names)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", recipe_names())
def test_registered_recipe_is_valid(name, size):
    recipe = load_recipe(name, size)
    assert recipe["name"] == name and recipe["description"]
    runs = [run["name"] for run in recipe["runs"]]
    assert len(set(runs)) == len(runs), runs                   # one table row each
    configs = run_configs(recipe)
    assert [config["name"] for config in configs] == runs
    # The expected block names only runs that exist (check_expected skips the others
    # silently) and gives [low, high] bounds of scalar results.
    assert set(recipe["expected"]) <= set(runs), set(recipe["expected"]) - set(runs)
    for bounds in recipe["expected"].values():
        for key, (low, high) in bounds.items():
            assert key in RESULT_SCALARS and low <= high
    panels = report.check_panels(recipe["report"]["panels"])
    if "distance" in panels:
        assert all(config["evaluation"]["distance_points"] > 0 for config in configs)


@pytest.mark.parametrize("name", recipe_names())
def test_smoke_size_shrinks_every_run(name):
    default = run_configs(load_recipe(name))
    smoke = run_configs(load_recipe(name, "smoke"))
    assert len(smoke) == len(default)     # the same rows (names may hold sizes: "LARS-1024")
    for config, big in zip(smoke, default):
        assert config["schedule"]["epochs"] <= big["schedule"]["epochs"]
        assert config["schedule"]["batch_size"] <= big["schedule"]["batch_size"]
        if config["data"]["source"] == "imagenet2012":  # generated files: smaller images
            assert config["data"]["image_size"] < big["data"]["image_size"]
            continue
        for split in ("train_examples", "test_examples"):
            assert config["data"].get(split) is not None
            assert big["data"].get(split) is None or big["data"][split] >= config["data"][split]


def test_load_recipe_by_path():
    recipe = load_recipe(DIGITS_RECIPE)
    assert recipe["name"] == "digits" and recipe["schedule"]["epochs"] == 3
    assert load_recipe(DIGITS_RECIPE, "smoke")["schedule"]["epochs"] == 2
    # A fresh config on every call: changing one does not change the next.
    recipe["schedule"]["epochs"] = 99
    assert load_recipe(DIGITS_RECIPE)["schedule"]["epochs"] == 3


def test_recipe_file_without_a_name_is_named_after_the_file(tmp_path):
    path = tmp_path / "tiny_study.py"
    path.write_text("def get_config(size):\n    return {'runs': [{'name': size}]}\n")
    recipe = load_recipe(str(path), "smoke")
    assert recipe["name"] == "tiny_study" and recipe["runs"] == [{"name": "smoke"}]
    (config,) = run_configs(recipe)
    assert config["name"] == "smoke" and config["data"] == {"source": "fashion_mnist"}


def test_load_recipe_errors(tmp_path):
    with pytest.raises(ValueError, match=re.escape(
            "Argument `size` must be one of ('default', 'smoke'). Received: size='tiny'")):
        load_recipe(DIGITS_RECIPE, "tiny")
    with pytest.raises(ValueError, match=re.escape(
            f"Argument `recipe` must name a registered recipe, one of {recipe_names()}")):
        load_recipe("no_such_recipe")
    missing = str(tmp_path / "missing.py")
    with pytest.raises(ValueError, match=re.escape(f"Recipe file not found: {missing!r}. Give a "
                                                   "registered recipe name (alexnet_bn_imagenet, generalization_gap")):
        load_recipe(missing)
    empty = tmp_path / "empty.py"
    empty.write_text("CONFIG = {}\n")
    with pytest.raises(ValueError, match="defines no get_config"):
        load_recipe(str(empty))
    no_runs = tmp_path / "no_runs.py"
    no_runs.write_text("def get_config(size):\n    return {'runs': []}\n")
    with pytest.raises(ValueError, match=re.escape(
            f"Recipe {str(no_runs)!r} returned no runs for size='default'.")):
        load_recipe(str(no_runs))


def test_run_configs():
    recipe = load_recipe(DIGITS_RECIPE)
    before = copy.deepcopy(recipe)
    a, b = run_configs(recipe)
    assert recipe == before                                      # nothing changed in place
    assert (a["name"], b["name"]) == ("A", "B")
    assert a["seed"] == b["seed"] == 1
    assert a["schedule"]["learning_rate"] == 0.2 and b["schedule"]["learning_rate"] == 0.1
    assert a["model"] == recipe["model"] and a["data"] == {"source": "digits"}
    assert a["evaluation"] == {"evaluations": 2, "batch_size": 1000, "distance_points": 8,
                               "train_accuracy": True, "test_accuracy": True,
                               "validation_examples": 0}
    # Recipe-only keys stay out of run configs.
    assert not set(a) & {"description", "runs", "report", "expected"}
    (only_b,) = run_configs(recipe, runs=["B"])
    assert only_b == b
    assert [c["name"] for c in run_configs(recipe, runs=["B", "A"])] == ["A", "B"]  # recipe order
    assert run_configs(recipe, runs=[]) == []


def test_run_configs_overrides():
    recipe = load_recipe(DIGITS_RECIPE)
    overrides = [("schedule.learning_rate", "0.05"), ("schedule.boundaries", "1,2"),
                 ("evaluation.train_accuracy", "no"), ("seed", "4"), ("model.seed", "3")]
    for config in run_configs(recipe, overrides=overrides):
        # Applied to every run, after the run's own changes, as the type they replace.
        assert config["schedule"]["learning_rate"] == 0.05
        assert config["schedule"]["boundaries"] == (1, 2)
        assert config["evaluation"]["train_accuracy"] is False
        assert config["seed"] == 4 and config["model"]["seed"] == 3
    # The result is checked after the last override, not after each one: shortening
    # a generalization_gap run (boundaries 6, 8) needs both, in either order.
    gap = load_recipe("generalization_gap")
    for order in (1, -1):
        pair = [("schedule.epochs", "2"), ("schedule.boundaries", "1")][::order]
        (config,) = run_configs(gap, ["SB"], pair)
        assert (config["schedule"]["epochs"], config["schedule"]["boundaries"]) == (2, (1,))
    with pytest.raises(ValueError, match=r"`boundaries` must be strictly increasing"):
        run_configs(gap, ["SB"], [("schedule.epochs", "2")])
    # Overrides apply in order: the later one wins.
    (config,) = run_configs(recipe, ["A"], [("schedule.epochs", "5"), ("schedule.epochs", "1.5")])
    assert config["schedule"]["epochs"] == 1.5


def test_overrides_switch_what_a_section_configures():
    recipe = load_recipe(DIGITS_RECIPE)
    # Ghost batch normalization off: a number option set to None.
    (config,) = run_configs(recipe, ["A"], [("model.normalization", "batch"),
                                            ("model.virtual_batch_size", "None")])
    assert config["model"]["normalization"] == "batch"
    assert config["model"]["virtual_batch_size"] is None
    # Another model or optimizer drops the old one's arguments, then takes its own.
    (config,) = run_configs(recipe, ["A"], [("model.name", "small_cnn"), ("model.filters", "8")])
    assert config["model"] == {"name": "small_cnn", "filters": (8,)}
    (config,) = run_configs(recipe, ["B"], [("optimizer.name", "lamb"),
                                            ("optimizer.beta_1", "0.8")])
    assert config["optimizer"] == {"name": "lamb", "beta_1": 0.8}


@pytest.mark.parametrize("runs, overrides, message", [
    (["A", "C", "D"], (), "Unknown run name(s) ['C', 'D']; the recipe has ['A', 'B']."),
    (None, [("model.width", "3")], "--set model.width: unknown key; `model` accepts "
                                   "['model.hidden_units', 'model.name', 'model.normalization', "
                                   "'model.normalization_momentum', 'model.seed', "
                                   "'model.virtual_batch_size']."),
    (None, [("batch_size", "8")], "--set batch_size: unknown key; valid keys are seed, "
                                  "precision, jit_compile, or SECTION.KEY with SECTION one of ('data', "),
    (None, [("sched.epochs", "8")], "--set sched.epochs: unknown key; valid keys are"),
    (None, [("schedule.epochs", "many")], "--set schedule.epochs=many: expected a number"),
    (None, [("evaluation.evaluations", "1.5")],
     "Argument `evaluation.evaluations` must be a positive integer. "
     "Received: evaluation.evaluations=1.5"),
    (None, [("precision", "float8")], "Received: precision='float8'"),
])
def test_run_configs_errors(runs, overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        run_configs(load_recipe(DIGITS_RECIPE), runs, overrides)


@pytest.mark.parametrize("expected,message", [
    ({"Z": {"test_accuracy": (0.5, 1.0)}}, "names run 'Z', which is not one of its runs"),
    ({"A": {"test_acc": (0.5, 1.0)}}, r"expected\['A'\]\['test_acc'\]` must bound one of"),
    ({"A": {"test_accuracy": (1.0, 0.5)}}, "low <= high"),
])
def test_a_bad_expected_block_is_refused_at_load(tmp_path, expected, message):
    recipe = tmp_path / "bad_recipe.py"
    recipe.write_text(
        "def get_config(size='default'):\n"
        "    return {'data': {'source': 'digits'}, 'runs': [{'name': 'A'}],\n"
        f"            'expected': {expected!r}}}\n")
    with pytest.raises(ValueError, match=message):
        load_recipe(str(recipe))
