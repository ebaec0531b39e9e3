import keras
import numpy as np
import pytest

from keras_bigbatch.training import build
from keras_bigbatch.training import fit
from keras_bigbatch.training import resolve
from keras_bigbatch.training import train
from keras_bigbatch.training.config import merge


def digits_config(**changes):
    """A 2-second run on the digits; `changes` are sections or dotted keys."""
    base = {
        "name": "digits",
        "seed": 1,
        "data": {"source": "digits"},
        "model": {"name": "mlp", "hidden_units": (32,), "normalization": "ghost",
                  "virtual_batch_size": 32},
        "schedule": {"batch_size": 64, "epochs": 2, "learning_rate": 0.2},
        "evaluation": {"evaluations": 2},
    }
    return merge(base, changes)


def weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def test_mirrored_matches_single_device(mirrored):
    # Ghost batches of 32 = the per-replica batch under 2 replicas, so the
    # two runs normalize exactly the same examples together.
    single = train(digits_config(), verbose=False)
    double = train(digits_config(), strategy=mirrored, verbose=False)
    assert double["num_replicas"] == 2 and double["per_replica_batch_size"] == 32
    assert single["updates"] == double["updates"] == 2 * (1348 // 64)
    for a, b in zip(weights(single["model"]), weights(double["model"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert single["test_accuracy"] == pytest.approx(double["test_accuracy"], abs=1e-9)
    assert single["test_accuracy"] > 0.8


def test_build_then_fit_under_a_strategy(mirrored):
    config = digits_config(**{"evaluation.train_accuracy": False})
    model = build(config, mirrored)
    assert model.optimizer is not None and model.compiled
    assert "Mirrored" in type(model.trainable_variables[0].value).__name__
    result = fit(config, model, mirrored, verbose=False)
    assert result["train_accuracy"] is None
    assert result["updates"] == int(model.optimizer.iterations.numpy())
    assert set(result["history"]) >= {"loss", "accuracy", "test_accuracy"}


def test_result_fields_and_distance_record():
    config = digits_config(**{"model.normalization": "batch", "model.virtual_batch_size": None,
                              "schedule": {"epochs": 3, "learning_rate": 0.05, "warmup_epochs": 1},
                              "evaluation.evaluations": 3, "evaluation.distance_points": 10})
    result = train(config, verbose=False)
    assert result["epochs"] == 3 and result["updates"] == 63 and result["steps_per_epoch"] == 21
    assert result["curve"]["updates"] == [21, 42, 63]
    steps, dist = result["distance"]["updates"], result["distance"]["distance"]
    assert steps[0] == 0 and dist[0] == 0.0 and steps[-1] == 63
    assert all(b > a for a, b in zip(steps, steps[1:])) and dist[-1] > 0
    assert result["config"]["schedule"]["warmup_epochs"] == 1
    assert result["history"]["test_accuracy"][-1] == result["test_accuracy"]


def test_ghost_batch_must_divide_per_replica_batch(mirrored):
    config = digits_config(**{"schedule.epochs": 1, "model.virtual_batch_size": 64})
    with pytest.raises(ValueError, match=r"`model.virtual_batch_size` \(64\) must divide the "
                                         r"per-replica batch size \(32"):
        build(config, strategy=mirrored)


def test_global_batch_not_divisible_by_replicas(mirrored):
    config = digits_config(**{"schedule.batch_size": 63, "model.normalization": "batch",
                              "model.virtual_batch_size": None})
    with pytest.raises(ValueError, match="divisible by the number of replicas"):
        build(config, strategy=mirrored)


@pytest.mark.parametrize("changes,match", [
    ({"data.source": "cifar"}, r"data.source.*'digits',.*'fashion_mnist'"),
    ({"data.train_examples": 0}, "train_examples"),
    ({"data.nope": 1}, r"data.nope"),
    ({"model.name": "vgg"}, r"model.name.*mlp"),
    ({"model.normalization": "layer"}, "normalization"),
    ({"optimizer.name": "adam_x"}, "optimizer.name"),
    ({"optimizer.trust_coefficient": 0.01}, r"optimizer.trust_coefficient"),
    ({"schedule.learning_rate": -1.0}, "learning_rate"),
    ({"schedule.batch": 8}, r"schedule.batch"),
    ({"loss.name": "hinge"}, "loss.name"),
    ({"precision": "float8"}, "precision"),
    ({"batch": 8}, r"Unknown config key\(s\) \['batch'\]"),
])
def test_bad_config_is_named(changes, match):
    with pytest.raises(ValueError, match=match):
        build(digits_config(**changes))


def test_momentum_out_of_range_is_named_by_the_optimizer():
    with pytest.raises(ValueError, match="momentum"):
        build(digits_config(**{"optimizer.name": "lars", "optimizer.momentum": 1.5}))


@pytest.mark.parametrize("optimizer,rate", [
    ({"name": "lars", "momentum": 0.9, "trust_coefficient": 0.01, "weight_decay": 1e-4}, 1.0),
    ({"name": "mclr", "momentum": 0.0}, 0.01),
    ({"name": "percent_delta", "momentum": 0.9}, 0.01),
    ({"name": "lamb"}, 0.01),
    ({"name": "keras_bigbatch>LARS", "momentum": 0.9, "trust_coefficient": 0.01}, 1.0),
    # Keras's own optimizer arguments pass through
    ({"name": "adamw", "global_clipnorm": 1.0, "use_ema": True}, 0.01),
    ({"name": "sgd", "momentum": 0.9, "loss_scale_factor": 4.0}, 0.2),
    ({"name": "cblr", "momentum": 0.5, "epsilon": 1e-2}, 0.01),
])
def test_registered_and_keras_optimizers_train(optimizer, rate):
    config = digits_config(optimizer=optimizer, **{"schedule.epochs": 3,
                                                   "schedule.learning_rate": rate})
    if optimizer["name"] == "cblr":  # one replica, Hessian diagonal via CurvatureModel
        config = merge(config, {"model.normalization": "none", "model.virtual_batch_size": None})
    result = train(config, verbose=False)
    name = optimizer["name"].split(">")[-1].lower().replace("_", "")
    assert type(result["model"].optimizer).__name__.lower() == name
    for key, value in optimizer.items():
        if key != "name":
            assert getattr(result["model"].optimizer, key) == value, key
    assert result["test_accuracy"] > 0.8, optimizer


def test_cblr_builds_a_curvature_model():
    from keras_bigbatch.training import CurvatureModel

    model = build(digits_config(optimizer={"name": "cblr"}, **{
        "model.normalization": "none", "model.virtual_batch_size": None}))
    assert isinstance(model, CurvatureModel)


def test_small_resnet_and_label_smoothing_from_a_config():
    config = digits_config(model={"name": "small_resnet", "filters": (4, 8, 8),
                                  "normalization": "batch"},
                           loss={"name": "sparse_categorical_crossentropy",
                                 "label_smoothing": 0.1},
                           **{"schedule.epochs": 1, "evaluation.train_accuracy": False})
    result = train(config, verbose=False)
    assert result["model"].name == "small_resnet"
    assert result["model"].loss.label_smoothing == 0.1
    # with smoothing 0.1 over 10 classes the loss cannot fall below the targets' entropy
    floor = -(0.91 * np.log(0.91) + 9 * 0.01 * np.log(0.01))
    assert min(result["history"]["loss"]) > floor


def test_mixed_float16_trains_finite_and_close_to_float32():
    full = train(digits_config(), verbose=False)
    half = train(digits_config(precision="mixed_float16"), verbose=False)
    assert type(half["model"].optimizer).__name__ == "LossScaleOptimizer"
    assert half["model"].layers[1].compute_dtype == "float16"
    assert keras.config.dtype_policy().name == "float32"  # restored after build
    for a, b in zip(weights(full["model"]), weights(half["model"])):
        assert np.all(np.isfinite(b))
        np.testing.assert_allclose(a, b, atol=0.05)
    assert abs(full["test_accuracy"] - half["test_accuracy"]) < 0.02


def test_resolve_fills_defaults_and_keeps_the_given_values():
    config = resolve({"schedule": {"batch_size": 32, "epochs": 1, "learning_rate": 0.1}})
    assert config["optimizer"] == {"name": "sgd", "momentum": 0.9}
    assert config["data"]["source"] == "fashion_mnist"
    assert config["schedule"]["batch_size"] == 32


@pytest.mark.parametrize("normalization", ["batch", "sync_batch"])
def test_batch_normalization_under_mirrored_matches_one_device(mirrored, normalization):
    # "batch" becomes synchronized BN under several replicas (plan.model_arguments)
    changes = {"model.normalization": normalization, "model.virtual_batch_size": None,
               "schedule.epochs": 1}
    single = train(digits_config(**changes), verbose=False)
    double = train(digits_config(**changes), strategy=mirrored, verbose=False)
    # moving statistics included: every replica normalized with the global batch's
    for a, b in zip(weights(single["model"]), weights(double["model"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_registered_model_without_a_seed_argument(monkeypatch):
    from keras_bigbatch.training import registry

    def linear(input_shape, num_classes, units=10):
        return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                                 keras.layers.Dense(num_classes)])

    monkeypatch.setitem(registry._MODELS, "linear", linear)
    result = train(digits_config(model={"name": "linear"}, **{"schedule.epochs": 1}),
                   verbose=False)
    assert result["updates"] == 1348 // 64 and result["test_accuracy"] > 0.5


def test_a_regime_shorter_than_an_epoch_trains_exactly_its_steps():
    result = train(digits_config(**{"schedule.epochs": 0.5}), verbose=False)
    assert (result["epochs"], result["updates"]) == (1, round(0.5 * (1348 // 64)))


def growth_config():
    # digits: 1348 training examples. Decay 0.5 at epoch 1 and 2 becomes
    # batch 64 -> 128, then (max 128) the rate halves: hybrid.
    return digits_config(**{
        "schedule": {"batch_size": 64, "epochs": 3, "learning_rate": 0.2,
                     "boundaries": (1, 2), "decay": 0.5},
        "batch_growth": {"enabled": True, "max_batch_size": 128},
        "evaluation.evaluations": 3})


def test_batch_growth_runs_the_plan_in_one_fit():
    result = train(growth_config(), verbose=False)
    # epochs of 1348 // 64 = 21, then 1348 // 128 = 10 steps twice
    assert result["updates"] == 21 + 10 + 10
    assert result["history"]["batch_size"] == [64, 128, 128]
    assert result["curve"]["updates"] == [21, 31, 41]
    rate = result["model"].optimizer.learning_rate
    assert float(np.asarray(rate)) == pytest.approx(0.1)  # halved at epoch 2 (hybrid)
    assert result["test_accuracy"] > 0.8


def test_batch_growth_under_mirrored_matches_one_device(mirrored):
    single = train(growth_config(), verbose=False)
    double = train(growth_config(), strategy=mirrored, verbose=False)
    assert double["updates"] == single["updates"] == 41
    for a, b in zip(weights(single["model"]), weights(double["model"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_batch_growth_checks_every_batch_of_the_plan(mirrored):
    # the grown batch 96 / 2 replicas = 48 is not a multiple of the ghost batch 32
    config = growth_config()
    config = merge(config, {"schedule.batch_size": 64, "batch_growth.max_batch_size": 96,
                            "schedule.decay": 0.6666666666666666})
    with pytest.raises(ValueError, match=r"virtual_batch_size` \(32\) must divide the per-replica "
                                         r"batch size \(48 = global batch 96"):
        build(config, mirrored)


def test_batch_growth_on_a_tpu_is_refused(monkeypatch):
    # no TPU here: the strategy reports the device kind a TPUStrategy would
    from keras_bigbatch.distribute import strategy as strategy_lib
    from keras_bigbatch.training import trainer

    monkeypatch.setattr(strategy_lib, "device_kind", lambda strategy: "tpu")
    with pytest.raises(ValueError, match="batch_growth.enabled=true` cannot run on TPUs"):
        trainer.plan(growth_config(), None)


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), -1) == y))


def test_validation_split_is_measured_and_the_test_split_can_stay_unseen():
    from keras_bigbatch.training import trainer

    config = digits_config(**{"evaluation.validation_examples": 200,
                              "evaluation.test_accuracy": False})
    result = train(config, verbose=False)
    x_val, y_val = trainer.source(resolve(config)).arrays("validation")
    assert len(x_val) == 200 and result["updates"] == 2 * ((1348 - 200) // 64)
    assert result["validation_accuracy"] == pytest.approx(_accuracy(result["model"], x_val, y_val))
    assert result["test_accuracy"] is None
    assert "test_accuracy" not in result["history"] and len(result["history"]["val_accuracy"]) == 2
    assert result["curve"]["val_accuracy"][-1] == result["validation_accuracy"]
    assert "test_accuracy" not in result["curve"]
    both = train(digits_config(**{"evaluation.validation_examples": 200}), verbose=False)
    assert both["test_accuracy"] is not None and both["validation_accuracy"] is not None


def test_a_fit_in_two_parts_equals_one_fit():
    # epochs=2, then initial_epoch=2 -> 4: the learning rate (warm-up, decay at 3)
    # and the data continue where the whole schedule has them; momentum 0, so no
    # optimizer slots are lost between the parts
    config = digits_config(**{"optimizer": {"name": "sgd", "momentum": 0.0},
                              "schedule": {"batch_size": 64, "epochs": 4, "learning_rate": 0.2,
                                           "warmup_epochs": 1, "boundaries": (3,)}})
    whole = train(config, verbose=False)
    model = build(config)
    first = fit(config, model, verbose=False, epochs=2)
    second = fit(config, model, verbose=False, epochs=4, initial_epoch=2)
    assert (first["updates"], second["updates"]) == (2 * 21, 4 * 21)
    assert second["epochs"] == 2 and second["curve"]["updates"][-1] == 4 * 21
    for a, b in zip(weights(whole["model"]), weights(model)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": 3}, r"`epochs` must be an int in \[1, 2\]"),
    ({"epochs": 0}, r"`epochs` must be an int in \[1, 2\]"),
    ({"initial_epoch": 2}, r"`initial_epoch` must be an int in \[0, 2\)"),
    ({"initial_epoch": 1, "checkpoint_dir": "unused"}, "`initial_epoch` cannot be combined with"),
    ({"epochs": 1, "checkpoint_dir": "unused"}, "`epochs` cannot be combined with"),
])
def test_bad_epoch_range_is_named(kwargs, match):
    config = digits_config()
    with pytest.raises(ValueError, match=match):
        fit(config, build(config), verbose=False, **kwargs)


def test_steps_per_execution_trains_the_same_updates():
    # 21 steps per epoch: 7 steps per compiled call make the same 42 updates
    one = train(digits_config(), verbose=False)
    seven = train(digits_config(steps_per_execution=7), verbose=False)
    assert seven["updates"] == one["updates"] == 42
    for a, b in zip(weights(one["model"]), weights(seven["model"])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    config = digits_config(steps_per_execution=4)
    with pytest.raises(ValueError, match=r"must divide the steps of every epoch \(\[21\]\).*"
                                         r"Valid: \[1, 3, 7, 21\]"):
        fit(config, build(config), verbose=False)
    with pytest.raises(ValueError, match="steps_per_execution"):
        resolve(digits_config(steps_per_execution=0))
