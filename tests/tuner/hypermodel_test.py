"""BigBatchHyperModel: trials train on the training split less a held-out
validation split, never see the test split, and Hyperband's budgets are
prefixes of the schedule."""

import keras_tuner
import numpy as np
import pytest

from keras_bigbatch import training
from keras_bigbatch.data import ArraySource
from keras_bigbatch.data import digits_source
from keras_bigbatch.data import register_source
from keras_bigbatch.data import registry as data_registry
from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.training import trainer
from keras_bigbatch.tuner import BigBatchHyperModel
from keras_bigbatch.tuner.hypermodel import check_objective

DIGITS = {"name": "digits", "data": {"source": "digits"},
          "model": {"name": "mlp", "hidden_units": (32,), "normalization": "batch"},
          "optimizer": {"name": "sgd", "momentum": 0.0},
          "schedule": {"batch_size": 64, "epochs": 3, "learning_rate": 0.1}}
SGD = {"optimizer": "sgd", "base_learning_rate": 0.4, "warmup_epochs": 0.0,
       "weight_decay": 1e-5, "ghost_batch_size": 0}


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), -1) == y))


def test_trials_are_judged_on_held_out_training_examples_only():
    hypermodel = BigBatchHyperModel(DIGITS, SGD, verbose=False)
    assert hypermodel.validation_examples == round(0.1 * 1348)
    hp = keras_tuner.HyperParameters()
    config = hypermodel.trial_config(hp)
    assert config["evaluation"]["test_accuracy"] is False  # trials never see the test split
    data = trainer.source(config)
    full = trainer.source(DIGITS)
    x_train, _ = data.arrays("train")
    x_val, y_val = data.arrays("validation")
    assert len(x_train) + len(x_val) == full.num_examples("train")
    rows = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    assert not any(row.tobytes() in rows for row in x_val.reshape(len(x_val), -1))
    model = hypermodel.build(hp)
    metrics = hypermodel.fit(hp, model)
    # the best epoch's val_accuracy is at least the last epoch's, this model's
    # accuracy on the held-out examples
    assert metrics["val_accuracy"] >= _accuracy(model, x_val, y_val) - 1e-9
    assert set(metrics) == {"val_accuracy", "accuracy", "loss"}
    x_test, y_test = full.arrays("test")
    assert hypermodel.test_accuracy(model) == pytest.approx(_accuracy(model, x_test, y_test))


def _digits_unreadable_test():
    # digits whose test images have the wrong shape: any pass over the test split fails
    train = digits_source().arrays("train")
    return ArraySource("digits_unreadable_test", train,
                       (np.zeros((10, 9, 9), np.float32), np.zeros(10, np.int64)), num_classes=10)


def test_trials_never_read_the_test_split(monkeypatch):
    # registered for this test only (the registry is global to the process)
    monkeypatch.setattr(data_registry, "_FACTORIES", dict(data_registry._FACTORIES))
    register_source("digits_unreadable_test")(_digits_unreadable_test)
    config = dict(DIGITS, data={"source": "digits_unreadable_test"})
    hypermodel = BigBatchHyperModel(config, SGD, verbose=False)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert hypermodel.fit(hp, model)["val_accuracy"] > 0.5  # trained and validated
    with pytest.raises(Exception):  # only the best trial's one measurement reads it
        hypermodel.test_accuracy(model)


