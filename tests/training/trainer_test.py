import json
import os

import numpy as np
import pytest

from keras_bigbatch.schedules import Regime
from keras_bigbatch.training import TrainConfig
from keras_bigbatch.training import train

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def digits_config(**changes):
    values = dict(
        name="digits",
        dataset="digits",
        regime=Regime(batch_size=64, epochs=2, learning_rate=0.2),
        hidden_units=(32,),
        normalization="ghost",
        virtual_batch_size=32,
        evaluations=2,
        seed=1,
    )
    values.update(changes)
    return TrainConfig(**values)


def weights(result):
    return [np.asarray(w) for w in result["model"].get_weights()]


def test_mirrored_matches_single_device(mirrored):
    # Ghost batches of 32 = the per-replica batch under 2 replicas, so the
    # two runs normalize exactly the same examples together.
    single = train(digits_config(), verbose=False)
    double = train(digits_config(), strategy=mirrored, verbose=False)
    assert double["num_replicas"] == 2 and double["per_replica_batch_size"] == 32
    assert single["updates"] == double["updates"] == 2 * (1348 // 64)
    for a, b in zip(weights(single), weights(double)):
        np.testing.assert_allclose(a, b, atol=2e-4, rtol=1e-3)
    assert abs(single["test_accuracy"] - double["test_accuracy"]) < 0.01
    assert single["test_accuracy"] > 0.8


def test_result_fields_and_distance_record():
    result = train(digits_config(normalization="batch", virtual_batch_size=None,
                                 regime=Regime(64, 3, 0.05, warmup_epochs=1)), verbose=False)
    assert result["epochs"] == 3 and result["updates"] == 63
    assert len(result["curve"]["test_accuracy"]) == 3
    steps, dist = result["distance"]["updates"], result["distance"]["distance"]
    assert steps[0] == 0 and dist[0] == 0.0 and steps[-1] == 63
    assert all(b > a for a, b in zip(steps, steps[1:]))
    assert dist[-1] > 0


def test_ghost_batch_must_divide_per_replica_batch(mirrored):
    config = digits_config(regime=Regime(64, 1, 0.05), virtual_batch_size=64)
    with pytest.raises(ValueError, match=r"`virtual_batch_size` \(64\) must divide the per-replica batch size \(32"):
        train(config, strategy=mirrored, verbose=False)


def test_global_batch_not_divisible_by_replicas(mirrored):
    config = digits_config(regime=Regime(63, 1, 0.05), normalization="batch", virtual_batch_size=None)
    with pytest.raises(ValueError, match="divisible by the number of replicas"):
        train(config, strategy=mirrored, verbose=False)


@pytest.mark.parametrize("changes,match", [
    (dict(dataset="cifar"), "dataset"),
    (dict(model="vgg"), "model"),
    (dict(normalization="layer"), "normalization"),
    (dict(virtual_batch_size=48), "virtual_batch_size"),
    (dict(momentum=1.5), "momentum"),
    (dict(train_examples=0), "train_examples"),
    (dict(optimizer="adam"), "optimizer"),
    (dict(optimizer_args=[("trust_coefficient", 0.01)]), "optimizer_args"),
    (dict(regime={"batch_size": 64, "epochs": 1, "learning_rate": -1.0}), "learning_rate"),
])
def test_bad_config(changes, match):
    with pytest.raises(ValueError, match=match):
        digits_config(**changes)


@pytest.mark.parametrize("optimizer,args", [
    ("lars", {"trust_coefficient": 0.01, "weight_decay": 1e-4}),
    ("mclr", {"momentum": 0.0}),
    ("percent_delta", {}),
    ("lamb", {}),
])
def test_layerwise_and_keras_optimizers_train(optimizer, args):
    rates = {"lars": 1.0, "mclr": 0.01, "percent_delta": 0.01, "lamb": 0.01}
    config = digits_config(optimizer=optimizer, optimizer_args=args,
                           regime=Regime(batch_size=64, epochs=3, learning_rate=rates[optimizer]))
    result = train(config, verbose=False)
    assert type(result["model"].optimizer).__name__.lower().replace("percentdelta", "percent_delta") == optimizer
    assert result["test_accuracy"] > 0.8
    assert result["config"]["optimizer_args"] == args


def test_optimizer_args_are_checked_against_the_optimizer():
    config = digits_config(optimizer="mclr", optimizer_args={"trust_coefficient": 0.01})
    with pytest.raises(ValueError, match=r"`optimizer_args` has \['trust_coefficient'\], which MCLR"):
        train(config, verbose=False)


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match=r"Unknown training option\(s\) \['batch'\]"):
        TrainConfig.from_dict({"name": "x", "regime": Regime(8, 1, 0.1), "batch": 8})


def test_cli_smoke_recipe_writes_table_json_and_png(tmp_path, capsys):
    from keras_bigbatch.training.cli import main

    out = tmp_path / "out"
    code = main([os.path.join(REPO, "recipes", "generalization_gap.py"), "--size", "smoke",
                 "--out", str(out), "--runs", "SB,LB+LR+GBN+RA"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "LB+LR+GBN+RA" in printed and "test acc" in printed
    payload = json.loads((out / "results.json").read_text())
    rows = {r["name"]: r for r in payload["results"]}
    assert rows["SB"]["updates"] == rows["LB+LR+GBN+RA"]["updates"] == 2 * (2048 // 32)
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_input(tmp_path, capsys):
    from keras_bigbatch.training.cli import main

    recipe = os.path.join(REPO, "recipes", "generalization_gap.py")
    assert main([str(tmp_path / "nope.py")]) == 2
    assert "Recipe file not found" in capsys.readouterr().err
    assert main([recipe, "--runs", "XL"]) == 2
    assert "unknown run name(s) ['XL']" in capsys.readouterr().err
    assert main([recipe, "--size", "smoke", "--data-dir", str(tmp_path), "--runs", "SB",
                 "--out", str(tmp_path / "o")]) == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err
    assert not (tmp_path / "o" / "results.json").exists()
    with pytest.raises(SystemExit):
        main([recipe, "--strategy", "horovod"])


def test_layerwise_optimizers_recipe_smoke_runs_every_optimizer(tmp_path, capsys):
    from keras_bigbatch.training.cli import main

    out = tmp_path / "out"
    code = main([os.path.join(REPO, "recipes", "layerwise_optimizers.py"), "--size", "smoke",
                 "--out", str(out), "--runs", "SGD-LB,Lamb,LARS,MCLR,PercentDelta"])
    assert code == 0
    payload = json.loads((out / "results.json").read_text())
    rows = {r["name"]: r for r in payload["results"]}
    assert {rows[n]["config"]["optimizer"] for n in rows} == {"sgd", "lamb", "lars", "mclr", "percent_delta"}
    for name, row in rows.items():
        assert row["updates"] == 2 * (2048 // 512), name
        assert row["test_accuracy"] > 0.5, name  # 8 updates on 2048 examples: well above 10% chance
