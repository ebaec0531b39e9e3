"""`keras-bigbatch list`: the registries, and each recipe at its default size."""

import os
import subprocess
import sys

from keras_bigbatch.cli import main
from keras_bigbatch.cli.list import describe_recipe
from keras_bigbatch.training import recipes
from keras_bigbatch.training import registry


def test_console_script_lists_recipes():
    script = os.path.join(os.path.dirname(sys.executable), "keras-bigbatch")
    listing = subprocess.run([script, "list"], capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr[-2000:]
    for name in ("generalization_gap", "layerwise_optimizers", "digits", "fashion_mnist", "mlp"):
        assert name in listing.stdout


def test_a_recipe_is_described_at_its_default_size():
    # generalization_gap's default is 128 vs 4096 (smoke: 32 vs 512), and each
    # run's global batch size is its default config's.
    configs = recipes.run_configs(recipes.load_recipe("generalization_gap"))
    batches = {config["name"]: config["schedule"]["batch_size"] for config in configs}
    assert batches == {"SB": 128, "LB": 4096, "LB+LR": 4096, "LB+LR+GBN": 4096,
                       "LB+LR+GBN+RA": 4096}
    described = describe_recipe("generalization_gap")
    assert "SB=128 vs LB=4096" in described and "SB=32" not in described
    assert ("runs (global batch size): SB 128, LB 4096, LB+LR 4096, LB+LR+GBN 4096, "
            "LB+LR+GBN+RA 4096") in described


def test_listing_reads_every_registry(capsys):
    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    for name in recipes.recipe_names():
        assert describe_recipe(name) in printed
    assert f"models: {', '.join(registry.model_names())}\n" in printed
    assert f"losses: {', '.join(registry.loss_names())}\n" in printed
    assert f"optimizers: {', '.join(registry.optimizer_names())};" in printed
    assert {"lars", "mclr", "percent_delta", "cblr"} <= set(registry.optimizer_names())
