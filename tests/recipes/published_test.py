"""Every recipe's `PUBLISHED` block names its source, its runs and keys that exist.

The recipe pages (docs/_recipe_pages.py) show each published value beside the
value at the same dotted key of the run's resolved config and flag the
differences; a run name or a key that a typo broke would fail the docs build
or, worse, compare nothing. Configs only: nothing is built or trained.
"""

import importlib
import numbers

import pytest

from keras_bigbatch.training import load_recipe
from keras_bigbatch.training import recipe_names
from keras_bigbatch.training import run_configs


def _published(name):
    return getattr(importlib.import_module(f"keras_bigbatch.recipes.{name}"), "PUBLISHED", None)


def _value(config, dotted):
    """config["a"]["b"] for "a.b"; KeyError naming the first missing part."""
    for part in dotted.split("."):
        if not isinstance(config, dict) or part not in config:
            keys = sorted(config) if isinstance(config, dict) else config
            raise KeyError(f"{dotted!r}: no {part!r} in {keys!r}")
        config = config[part]
    return config


def _split(entry):
    """(value, note) of a published entry: a bare value, or a (value, note) pair."""
    if isinstance(entry, tuple):
        assert len(entry) == 2 and isinstance(entry[1], str) and entry[1], (
            f"a tuple entry is (value, note) with a non-empty note; write sequences as lists: "
            f"{entry!r}")
        return entry
    return entry, ""


def _kind(value):
    """What a published value must share with the recipe's to be comparable."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, (list, tuple)):
        return "sequence"
    return type(value).__name__


@pytest.mark.parametrize("name", recipe_names())
def test_published_block_names_a_source(name):
    published = _published(name)
    assert isinstance(published, dict), f"recipes/{name}.py defines no PUBLISHED dict"
    assert set(published) <= {"source", "runs", "accuracy"}, sorted(published)
    assert isinstance(published.get("source"), str) and published["source"].strip()
    assert isinstance(published.get("runs", {}), dict)
    assert isinstance(published.get("accuracy", {}), dict)


@pytest.mark.parametrize("name", recipe_names())
def test_published_texts_fit_a_markdown_table(name):
    published = _published(name)
    texts = [published["source"], *published.get("accuracy", {}).values()]
    texts += [_split(entry)[1] for values in published.get("runs", {}).values()
              for entry in values.values()]
    for text in texts:
        assert "|" not in text and "\n" not in text, f"{name}: {text!r} would break its table"


@pytest.mark.parametrize("name", recipe_names())
def test_published_runs_and_keys_exist_in_the_resolved_configs(name):
    published = _published(name)
    configs = {config["name"]: config for config in run_configs(load_recipe(name))}
    for run, values in published.get("runs", {}).items():
        assert run in configs, f"{name}: no run {run!r}; runs: {sorted(configs)}"
        assert isinstance(values, dict) and values, f"{name}/{run}: give values or drop the run"
        for key, entry in values.items():
            value, _ = _split(entry)
            ours = _value(configs[run], key)
            assert _kind(value) == _kind(ours), (
                f"{name}/{run} {key}: published {value!r} cannot be compared with {ours!r}")
    for run, result in published.get("accuracy", {}).items():
        assert run in configs, f"{name}: accuracy of an unknown run {run!r}"
        assert isinstance(result, str) and result.strip(), f"{name}/{run}: {result!r}"


def test_a_broken_key_is_reported():
    config = {"schedule": {"batch_size": 8192}}
    assert _value(config, "schedule.batch_size") == 8192
    with pytest.raises(KeyError, match="batch_sise"):
        _value(config, "schedule.batch_sise")
