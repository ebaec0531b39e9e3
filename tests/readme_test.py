"""Words match code: the README's package table and its Python blocks.

Every public name in the table exists where its row says, and every
registered model, data source and recipe appears in it. Every ```python
block runs, as the README states: a comment line `# setup: STATEMENT` (what
a fragment takes from its context) or `# tiny: STATEMENT` (what CI changes
to finish in seconds) is run as code where it stands; nothing else in a
block is changed.
"""

import importlib
import pathlib
import re
import types

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
_MARKED = re.compile(r"^(\s*)# (?:setup|tiny): (.*)$", flags=re.M)


def python_blocks(text):
    """`[(line, code)]`: every ```python block (dedented, a list item's too) and the
    README line it starts on."""
    blocks = []
    for match in re.finditer(r"^( *)```python\n(.*?)^\1```", text, flags=re.S | re.M):
        indent = len(match.group(1))
        code = "".join(line[indent:] for line in match.group(2).splitlines(keepends=True))
        blocks.append((text.count("\n", 0, match.start()) + 1, code))
    return blocks


def runnable(code):
    """`code` with its `# setup:` and `# tiny:` comment lines made statements."""
    return _MARKED.sub(r"\1\2", code)


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
    for package in ("layers", "optimizers", "losses", "schedules", "callbacks", "models",
                    "data", "distribute", "checkpoint", "training", "recipes", "tuner", "cli",
                    "durations", "arguments", "registry"):
        assert f"keras_bigbatch.{package}" in modules


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


BLOCKS = python_blocks(README.read_text())


def test_the_marked_lines_are_the_only_change():
    code = "x = 1\n# tiny: x = 2\n  # setup: y = x\n# a comment: stays\n"
    assert runnable(code) == "x = 1\nx = 2\n  y = x\n# a comment: stays\n"
    assert len(BLOCKS) >= 7  # the README's blocks, list items' included
    assert any("# tiny:" in code for _, code in BLOCKS)


@pytest.mark.tensorflow
@pytest.mark.parametrize("line,code", BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_every_python_block_runs(line, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that write (checkpoints, tuner trials) write here
    namespace = {"__name__": "__readme__"}
    exec(compile(runnable(code), f"README.md:{line}", "exec"), namespace)
    if "config" in namespace and isinstance(namespace["config"], dict):
        from keras_bigbatch.training import resolve

        resolve(namespace["config"])  # a config the README shows is one the trainer takes
