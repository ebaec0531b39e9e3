"""SearchSpace: defaults, narrowing, the trial config's arithmetic, and bad knobs."""

import keras_tuner
import pytest

from keras_bigbatch.training import registry
from keras_bigbatch.tuner import SearchSpace

DIGITS = {"data": {"source": "digits"},
          "model": {"name": "mlp", "hidden_units": (32,), "normalization": "batch"},
          "optimizer": {"name": "sgd", "momentum": 0.9},
          "schedule": {"batch_size": 512, "epochs": 10, "learning_rate": 0.1,
                       "boundaries": (6, 8)}}


def test_defaults_cover_the_seeds_knobs():
    space = SearchSpace(DIGITS, num_replicas=2).get_config()
    assert space["batch_size"] == 512 and space["learning_rate_rule"] == "linear"
    assert space["optimizer"] == ["sgd", "lars", "mclr", "percent_delta"]
    assert space["warmup_epochs"] == [0.0, 1.0, 2.0, 3.0]
    # 0 = plain BN; powers of two from 16 that divide the per-replica batch 256
    assert space["ghost_batch_size"] == [0, 16, 32, 64, 128, 256]
    assert space["regime_adaptation"] is False
    several = SearchSpace(DIGITS, batch_size=[256, 768]).get_config()
    assert several["learning_rate_rule"] == ["linear", "sqrt"]
    assert several["ghost_batch_size"] == [0, 16, 32, 64, 128, 256]  # divide 256 and 768


def test_knobs_are_fixed_narrowed_or_ranged():
    space = SearchSpace(DIGITS, optimizer="lars", base_learning_rate=(0.5, 2.0),
                        ghost_batch_size=[0, 64], warmup_epochs=(0.0, 2.0))
    hp = keras_tuner.HyperParameters()
    values = space.declare(hp)
    assert values["optimizer"] == "lars" and 0.5 <= values["base_learning_rate"] <= 2.0
    names = {h.name: type(h).__name__ for h in hp.space}
    assert names["optimizer"] == "Fixed" and names["base_learning_rate"] == "Float"
    assert names["ghost_batch_size"] == "Choice" and names["warmup_epochs"] == "Float"
    assert hp.space[[h.name for h in hp.space].index("base_learning_rate")].sampling == "log"


def test_each_optimizer_has_its_own_conditional_rate():
    space = SearchSpace(DIGITS, optimizer=["sgd", "lars"])
    hp = keras_tuner.HyperParameters()
    values = space.declare(hp)
    names = [h.name for h in hp.space]
    assert {"base_learning_rate_sgd", "base_learning_rate_lars", "trust_coefficient"} <= set(names)
    chosen = values["optimizer"]
    assert values["base_learning_rate"] == hp.values[f"base_learning_rate_{chosen}"]
    assert (values["trust_coefficient"] is None) == (chosen != "lars")
    # the default ranges differ by optimizer (per 256 examples)
    sgd = hp.space[names.index("base_learning_rate_sgd")]
    lars = hp.space[names.index("base_learning_rate_lars")]
    assert (sgd.min_value, sgd.max_value) == (0.01, 1.0)
    assert (lars.min_value, lars.max_value) == (0.05, 5.0)


def test_trial_config_scales_the_rate_from_the_reference_batch():
    space = SearchSpace(DIGITS, reference_batch_size=128)
    values = {"batch_size": 512, "learning_rate_rule": "linear", "base_learning_rate": 0.1,
              "warmup_epochs": 2.0, "optimizer": "lars", "trust_coefficient": 0.002,
              "weight_decay": 1e-4, "ghost_batch_size": 32, "regime_adaptation": False}
    config = space.trial_config(values, dataset_size=1347)
    assert config["schedule"]["learning_rate"] == pytest.approx(0.1 * 512 / 128)  # linear: x4
    assert config["schedule"]["epochs"] == 10 and config["schedule"]["warmup_epochs"] == 2.0
    assert config["schedule"]["boundaries"] == (6.0, 8.0)
    assert config["optimizer"] == {"name": "lars", "momentum": 0.9, "weight_decay": 1e-4,
                                   "trust_coefficient": 0.002}
    assert config["model"]["normalization"] == "ghost"
    assert config["model"]["virtual_batch_size"] == 32
    sqrt = space.trial_config(dict(values, learning_rate_rule="sqrt", ghost_batch_size=0), 1347)
    assert sqrt["schedule"]["learning_rate"] == pytest.approx(0.1 * 2.0)  # sqrt(512 / 128)
    assert sqrt["model"]["normalization"] == "batch" and sqrt["model"]["virtual_batch_size"] is None


