"""`keras-bigbatch train`: outputs, and a clear error for every bad input."""

import json
import os

import keras
import numpy as np
import pytest

from keras_bigbatch.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = os.path.join(HERE, "..", "training", "digits_recipe.py")


def test_train_writes_results_models_histories_and_plot(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["train", RECIPE, "--output", str(out), "--set", "schedule.epochs=2",
                 "--set", "evaluation.evaluations=1"]) == 0
    printed = capsys.readouterr().out
    assert "test acc" in printed and "ok   A test_accuracy" in printed
    assert "[A] epoch 2/2  loss " in printed and "[B] epoch 2/2  loss " in printed
    for run in ("A", "B"):  # TensorBoard scalars (tests/training/run_logs_test.py reads them)
        assert [p.name.split(".")[:3] for p in (out / run / "logs").iterdir()] == [
            ["events", "out", "tfevents"]]
    payload = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in payload["results"]] == ["A", "B"]
    assert payload["overrides"] == {"schedule.epochs": "2", "evaluation.evaluations": "1"}
    assert all(check["ok"] for check in payload["expected"])
    for row in payload["results"]:
        assert row["epochs"] == 2 and row["updates"] == 2 * (1348 // 64)
        assert row["config"]["schedule"]["epochs"] == 2.0
        model = keras.saving.load_model(out / row["name"] / "model.keras")
        assert model.optimizer.iterations.numpy() == row["updates"]
        history = json.loads((out / row["name"] / "history.json").read_text())
        assert len(history["history"]["loss"]) == 2
    assert payload["results"][1]["config"]["schedule"]["learning_rate"] == 0.1
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_runs_seed_and_module_form(tmp_path):
    # `python -m keras_bigbatch.training RECIPE` = `keras-bigbatch train RECIPE`
    out = tmp_path / "out"
    assert main([RECIPE, "--runs", "B", "--seed", "3", "--out", str(out),
                 "--set", "schedule.epochs=1"]) == 0
    payload = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in payload["results"]] == ["B"]
    assert payload["results"][0]["config"]["seed"] == 3


def test_mirrored_strategy_from_the_command_line(tmp_path, mirrored):
    out = tmp_path / "out"
    assert main(["train", RECIPE, "--runs", "A", "--strategy", "mirrored", "--cpu-devices", "2",
                 "--set", "schedule.epochs=1", "--output", str(out)]) == 0
    row = json.loads((out / "results.json").read_text())["results"][0]
    assert row["num_replicas"] == 2 and row["per_replica_batch_size"] == 32


