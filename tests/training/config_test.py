import copy
import re

import pytest

from keras_bigbatch.training.config import DEFAULTS
from keras_bigbatch.training.config import batch_growth_plan
from keras_bigbatch.training.config import lookup
from keras_bigbatch.training.config import merge
from keras_bigbatch.training.config import parse_override
from keras_bigbatch.training.config import regime
from keras_bigbatch.training.config import resolve
from keras_bigbatch.training.config import valid_keys


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Overrides conftest's: nothing here builds Keras state, so skip the reset."""
    yield


BASE = {
    "name": "base",
    "data": {"source": "fashion_mnist", "train_examples": 2048},
    "model": {"name": "mlp", "hidden_units": (32,), "normalization": "ghost",
              "virtual_batch_size": 16},
    "optimizer": {"name": "sgd", "momentum": 0.9},
    "schedule": {"batch_size": 64, "epochs": 3, "learning_rate": 0.2, "boundaries": (2,)},
    "evaluation": {"evaluations": 2},
}


# merge

def test_merge_dotted_keys_and_top_level():
    merged = merge(BASE, {"model.hidden_units": (64, 64), "schedule.epochs": 5, "seed": 7,
                          "evaluation.distance_points": 8})
    assert merged["model"] == {"name": "mlp", "hidden_units": (64, 64),
                               "normalization": "ghost", "virtual_batch_size": 16}
    assert merged["schedule"]["epochs"] == 5 and merged["schedule"]["batch_size"] == 64
    assert merged["evaluation"] == {"evaluations": 2, "distance_points": 8}
    assert merged["seed"] == 7 and merged["name"] == "base"
    # A dotted key creates its section.
    assert merge({}, {"loss.label_smoothing": 0.1}) == {"loss": {"label_smoothing": 0.1}}


def test_merge_copies():
    base = copy.deepcopy(BASE)
    boundaries = [4]
    merged = merge(base, {"schedule.boundaries": boundaries, "optimizer": {"nesterov": True}})
    assert base == BASE                                    # base untouched
    boundaries.append(5)
    merged["model"]["hidden_units"] = ()
    assert merged["schedule"]["boundaries"] == [4] and base == BASE


def test_merge_whole_sections_key_by_key():
    merged = merge(BASE, {"optimizer": {"nesterov": True},
                          "schedule": {"epochs": 6, "warmup_epochs": 1},
                          "evaluation": {"train_accuracy": False}})
    assert merged["optimizer"] == {"name": "sgd", "momentum": 0.9, "nesterov": True}
    assert merged["schedule"] == {"batch_size": 64, "epochs": 6, "learning_rate": 0.2,
                                  "boundaries": (2,), "warmup_epochs": 1}
    assert merged["evaluation"] == {"evaluations": 2, "train_accuracy": False}
    # The same optimizer named again: still merged.
    merged = merge(BASE, {"optimizer": {"name": "sgd", "momentum": 0.5}})
    assert merged["optimizer"] == {"name": "sgd", "momentum": 0.5}


@pytest.mark.parametrize("section, change", [
    ("optimizer", {"name": "lamb", "beta_1": 0.8}),
    ("model", {"name": "small_cnn", "filters": (8,)}),
    ("data", {"source": "digits"}),
    ("loss", {"name": "other"}),
])
def test_merge_section_naming_another_thing_replaces_it(section, change):
    base = merge(BASE, {"loss": {"name": "sparse_categorical_crossentropy",
                                 "label_smoothing": 0.1}})
    assert merge(base, {section: change})[section] == change


@pytest.mark.parametrize("key, value, expected", [
    ("optimizer.name", "lamb", {"name": "lamb"}),
    ("model.name", "small_cnn", {"name": "small_cnn"}),
    ("data.source", "digits", {"source": "digits"}),
    # The same name again changes nothing.
    ("optimizer.name", "sgd", {"name": "sgd", "momentum": 0.9}),
])
def test_merge_dotted_key_naming_another_thing_replaces_the_section(key, value, expected):
    section = key.split(".")[0]
    assert merge(BASE, {key: value})[section] == expected
    # Later changes apply to the new section, in order.
    assert merge(BASE, {key: value, f"{section}.seed": 3})[section] == {**expected, "seed": 3}


