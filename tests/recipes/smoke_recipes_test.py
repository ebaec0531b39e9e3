"""Every registered recipe runs at smoke size through the command and meets its `expected` block."""

import json

import pytest

from keras_bigbatch.training import recipe_names
from keras_bigbatch.training.cli import main


@pytest.mark.parametrize("recipe", recipe_names())
def test_smoke_recipe_meets_its_expected_block(recipe, tmp_path):
    assert main(["train", recipe, "--size", "smoke", "--output", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    checks = payload["expected"]
    assert checks, "a recipe declares expected results"
    missed = [c for c in checks if not c["ok"]]
    assert not missed, missed
    for row in payload["results"]:
        assert (tmp_path / row["name"] / "model.keras").stat().st_size > 0
        assert row["updates"] == row["epochs"] * row["steps_per_epoch"]
    assert (tmp_path / "results.png").stat().st_size > 10000
