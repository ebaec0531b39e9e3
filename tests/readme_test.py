"""Words match code: the README's package table, and its size.

Every public name in the table exists where its row says, and every
registered model, data source and recipe appears in it. The README's Python
blocks run in tests/docs/code_blocks_test.py, with the site's.
"""

import importlib
import pathlib
import re
import types

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _table_rows():
    """`[(modules, names, text)]` of the table under "What is in the package"."""
    text = README.read_text().split("## What is in the package", 1)[1]
    lines = [line for line in text.split("\n\n", 2)[1].splitlines() if line.startswith("|")]
    rows = []
    for line in lines[2:]:  # below the header and its rule
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        modules = re.findall(r"`([\w.]+)`", cells[0])
        names = re.findall(r"`([\w.]+)`", cells[1])
        rows.append((modules, names, line))
    return rows


def _attribute(value, part):
    """`value.part`; for a module, also its submodule `part`."""
    if hasattr(value, part):
        return getattr(value, part)
    if isinstance(value, types.ModuleType):
        return importlib.import_module(f"{value.__name__}.{part}")
    raise AttributeError(part)


def _resolve(modules, name):
    for module_name in modules:
        value = importlib.import_module(module_name)
        try:
            for part in name.split("."):
                value = _attribute(value, part)
            return value
        except (AttributeError, ModuleNotFoundError):
            continue
    raise AssertionError(f"`{name}` is in the README's row for {modules}, which has no such name")


ROWS = _table_rows()


def test_the_table_has_a_row_per_package():
    modules = {module for row_modules, _, _ in ROWS for module in row_modules}
    import keras_bigbatch

    packages = [name for name in keras_bigbatch.__all__ if not name.startswith("_")]
    assert "notebook" in packages and "micro_batching" in packages
    for package in packages + ["recipes"]:
        assert f"keras_bigbatch.{package}" in modules, package


@pytest.mark.parametrize("modules,names", [(m, n) for m, n, _ in ROWS
                                           if m != ["keras_bigbatch.recipes"]],
                         ids=lambda value: ",".join(value) if isinstance(value, list) else None)
def test_every_public_name_in_the_table_exists(modules, names):
    for name in names:
        _resolve(modules, name)


def test_every_registered_model_source_and_recipe_is_in_the_table():
    from keras_bigbatch import data
    from keras_bigbatch.training import recipes
    from keras_bigbatch.training import registry

    table = "\n".join(line for _, _, line in ROWS)
    named = set(re.findall(r"`([\w.]+)`", table))
    def package_names(table):  # not the ones tests register from their recipe files
        return {name for name in table.names()
                if getattr(table.entry(name).value, "__module__", "").startswith("keras_bigbatch.")}

    registered = package_names(registry.MODELS) | package_names(data.registry._sources()) | set(
        recipes.recipe_names())
    assert sorted(registered - named) == []


def test_the_recipe_row_lists_exactly_the_recipes():
    from keras_bigbatch.training import recipes

    row = [names for modules, names, _ in ROWS if modules == ["keras_bigbatch.recipes"]]
    assert row and sorted(row[0]) == recipes.recipe_names()


def test_the_readme_is_what_a_first_visit_needs():
    # The site holds the rest (docs/); the README stays at most 12 KB.
    assert len(README.read_bytes()) <= 12 * 1024


def test_every_link_into_the_repository_resolves():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text())
    local = [link for link in links if "://" not in link]
    assert "docs/index.md" in local
    assert [link for link in local if not (README.parent / link).exists()] == []