def test_merge_applies_changes_in_order():
    # The dotted key comes first, then the section replaces everything.
    merged = merge(BASE, {"optimizer.weight_decay": 0.1, "optimizer": {"name": "lamb"}})
    assert merged["optimizer"] == {"name": "lamb"}
    merged = merge(BASE, {"optimizer": {"name": "lamb"}, "optimizer.weight_decay": 0.1})
    assert merged["optimizer"] == {"name": "lamb", "weight_decay": 0.1}


def test_merge_errors():
    with pytest.raises(ValueError, match=re.escape(
            "Unknown config key 'sched.epochs': a dotted key starts with one of the sections "
            "('data', 'model', 'optimizer', 'schedule', 'loss', 'evaluation', 'batch_growth', "
            "'checkpoint').")):
        merge(BASE, {"sched.epochs": 1})
    with pytest.raises(ValueError, match=re.escape(
            "Config section 'model' must be a dict. Received: model='mlp'")):
        merge(BASE, {"model": "mlp"})


# resolve

def test_resolve_fills_in_defaults():
    resolved = resolve({})
    assert resolved == DEFAULTS and resolved is not DEFAULTS
    resolved["evaluation"]["evaluations"] = 99
    assert DEFAULTS["evaluation"]["evaluations"] == 10
    resolved = resolve(BASE)
    assert resolved["seed"] == 0 and resolved["precision"] == "float32"
    assert resolved["loss"] == {"name": "sparse_categorical_crossentropy"}
    assert resolved["evaluation"] == {"evaluations": 2, "batch_size": 1000,
                                      "distance_points": 0, "train_accuracy": True,
                                      "test_accuracy": True, "validation_examples": 0}
    assert resolved["steps_per_execution"] == 1
    assert resolved["data"] == BASE["data"] and resolved["model"] == BASE["model"]
    # Another optimizer than the default does not inherit SGD's momentum.
    assert resolve({"optimizer": {"name": "lamb"}})["optimizer"] == {"name": "lamb"}


def test_resolve_takes_dotted_keys():
    resolved = resolve({"schedule.batch_size": 256, "optimizer.nesterov": True})
    assert resolved["schedule"] == {"batch_size": 256, "epochs": 10, "learning_rate": 0.1}
    assert resolved["optimizer"] == {"name": "sgd", "momentum": 0.9, "nesterov": True}


def test_regime():
    schedule = regime(resolve(BASE))
    assert (schedule.batch_size, schedule.epochs, schedule.boundaries) == (64, 3.0, (2.0,))
    assert regime(resolve(merge(BASE, {"schedule.boundaries": [1, 2]}))).boundaries == (1.0, 2.0)