def test_hyperband_budgets_are_prefixes_of_the_schedule():
    # budget 1 epoch, then continued from epoch 1 to 3: the learning rate and data
    # pick up where the full schedule has them; with momentum 0 (no slots to lose)
    # the weights equal one uninterrupted 3-epoch trial's
    hypermodel = BigBatchHyperModel(DIGITS, dict(SGD, warmup_epochs=1.0), verbose=False)
    hp = keras_tuner.HyperParameters()
    whole = hypermodel.build(hp)
    hypermodel.fit(hp, whole)
    parts = hypermodel.build(hp)
    first = hypermodel.fit(hp, parts, epochs=1, initial_epoch=0)
    steps = trainer.source(hypermodel.trial_config(hp)).steps_per_epoch(64)
    assert int(parts.optimizer.iterations.numpy()) == steps
    hypermodel.fit(hp, parts, epochs=3, initial_epoch=1)
    assert int(parts.optimizer.iterations.numpy()) == 3 * steps
    for a, b in zip(whole.get_weights(), parts.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert 0 < first["val_accuracy"] <= 1


def test_hyperband_budget_scales_with_regime_adaptation():
    # regime adaptation from batch 32 to 64 doubles the epochs (same updates):
    # a budget of 1 of the run's 3 epochs trains 2 of the trial's 6
    hypermodel = BigBatchHyperModel(DIGITS, dict(SGD, regime_adaptation=True),
                                    reference_batch_size=32, verbose=False)
    hp = keras_tuner.HyperParameters()
    config = hypermodel.trial_config(hp)
    assert config["schedule"]["epochs"] == pytest.approx(3 * (1213 // 32) / (1213 // 64))
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, epochs=1)
    assert int(model.optimizer.iterations.numpy()) == 2 * (1213 // 64)


def test_trials_under_a_mirrored_strategy(mirrored):
    # ghost sizes are checked against the per-replica batch (64 / 2 replicas)
    with pytest.raises(ValueError, match=r"per-replica batch \[32\]"):
        BigBatchHyperModel(DIGITS, dict(SGD, ghost_batch_size=64), strategy=mirrored)
    hypermodel = BigBatchHyperModel(DIGITS, dict(SGD, ghost_batch_size=16), strategy=mirrored,
                                    verbose=False)
    hp = keras_tuner.HyperParameters()
    with mirrored.scope():
        model = hypermodel.build(hp)
    metrics = hypermodel.fit(hp, model)
    assert model.distribute_strategy is mirrored
    ghosts = [layer.virtual_batch_size for layer in model.layers
              if isinstance(layer, GhostBatchNormalization)]
    assert ghosts == [16]
    x_test, y_test = trainer.source(DIGITS).arrays("test")
    assert hypermodel.test_accuracy(model) == pytest.approx(_accuracy(model, x_test, y_test))
    assert metrics["val_accuracy"] > 0.5


def test_an_objective_the_trainer_does_not_report_is_refused():
    assert check_objective("val_accuracy").direction == "max"
    assert check_objective("loss").direction == "min"
    with pytest.raises(ValueError, match=r"one of \['accuracy', 'loss', 'val_accuracy'\]"):
        check_objective("val_loss")


def test_data_passed_to_search_is_refused_not_ignored():
    hypermodel = BigBatchHyperModel(DIGITS, SGD, verbose=False)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    expected = (r"pass nothing to `tuner.search\(\)` but callbacks\. "
                r"Received: \['1 positional argument\(s\)', 'batch_size'\]")
    with pytest.raises(ValueError, match=expected):
        hypermodel.fit(hp, model, np.zeros((4, 8, 8)), batch_size=32)


def test_validation_split_must_leave_training_examples():
    with pytest.raises(ValueError, match="must be smaller than the training split"):
        BigBatchHyperModel(DIGITS, SGD, validation_examples=1348)
    with pytest.raises(ValueError, match="cannot hold out a validation split"):
        training.build(dict(DIGITS, data={"source": "synthetic", "image_size": 8,
                                          "train_examples": 256, "test_examples": 64},
                            model={"name": "mlp", "hidden_units": (8,)},
                            evaluation={"validation_examples": 10}))


def test_trials_train_in_micro_batches_with_the_same_result():
    # The base config's micro_batch_size reaches every trial: the model from
    # `build` runs 64 rows as 4 passes of 16 (ghost 16), and the trial's
    # metrics are the one-pass trial's.
    from keras_bigbatch.micro_batching import micro_batch_size_of

    knobs = dict(SGD, ghost_batch_size=16)
    results = []
    for micro in (None, 16):
        hypermodel = BigBatchHyperModel(dict(DIGITS, micro_batch_size=micro), knobs,
                                        verbose=False)
        hp = keras_tuner.HyperParameters()
        model = hypermodel.build(hp)
        assert micro_batch_size_of(model) == micro
        results.append(hypermodel.fit(hp, model))
    assert results[1] == pytest.approx(results[0], rel=1e-5)