def test_another_optimizer_keeps_the_run_settings_it_takes():
    run = dict(DIGITS, optimizer={"name": "sgd", "momentum": 0.8, "nesterov": True,
                                  "global_clipnorm": 1.0, "weight_decay": 1e-3})
    space = SearchSpace(run, optimizer="lars")
    values = {"batch_size": 512, "learning_rate_rule": "linear", "base_learning_rate": 0.5,
              "warmup_epochs": 0.0, "optimizer": "lars", "trust_coefficient": 0.001,
              "weight_decay": 1e-4, "ghost_batch_size": 0, "regime_adaptation": False}
    assert space.trial_config(values, 1347)["optimizer"] == {
        "name": "lars", "momentum": 0.8, "nesterov": True, "global_clipnorm": 1.0,
        "weight_decay": 1e-4, "trust_coefficient": 0.001}


def test_regime_adaptation_is_a_budget_of_updates():
    # on: as many updates as the reference batch makes in the run's epochs (Hoffer's RA)
    space = SearchSpace(DIGITS, reference_batch_size=128, regime_adaptation=[False, True])
    values = {"batch_size": 512, "learning_rate_rule": "sqrt", "base_learning_rate": 0.1,
              "warmup_epochs": 1.0, "optimizer": "sgd", "trust_coefficient": None,
              "weight_decay": 1e-4, "ghost_batch_size": 0, "regime_adaptation": True}
    schedule = space.trial_config(values, dataset_size=1347)["schedule"]
    stretch = (1347 // 128) / (1347 // 512)  # 10 / 2 whole steps per epoch
    assert schedule["epochs"] == pytest.approx(10 * stretch)
    assert schedule["boundaries"] == pytest.approx((6 * stretch, 8 * stretch))
    assert schedule["learning_rate"] == pytest.approx(0.2) and schedule["warmup_epochs"] == 1.0
    off = space.trial_config(dict(values, regime_adaptation=False), 1347)["schedule"]
    assert off["epochs"] == 10  # a budget of epochs


@pytest.mark.parametrize("knobs,message", [
    ({"ghost_batch_size": [48]}, "must divide every per-replica batch [256]"),
    ({"ghost_batch_size": [0, 96]}, "invalid value(s) [96]"),
    ({"batch_size": 511}, "that the 2 replica(s) divide"),
    ({"optimizer": ["sgd", "adam"]}, "optimizers are ['sgd', 'lars', 'mclr', 'percent_delta']"),
    ({"learning_rate_rule": "cubic"}, "rules are ['linear', 'sqrt']"),
    ({"warmup_epochs": [0, 10]}, "warm-up epochs are in [0, 10)"),
    ({"base_learning_rate_sgd": (2.0, 1.0)}, "(low, high) with 0 < low <= high"),
    ({"base_learning_rate_lars": []}, "has no value to choose from"),
    ({"base_learning_rate": (0.1, 1.0)}, "with several optimizers give base_learning_rate_sgd, "
                                         "base_learning_rate_lars"),
    ({"optimizer": "sgd", "base_learning_rate_lars": 1.0}, "is for the optimizer 'lars', which"),
    ({"optimizer": ["sgd", "mclr"], "trust_coefficient": 0.01}, "the search does not try LARS"),
    ({"warmup_epochs": [0, 7]}, "value 7 cannot make a schedule"),
    ({"momentum": 0.5}, "Unknown knob(s) ['momentum']"),
])
def test_a_knob_without_a_valid_value_is_refused(knobs, message):
    with pytest.raises(ValueError) as error:
        SearchSpace(DIGITS, num_replicas=2, **knobs)
    assert message in str(error.value)


def test_ghost_batches_need_a_model_with_batch_normalization():
    plain = dict(DIGITS, model={"name": "mlp", "hidden_units": (32,), "normalization": "none"})
    space = SearchSpace(plain)
    assert "ghost_batch_size" not in space.get_config()  # a default knob: left out
    hp = keras_tuner.HyperParameters()
    assert "ghost_batch_size" not in space.declare(hp) and "ghost_batch_size" not in hp.values
    with pytest.raises(ValueError, match="needs a model with batch normalization: the run's "
                                         "model 'mlp' has normalization 'none'"):
        SearchSpace(plain, ghost_batch_size=[0, 32])


# A user's own models (registered for one test each): the ghost_batch_size
# knob applies where the factory takes `virtual_batch_size`.
def _with_ghosts(input_shape, num_classes, filters=4, normalization="batch",
                 virtual_batch_size=None):
    raise AssertionError("never built here")


def _ghosts_only(input_shape, num_classes, filters=4, virtual_batch_size=None):
    raise AssertionError("never built here")


def _no_ghosts(input_shape, num_classes, filters=4, normalization="batch"):
    raise AssertionError("never built here")


def _layer_normalized(input_shape, num_classes, normalization="layer", virtual_batch_size=None):
    raise AssertionError("never built here")


VALUES = {"batch_size": 512, "learning_rate_rule": "linear", "base_learning_rate": 0.1,
          "warmup_epochs": 0.0, "optimizer": "sgd", "trust_coefficient": None,
          "weight_decay": 1e-4, "ghost_batch_size": 32, "regime_adaptation": False}


def _own(monkeypatch, factory, **args):
    monkeypatch.setitem(registry._MODELS, "my_cnn", factory)
    return dict(DIGITS, model={"name": "my_cnn", **args})


@pytest.mark.parametrize("factory,normalization", [(_with_ghosts, "ghost"), (_ghosts_only, None)])
def test_the_ghost_knob_sets_a_custom_models_arguments(monkeypatch, factory, normalization):
    space = SearchSpace(_own(monkeypatch, factory), num_replicas=2)
    assert space.get_config()["ghost_batch_size"] == [0, 16, 32, 64, 128, 256]
    model = space.trial_config(VALUES, 1347)["model"]
    assert model.get("virtual_batch_size") == 32 and model.get("normalization") == normalization
    plain = space.trial_config(dict(VALUES, ghost_batch_size=0), 1347)["model"]
    assert plain.get("virtual_batch_size") is None
    assert plain.get("normalization") == (normalization and "batch")


def test_a_custom_model_without_the_ghost_argument(monkeypatch):
    config = _own(monkeypatch, _no_ghosts, filters=8)
    space = SearchSpace(config)
    assert "ghost_batch_size" not in space.get_config()  # a default knob: left out
    hp = keras_tuner.HyperParameters()
    values = space.declare(hp)
    assert "ghost_batch_size" not in values and "ghost_batch_size" not in hp.values
    assert space.trial_config(values, 1347)["model"] == {"name": "my_cnn", "filters": 8}
    for spec in (32, [0, 32], 0):  # asked for: refused, naming what the model lacks
        with pytest.raises(ValueError) as error:
            SearchSpace(config, ghost_batch_size=spec)
        assert str(error.value) == (
            "Knob `ghost_batch_size` sets model.virtual_batch_size, which model 'my_cnn' does "
            "not take (it takes: ['filters', 'normalization']). "
            f"Received: ghost_batch_size={spec!r}")


def test_a_custom_models_default_normalization_decides(monkeypatch):
    config = _own(monkeypatch, _layer_normalized)  # normalization="layer" by default
    assert "ghost_batch_size" not in SearchSpace(config).get_config()
    with pytest.raises(ValueError, match="model 'my_cnn' has normalization 'layer'"):
        SearchSpace(config, ghost_batch_size=16)
    batch = dict(config, model={"name": "my_cnn", "normalization": "batch"})
    assert SearchSpace(batch).get_config()["ghost_batch_size"][:2] == [0, 16]