@pytest.mark.parametrize("changes, message", [
    ({"batch": 8, "zz": 1}, "Unknown config key(s) ['batch', 'zz']; valid top-level keys are "
                            "['batch_growth', 'checkpoint', 'data', 'evaluation', 'jit_compile', 'loss', 'metrics', 'micro_batch_size', 'model', "
                            "'name', "
                            "'optimizer', 'precision', 'schedule', 'seed', 'steps_per_execution']."),
    ({"model.hiden_units": (8,)}, "Unknown key(s) ['model.hiden_units']; `model` accepts "
                                  "['hidden_units', 'name', 'normalization', "
                                  "'normalization_momentum', 'seed', 'virtual_batch_size']."),
    ({"data.nope": 1, "data.other": 2}, "Unknown key(s) ['data.nope', 'data.other']; `data` "
                                        "accepts ['dir', 'download', 'source', 'test_examples', "
                                        "'train_examples']."),
    ({"optimizer.trust_coefficient": 0.01}, "Unknown key(s) ['optimizer.trust_coefficient']"),
    ({"optimizer.learning_rate": 0.1}, "Unknown key(s) ['optimizer.learning_rate']"),
    ({"schedule.batch": 8}, "Unknown key(s) ['schedule.batch']; `schedule` accepts "
                            "['batch_size', 'boundaries', 'convention', 'decay', "
                            "'end_learning_rate', 'epochs', 'learning_rate', 'polynomial_power', "
                            "'updates', 'warmup_epochs', 'warmup_learning_rate']."),
    ({"loss.smoothing": 0.1}, "Unknown key(s) ['loss.smoothing']; `loss` accepts "
                              "['from_logits', 'label_smoothing', 'name']."),
    ({"evaluation.every": 1}, "Unknown key(s) ['evaluation.every']; `evaluation` accepts "
                              "['batch_size', 'distance_points', 'evaluations', "
                              "'test_accuracy', 'train_accuracy', 'validation_examples']."),
    ({"data.source": "cifar"}, "Received: data.source='cifar'"),
    ({"model.name": "vgg"}, "Received: model.name='vgg'"),
    ({"optimizer.name": "adam_x"}, "Received: optimizer.name='adam_x'"),
    ({"loss.name": "hinge"}, "Received: loss.name='hinge'"),
    ({"seed": -1}, "Argument `seed` must be an integer >= 0. Received: seed=-1"),
    ({"seed": 1.0}, "Received: seed=1.0"),
    ({"precision": "float16"}, "Argument `precision` must be one of ('auto', 'float32', "
                               "'mixed_float16', 'mixed_bfloat16'). Received: "
                               "precision='float16'"),
    ({"name": "a/b"}, "Argument `name` must be a non-empty string without '/'"),
    ({"name": ""}, "Received: name=''"),
    ({"name": 3}, "Received: name=3"),
    ({"schedule.batch_size": 0}, "Argument `batch_size` must be a positive integer"),
    ({"schedule.boundaries": (20,)}, "Argument `boundaries` must be strictly increasing"),
    ({"evaluation.evaluations": 0}, "Received: evaluation.evaluations=0"),
    ({"evaluation.batch_size": 2.5}, "Received: evaluation.batch_size=2.5"),
    ({"evaluation.distance_points": -1}, "Received: evaluation.distance_points=-1"),
    ({"evaluation.train_accuracy": "no"}, "Argument `evaluation.train_accuracy` must be True "
                                          "or False. Received: evaluation.train_accuracy='no'"),
])
def test_resolve_errors(changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve(merge(BASE, changes))


def test_valid_keys():
    resolved = resolve(BASE)
    assert valid_keys(resolved, "data") == {"source": None, "dir": None, "train_examples": None,
                                            "test_examples": None, "download": False}
    optimizer = valid_keys(resolved, "optimizer")
    assert {"name", "momentum", "nesterov", "global_clipnorm"} <= set(optimizer)
    assert "learning_rate" not in optimizer                 # always from `schedule`
    assert valid_keys(resolved, "evaluation") == DEFAULTS["evaluation"]
    lars = valid_keys(resolve({"optimizer": {"name": "lars"}}), "optimizer")
    assert lars["trust_coefficient"] == 0.001


# parse_override

@pytest.mark.parametrize("text, expected", [
    ("true", True), ("Yes", True), ("1", True), (" on ", True),
    ("false", False), ("NO", False), ("0", False), ("off", False),
])
def test_parse_bool(text, expected):
    assert parse_override("evaluation.train_accuracy", text, True) is expected
    assert parse_override("evaluation.train_accuracy", text, False) is expected


def test_parse_numbers():
    assert parse_override("seed", "7", 0) == 7 and type(parse_override("seed", "7", 0)) is int
    # A float where an int stood is kept as a float: the consumer decides.
    assert parse_override("schedule.epochs", "1.5", 10) == 1.5
    assert parse_override("schedule.epochs", "1e3", 10) == 1000.0
    value = parse_override("schedule.learning_rate", "3", 0.1)
    assert value == 3.0 and type(value) is float
    assert parse_override("schedule.learning_rate", "-2.5e-3", 0.1) == -0.0025


def test_parse_sequences():
    assert parse_override("schedule.boundaries", "6,8", ()) == (6, 8)
    assert parse_override("schedule.boundaries", "(6, 8)", ()) == (6, 8)
    assert parse_override("schedule.boundaries", "[6, 8.5]", (1,)) == (6, 8.5)
    assert parse_override("schedule.boundaries", "6", ()) == (6,)
    assert parse_override("schedule.boundaries", "", (6, 8)) == ()
    assert parse_override("schedule.boundaries", "  ", (6, 8)) == ()
    assert parse_override("model.hidden_units", "32,32", [256]) == [32, 32]


def test_parse_none_and_strings():
    # A number option that takes None can be switched off (ghost -> batch norm).
    assert parse_override("model.virtual_batch_size", "None", 16) is None
    assert parse_override("schedule.polynomial_power", " None", 2.0) is None
    assert parse_override("model.virtual_batch_size", "32", None) == 32
    assert parse_override("data.train_examples", "None", None) is None
    assert parse_override("schedule.polynomial_power", "0.5", None) == 0.5
    assert parse_override("model.hidden_units", "(6, 8)", None) == (6, 8)
    assert parse_override("data.dir", "/data/fashion mnist", None) == "/data/fashion mnist"
    assert parse_override("model.normalization", "ghost", "batch") == "ghost"
    assert parse_override("model.normalization", "None", "batch") is None


@pytest.mark.parametrize("key, text, current, message", [
    ("evaluation.train_accuracy", "maybe", True,
     "--set evaluation.train_accuracy=maybe: expected true or false, e.g. "
     "--set evaluation.train_accuracy=true."),
    ("seed", "seven", 0, "--set seed=seven: expected a number, e.g. --set seed=0.1."),
    ("schedule.learning_rate", "", 0.1, "expected a number"),
    ("schedule.boundaries", "6;8", (), "--set schedule.boundaries=6;8: expected a "
                                       "comma-separated list, e.g. --set schedule.boundaries=6,8."),
    ("schedule.boundaries", "'a'", (), "expected a comma-separated list"),
    ("schedule.boundaries", "None", (), "expected a comma-separated list"),
])
def test_parse_errors(key, text, current, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_override(key, text, current)


# lookup

def test_lookup():
    resolved = resolve(BASE)
    assert lookup(resolved, "seed") == 0 and lookup(resolved, "precision") == "float32"
    assert lookup(resolved, "schedule.boundaries") == (2,)           # set
    assert lookup(resolved, "schedule.decay") == 0.1                 # Regime's default
    assert lookup(resolved, "model.normalization_momentum") == 0.99  # the model's default
    assert lookup(resolved, "model.seed") is None
    assert lookup(resolved, "optimizer.nesterov") is False           # SGD's default
    assert lookup(resolved, "data.dir") is None
    assert lookup(resolved, "evaluation.distance_points") == 0
    for bad in ("name", "batch", "data", "sched.epochs", "model.hiden_units", "optimizer.learning_rate",
                "evaluation.every"):
        with pytest.raises(KeyError):
            lookup(resolved, bad)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", 3])
def test_run_name_must_be_a_safe_folder_name(name):
    with pytest.raises(ValueError, match="Argument `name`"):
        resolve({"name": name})


def test_an_optimizer_takes_only_its_own_and_kerass_common_arguments():
    from keras_bigbatch.training import registry

    lamb = registry.optimizer_arguments("lamb")
    assert "momentum" not in lamb and {"global_clipnorm", "use_ema", "loss_scale_factor"} <= set(lamb)
    with pytest.raises(ValueError, match=r"optimizer.momentum"):
        resolve({"optimizer": {"name": "lamb", "momentum": 0.9}})


@pytest.mark.parametrize("text,expected", [("true", True), ("False", False), ("auto", "auto")])
def test_jit_compile_from_the_command_line(text, expected):
    value = parse_override("jit_compile", text, lookup(resolve({}), "jit_compile"))
    assert resolve({"jit_compile": value})["jit_compile"] == expected


def test_precision_and_jit_compile_choices():
    assert resolve({"precision": "auto"})["precision"] == "auto"
    with pytest.raises(ValueError, match=r"`jit_compile` must be one of \('auto', True, False\)"):
        resolve({"jit_compile": "xla"})
    with pytest.raises(ValueError, match=r"`precision` must be one of \('auto'"):
        resolve({"precision": "float16"})


def test_batch_growth_section():
    growth = {"schedule": {"batch_size": 64, "epochs": 3, "learning_rate": 0.1,
                           "boundaries": (1, 2), "decay": 0.5},
              "batch_growth": {"enabled": True, "max_batch_size": 128}}
    plan = batch_growth_plan(resolve(growth))
    assert plan.batch_size.boundaries == {0: 64, 1: 128}
    assert sorted(plan.learning_rates) == [0, 2]
    assert batch_growth_plan(resolve({})) is None
    with pytest.raises(ValueError, match="batch_growth.max_batch_size"):
        resolve(merge(growth, {"batch_growth.max_batch_size": 0}))
    with pytest.raises(ValueError, match="max_batch_size` must be >= the regime's batch size"):
        resolve(merge(growth, {"batch_growth.max_batch_size": 32}))
    with pytest.raises(ValueError, match="polynomial_power=None"):
        resolve(merge(growth, {"schedule.boundaries": (), "schedule.polynomial_power": 2}))
