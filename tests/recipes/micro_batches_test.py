"""The ImageNet recipes' micro batches as published, planned on 1 and 8 replicas.

`train --help` gives each hardware row's flags; the recipe's docstring gives
the same command and every run's k = global batch / (replicas x m); the
command (`cli.train.prepare`, which plans every run) plans those flags with
that k. Planning reads the data source's size: a folder in tensorflow/tpu's
standard layout (conftest.py's `imagenet_layout`), counted as ImageNet's
1,281,167 examples. Nothing is built or trained.

One replica is the default strategy here; 8 replicas are a MirroredStrategy
over 8 logical CPUs in a subprocess (this process has 2), for the 8-GPU rows
and the TPU v3-8 rows (8 replicas, the same arithmetic; TPU-only refusals
aside). The TPU v4-8 rows (4 replicas) are checked against the help only.
"""

import importlib
import json
import os
import re
import subprocess
import sys

import pytest

from keras_bigbatch.cli import main
from keras_bigbatch.training import recipe_names
from tests.recipes._plan_commands import plan_commands

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _module(name):
    return importlib.import_module(f"keras_bigbatch.recipes.{name}")


DECLARED = [name for name in recipe_names() if hasattr(_module(name), "MICRO_BATCHES")]


def test_every_imagenet_recipe_declares_its_micro_batches():
    assert DECLARED == ["alexnet_bn_imagenet", "resnet50_imagenet_32k_lars",
                        "resnet50_imagenet_64k_lars", "resnet50_imagenet_8k_sgd",
                        "resnet50_imagenet_batch_growth"]


def _help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def _section(help_text, name):
    """The recipe's lines of `train --help`, up to the next recipe's."""
    lines = help_text.splitlines()
    start = lines.index(f"  {name}")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"  \S", lines[i])),
               len(lines))
    return "\n".join(lines[start + 1:end])


def _flags(section, hardware):
    line = next(line for line in section.splitlines() if line.startswith(f"    {hardware}:"))
    return line[len(f"    {hardware}:"):].strip()


def _argv(name, flags, replicas, data_dir, output):
    """The documented command on this machine: `--strategy mirrored|tpu` becomes
    a MirroredStrategy over `replicas` logical CPUs."""
    argv = ["train", name] + flags.split()
    if "--strategy" in argv:
        index = argv.index("--strategy")
        argv[index:index + 2] = ["--strategy", "mirrored", "--cpu-devices", str(replicas)]
    return argv + ["--set", f"data.dir={data_dir}", "--output", str(output)]


def _plan_on_eight_replicas(commands):
    done = subprocess.run(
        [sys.executable, "-m", "tests.recipes._plan_commands", json.dumps(commands)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow"))
    assert done.returncode == 0, done.stderr[-4000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("PLANNED ")]
    return json.loads(line.removeprefix("PLANNED "))


def _formulas(runs):
    """What the docstring and the help must say of each planned run's k."""
    texts = []
    for run in runs:
        replicas, micro = run["replicas"], run["micro"]
        if micro is None:
            assert run["k"] == [1] * len(run["batches"])
            texts.append(f"{run['batches'][-1]} / {replicas} = {run['batches'][-1] // replicas}")
        else:
            texts += [f"{batch} / ({replicas} x {micro}) = {k}"
                      for batch, k in zip(run["batches"], run["k"])]
    return texts


@pytest.mark.tensorflow
def test_documented_micro_batches_plan_with_the_documented_k(imagenet_layout, tmp_path, capsys):
    help_text = _help(capsys)
    rows = []  # (recipe, hardware, replicas, argv)
    for name in DECLARED:
        doc, section = _module(name).__doc__, _section(help_text, name)
        for hardware, _, replicas, _ in _module(name).MICRO_BATCHES["hardware"]:
            flags = _flags(section, hardware)
            assert f"keras-bigbatch train {name} {flags} --set data.dir=" in doc, (name, flags)
            if replicas in (1, 8):
                rows.append((name, hardware, replicas, _argv(
                    name, flags, replicas, imagenet_layout, tmp_path / f"{name}-{replicas}")))
    one = [argv for _, _, replicas, argv in rows if replicas == 1]
    eight = [argv for _, _, replicas, argv in rows if replicas == 8]
    planned = dict(zip(map(tuple, one), plan_commands(one)))
    planned.update(zip(map(tuple, eight), _plan_on_eight_replicas(eight)))
    for name, hardware, replicas, argv in rows:
        runs = planned[tuple(argv)]
        assert {run["replicas"] for run in runs} == {replicas}
        for text in _formulas(runs):
            assert text in _module(name).__doc__, (name, hardware, text)
            assert text in _section(help_text, name), (name, hardware, text)
    # The batch-growth plan: the micro batch stays 256, k grows x10 with the batch.
    growth = {replicas: planned[tuple(argv)][0] for name, _, replicas, argv in rows
              if name == "resnet50_imagenet_batch_growth"}
    assert growth[1]["micro"] == growth[8]["micro"] == 256
    assert growth[1]["batches"] == [8192, 81920]
    assert growth[1]["k"] == [32, 320] and growth[8]["k"] == [4, 40]
