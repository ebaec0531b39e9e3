"""Every notebook's `.ipynb` is its jupytext source `NAME.py`, converted, without outputs."""

import pytest

from tests.notebooks._notebooks import FOLDER
from tests.notebooks._notebooks import NAMES
from tests.notebooks._notebooks import read_ipynb
from tests.notebooks._notebooks import read_source

REGENERATE = "regenerate it: jupytext --to ipynb notebooks/{name}.py"


def test_every_notebook_has_a_source_and_an_ipynb():
    assert NAMES, "notebooks/ holds no NAME.py notebook source"
    ipynbs = sorted(path.stem for path in FOLDER.glob("*.ipynb"))
    assert ipynbs == NAMES, ("each notebooks/NAME.ipynb is generated from notebooks/NAME.py; "
                             f"sources {NAMES}, notebooks {ipynbs}")


def _cells(notebook):
    return [(cell.cell_type, cell.source, cell.metadata.get("tags", []))
            for cell in notebook.cells]


@pytest.mark.parametrize("name", NAMES)
def test_ipynb_matches_its_source(name):
    source, committed = read_source(name), read_ipynb(name)
    assert _cells(committed) == _cells(source), REGENERATE.format(name=name)
    assert committed.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_ipynb_is_committed_without_outputs(name):
    for index, cell in enumerate(read_ipynb(name).cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"cell {index} of {name}.ipynb holds outputs; " + REGENERATE.format(name=name))