@pytest.mark.parametrize("argv,message", [
    (["train", "no_such_recipe"], "Argument `recipe` must name a registered recipe, one of"),
    (["train", "missing/recipe.py"], "Recipe file not found"),
    (["train", RECIPE, "--runs", "XL"], "Unknown run name(s) ['XL']"),
    (["train", RECIPE, "--set", "model.width=3"], "--set model.width: unknown key; `model` accepts"),
    (["train", RECIPE, "--set", "schedule.epochs=many"], "--set schedule.epochs=many: expected a number"),
    (["train", RECIPE, "--set", "evaluation.evaluations=1.5"], "`evaluation.evaluations` must be a positive integer"),
    (["train", RECIPE, "--set", "epochs"], "--set 'epochs': expected KEY=VALUE"),
    (["train", RECIPE, "--set", "schedule.batch_size=40"], "virtual_batch_size` (16) must divide"),
    (["train", RECIPE, "--set", "data.dir=/x"], "data.dir"),
    (["train", RECIPE, "--set", "name=x"], "--set name: unknown key"),
    (["train", RECIPE, "--set", "optimizer.learning_rate=1"],
     "The learning rate comes from `schedule`"),
    # micro-batching: per-replica batch 64, ghost batch 16
    (["train", RECIPE, "--set", "micro_batch_size=5"],
     "`micro_batch_size` (5) must divide the per-replica batch size (64) (global / 1 replica(s)). "
     "Valid: [1, 2, 4, 8, 16, 32, 64]"),
    (["train", RECIPE, "--set", "optimizer.gradient_accumulation_steps=4"],
     "Use `micro_batch_size` instead (--set micro_batch_size=N"),
    (["train", RECIPE, "--set", "micro_batch_size=8"],
     "`model.virtual_batch_size` (16) must divide `micro_batch_size` (8)"),
    (["train", RECIPE, "--max-micro-batch", "0"], "--max-micro-batch must be an integer >= 1"),
    (["train", RECIPE, "--max-micro-batch", "8"],
     "Run 'A': No micro batch <= 8 divides the per-replica batch sizes [64] and is a multiple "
     "of the ghost size 16; the smallest valid one is 16. Received: --max-micro-batch 8"),
    (["train", RECIPE, "--max-micro-batch", "20", "--set", "micro_batch_size=16"],
     "--max-micro-batch and --set micro_batch_size both choose the micro batch; give one"),
])
def test_bad_input_exits_2_with_a_clear_message(argv, message, tmp_path, capsys):
    assert main(argv + ["--output", str(tmp_path / "o" / "deeper")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # a refused run leaves no folder behind


def _weights(folder):
    return keras.saving.load_model(folder / "A" / "model.keras").get_weights()


@pytest.mark.parametrize("strategy", ["default", "mirrored"])
def test_max_micro_batch_picks_per_run_and_trains_the_same_run(strategy, tmp_path, capsys,
                                                                request):
    # Per-replica batch 64 (1 replica) or 32 (2), ghost 16: --max-micro-batch 20
    # picks 16, k = 4 or 2 passes; the updates and weights are the run without it.
    devices = [] if strategy == "default" else ["--strategy", "mirrored", "--cpu-devices", "2"]
    if devices:
        request.getfixturevalue("mirrored")
    common = ["train", RECIPE, "--runs", "A", "--set", "schedule.epochs=1",
              "--set", "evaluation.evaluations=1"] + devices
    assert main(common + ["--output", str(tmp_path / "whole")]) == 0
    capsys.readouterr()
    assert main(common + ["--max-micro-batch", "20", "--output", str(tmp_path / "micro")]) == 0
    printed = capsys.readouterr().out
    replicas, k = (1, 4) if strategy == "default" else (2, 2)
    assert (f"A: --max-micro-batch 20: micro batch 16 per replica, "
            f"k = 64 / ({replicas} x 16) = {k}") in printed
    assert f"global batch 64 in micro batches of 16 x {k} passes" in printed  # the run header
    whole, micro = (json.loads((tmp_path / name / "results.json").read_text())
                    for name in ("whole", "micro"))
    assert micro["max_micro_batch"] == 20 and whole["max_micro_batch"] is None
    ((a,), (b,)) = whole["results"], micro["results"]
    assert b["config"]["micro_batch_size"] == 16 and a["config"]["micro_batch_size"] is None
    assert b["updates"] == a["updates"] == 1348 // 64
    for u, v in zip(_weights(tmp_path / "micro"), _weights(tmp_path / "whole")):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("strategy,bound", [("default", 64), ("mirrored", 32)])
def test_max_micro_batch_leaves_a_batch_that_fits_whole(strategy, bound, tmp_path, capsys,
                                                        request):
    # On 2 replicas the per-replica batch is 32: --max-micro-batch 32 leaves it
    # whole (on 1 replica it would pick 32, k = 2).
    devices = [] if strategy == "default" else ["--strategy", "mirrored", "--cpu-devices", "2"]
    if devices:
        request.getfixturevalue("mirrored")
    assert main(["train", RECIPE, "--runs", "A", "--size", "smoke", "--max-micro-batch",
                 str(bound), "--set", "schedule.epochs=1", "--output", str(tmp_path)]
                + devices) == 0
    printed = capsys.readouterr().out
    replicas = 1 if strategy == "default" else 2
    assert (f"A: --max-micro-batch {bound}: whole per-replica batch, k = 1 (64 / {replicas} = "
            f"{64 // replicas} per replica fits)") in printed
    assert "micro batches of" not in printed
    (row,) = json.loads((tmp_path / "results.json").read_text())["results"]
    assert row["config"]["micro_batch_size"] is None


def test_train_help_gives_the_recipes_micro_batches(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "k = global batch / (replicas x m)" in printed
    assert "--max-micro-batch N" in printed
    lines = printed.splitlines()
    at = lines.index("  resnet50_imagenet_32k_lars")
    assert "    8 GPUs (80 GB): --strategy mirrored --set micro_batch_size=256" in lines[at:]
    assert "        k = 32768 / (8 x 256) = 16" in lines[at:]


def test_quiet_prints_the_table_only_and_verbose_every_line(tmp_path, capsys):
    args = ["train", RECIPE, "--runs", "A", "--set", "schedule.epochs=1"]
    assert main(args + ["--quiet", "--output", str(tmp_path / "q")]) == 0
    printed = capsys.readouterr().out
    assert "[A]" not in printed and "run(s) on" not in printed
    assert printed.lstrip().startswith("run  test acc") and "wrote " in printed
    assert (tmp_path / "q" / "A" / "logs").is_dir()
    from keras_bigbatch.cli._parser import parser

    assert [parser().parse_args(args + flag).verbosity
            for flag in ([], ["-v"], ["--verbose"], ["-q"])] == [1, 2, 2, 0]
    with pytest.raises(SystemExit):
        parser().parse_args(args + ["-q", "-v"])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.tensorflow  # elsewhere "tpu" is refused as a tf.distribute name
def test_a_tpu_without_a_tpu_exits_2_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    output = tmp_path / "o"
    assert main(["train", RECIPE, "--strategy", "tpu", "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: Argument `strategy='tpu'` needs a TPU")
    assert error.count("\n") == 1 and not output.exists()


def test_unknown_strategy_exits_2_naming_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", RECIPE, "--strategy", "horovod"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'horovod'" in capsys.readouterr().err


def test_unwritable_output_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", RECIPE, "--output", str(blocker / "out")]) == 2
    assert "cannot be written" in capsys.readouterr().err


@pytest.mark.parametrize("tf_config,message", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('{"cluster": ["127.0.0.1:1"]}', "TF_CONFIG must list the workers"),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": 0}', "TF_CONFIG's task must be"),
    ('{"cluster": {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]}, '
     '"task": {"type": "chief", "index": 0}}', "only `worker` tasks"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 2}}',
     "index\": i} with i in [0, 2)"),
])
@pytest.mark.tensorflow  # multi-worker is a tf.distribute strategy
def test_bad_tf_config_exits_2(tf_config, message, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    assert main(["train", RECIPE, "--strategy", "multi-worker", "--output", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_missing_fashion_mnist_names_the_fix(tmp_path, capsys):
    assert main(["train", "generalization_gap", "--size", "smoke", "--runs", "SB",
                 "--set", f"data.dir={tmp_path}", "--output", str(tmp_path / "o")]) == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_interrupted_run_keeps_the_finished_runs(tmp_path, monkeypatch, capsys):
    from keras_bigbatch.training import trainer

    real_fit, started = trainer.fit, []

    def fit_then_interrupt(config, model, strategy=None, callbacks=(), verbose=True,
                           **checkpoints):
        if started:
            raise KeyboardInterrupt  # Ctrl-C during the second run
        started.append(config["name"])
        return real_fit(config, model, strategy, callbacks, verbose, **checkpoints)

    monkeypatch.setattr(trainer, "fit", fit_then_interrupt)
    code = main(["train", RECIPE, "--set", "schedule.epochs=1", "--output", str(tmp_path)])
    assert code == 130 and "runs that finished are in" in capsys.readouterr().err
    payload = json.loads((tmp_path / "results.json").read_text())
    assert [r["name"] for r in payload["results"]] == ["A"]
    assert (tmp_path / "A" / "model.keras").exists() and not (tmp_path / "B").exists()


def test_a_failure_during_training_is_not_reported_as_bad_input(tmp_path, monkeypatch):
    from keras_bigbatch.training import trainer

    def broken_fit(config, model, strategy=None, callbacks=(), verbose=True, **checkpoints):
        raise ValueError("NaN loss")  # e.g. raised by Keras mid-run

    monkeypatch.setattr(trainer, "fit", broken_fit)
    with pytest.raises(ValueError, match="NaN loss"):  # traceback and exit status 1
        main(["train", RECIPE, "--output", str(tmp_path)])


@pytest.mark.tensorflow  # gfile paths
def test_output_and_checkpoints_to_a_gfile_path(capsys):
    # gs:// in real use; TensorFlow's in-memory file system here.
    import tensorflow as tf

    out = "ram://keras_bigbatch_cli_test/out"
    args = ["train", RECIPE, "--runs", "A", "--size", "smoke", "--output", out,
            "--set", "checkpoint.every_steps=20"]
    assert main(args) == 0
    names = tf.io.gfile.listdir(f"{out}/A/checkpoints")
    assert sorted(n for n in names if n.endswith(".json")) == [
        "ckpt-00000020.json", "ckpt-00000040.json", "ckpt-00000042.json"]
    with tf.io.gfile.GFile(f"{out}/results.json") as stream:
        row = json.loads(stream.read())["results"][0]
    assert row["updates"] == 42
    model = keras.saving.load_model(f"{out}/A/model.keras")
    assert int(model.optimizer.iterations.numpy()) == 42
    capsys.readouterr()
    assert main(args) == 0  # rerun: the finished run comes back from its checkpoint
    assert "step 42 (finished)" in capsys.readouterr().out


def test_default_output_is_per_size(tmp_path, monkeypatch):
    # A smoke run and a full run of one recipe never share checkpoints.
    monkeypatch.chdir(tmp_path)
    assert main(["train", RECIPE, "--runs", "A", "--size", "smoke"]) == 0
    assert (tmp_path / "results" / "digits-smoke" / "A" / "model.keras").exists()
    assert not (tmp_path / "results" / "digits").exists()


def test_a_recipe_model_that_does_not_fit_its_data_exits_2_before_training(tmp_path, capsys):
    recipe = tmp_path / "three_outputs.py"
    recipe.write_text(
        "import keras\nimport keras_bigbatch as kb\n\n"
        "@kb.training.register_model('three_outputs')\n"
        "def three_outputs(input_shape, num_classes):\n"
        "    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),\n"
        "                             keras.layers.Dense(3)], name='three_outputs')\n\n"
        "def get_config(size='default'):\n"
        "    return {'data': {'source': 'digits'}, 'model': {'name': 'three_outputs'},\n"
        "            'runs': [{'name': 'A'}]}\n")
    assert main(["train", str(recipe), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: run 'A': Model 'three_outputs' outputs 3 values" in err
    assert not (tmp_path / "out").exists()  # a refused run leaves no folder
