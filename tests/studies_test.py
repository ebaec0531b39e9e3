"""The studies run end to end at smoke size (digits, seconds)."""

import importlib

import pytest


def load(name):
    return importlib.import_module(f"studies.{name}")


def assert_png(path, max_bytes=80_000):
    """The study wrote its plot: a PNG file, small enough for the docs."""
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n", path
    assert 5000 < path.stat().st_size < max_bytes


def test_gradient_scaling(tmp_path):
    results = load("gradient_scaling").main(["--size", "smoke", "--out", str(tmp_path)])
    for part in (results["initialization"], results["after 1 epochs"]):
        # the noise part follows n^-1/2 once the finite-population factor is divided out,
        # while E|g| flattens towards |g_full|
        assert part["slope noise corrected"] == pytest.approx(-0.5, abs=0.1)
        assert -0.2 < part["slope E|g|"] < 0
        assert part["rows"][-1]["E|g-g_full|"] < 1e-6 * part["rows"][-1]["E|g|"]  # n = N
    assert_png(tmp_path / "results.png", max_bytes=150_000)


def test_smith_schedules(tmp_path):
    results = load("smith_schedules").main(["--size", "smoke", "--out", str(tmp_path)])
    for name in ("decay", "increase", "hybrid"):
        assert results[name]["updates"] == results[name]["planned_updates"]
        assert results[name]["test_accuracy"] > 0.8
        assert results[name]["noise_scale"] == pytest.approx(results["decay"]["noise_scale"])
    assert results["increase"]["batch_sizes"] == [16, 32, 64, 128]
    assert results["increase"]["updates"] < 0.5 * results["decay"]["updates"]
    for name in ("decay", "increase", "hybrid"):  # the plot's points: one per epoch end
        curve = results[name]["test_accuracy_curve"]
        assert [p["epoch"] for p in curve] == [1, 2, 3, 4]
        assert curve[-1]["updates"] == results[name]["updates"]
        assert curve[-1]["test_accuracy"] == results[name]["test_accuracy"]
    assert_png(tmp_path / "results.png")


def test_small_loss_discarding(tmp_path):
    results = load("small_loss_discarding").main(["--size", "smoke", "--out", str(tmp_path)])
    assert len(results) == 5 and all(
        row["test_accuracy"] > 0.8 for key, row in results.items() if key != "seed")
    for key, row in results.items():
        if key != "seed":  # the plot's points: one per epoch end, the last is the result
            assert [p["epoch"] for p in row["test_accuracy_curve"]] == [1, 2, 3, 4]
            assert row["test_accuracy_curve"][-1]["test_accuracy"] == row["test_accuracy"]
    assert_png(tmp_path / "results.png")


def test_tuned_lars_vs_sgd(tmp_path):
    results = load("tuned_lars_vs_sgd").main(["--size", "smoke", "--out", str(tmp_path)])
    rows = {row["search"]: row for row in results["rows"]}
    assert set(rows) == {"SGD-SB (untuned reference)", "tuned LARS", "tuned SGD"}
    assert rows["tuned LARS"]["best_values"]["optimizer"] == "lars"
    assert rows["tuned SGD"]["best_values"]["optimizer"] == "sgd"
    assert rows["tuned LARS"]["completed"] == rows["tuned SGD"]["completed"] == 2
    assert rows["tuned LARS"]["global_batch_size"] == 512  # the recipe's large batch at smoke size
    for row in rows.values():
        assert 0.1 < row["test_accuracy"] <= 1 and 0.1 < row["val_accuracy"] <= 1
    for search in ("tuned LARS", "tuned SGD"):  # the plot's points: every trial
        trials = rows[search]["trials"]
        assert len(trials) == 2 and all(t["learning_rate"] > 0 for t in trials)
        assert max(t["val_accuracy"] for t in trials) == rows[search]["val_accuracy"]
    assert (tmp_path / "results.json").exists()
    assert_png(tmp_path / "results.png")
