"""What every notebook carries: badges into the repository, an install cell that keeps
the runtime's TensorFlow, and a checked `parameters` cell (papermill's convention)."""

import ast
import re

import pytest

from keras_bigbatch import notebook as notebook_lib
from tests.notebooks._notebooks import NAMES
from tests.notebooks._notebooks import parameters
from tests.notebooks._notebooks import parameters_index
from tests.notebooks._notebooks import read_source
from tests.notebooks._notebooks import repository_url


@pytest.mark.parametrize("name", NAMES)
def test_first_cell_has_title_and_badges_into_the_repository(name):
    repository = repository_url()
    path = repository.removeprefix("https://github.com/")
    first = read_source(name).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    colab = f"https://colab.research.google.com/github/{path}/blob/main/notebooks/{name}.ipynb"
    kaggle = (f"https://kaggle.com/kernels/welcome?src={repository}"
              f"/blob/main/notebooks/{name}.ipynb")
    assert f"]({colab})" in first.source, f"no Colab badge linking {colab}"
    assert f"]({kaggle})" in first.source, f"no Kaggle badge linking {kaggle}"


@pytest.mark.parametrize("name", NAMES)
def test_every_github_link_is_the_repository(name):
    path = repository_url().removeprefix("https://github.com/")
    text = "\n".join(cell.source for cell in read_source(name).cells)
    linked = set(re.findall(r"github\.com/([\w.-]+/[\w.-]+)", text))
    assert linked == {path}, f"links into {linked}; pyproject.toml's repository is {path}"


@pytest.mark.parametrize("name", NAMES)
def test_install_cell_runs_only_on_colab_or_kaggle_and_keeps_tensorflow(name):
    cells = read_source(name).cells
    installs = [i for i, cell in enumerate(cells)
                if cell.cell_type == "code" and "pip" in cell.source and "install" in cell.source]
    assert len(installs) == 1, "one install cell"
    index = installs[0]
    source = cells[index].source
    assert '"google.colab" in sys.modules' in source and "KAGGLE_KERNEL_RUN_TYPE" in source
    assert not re.search(r"keras[-_]bigbatch\s*\[", source), "install without extras"
    assert index < parameters_index(read_source(name))
    explanation = cells[index - 1]
    assert explanation.cell_type == "markdown" and "TensorFlow" in explanation.source and (
        "extra" in explanation.source), "the markdown before the install cell says how it " \
                                        "keeps the preinstalled TensorFlow"


def _check_call(cell_source):
    calls = [node for node in ast.walk(ast.parse(cell_source)) if isinstance(node, ast.Call)
             and getattr(node.func, "attr", getattr(node.func, "id", None)) == "check_parameters"]
    assert len(calls) == 1, "the cell after `parameters` calls notebook.check_parameters once"
    return calls[0]


@pytest.mark.parametrize("name", NAMES)
def test_cell_after_parameters_checks_every_parameter_with_the_type_of_its_default(name):
    source = read_source(name)
    defaults = parameters(source)
    assert "SMOKE" in defaults and defaults["SMOKE"] is False
    following = source.cells[parameters_index(source) + 1]
    assert following.cell_type == "code"
    call = _check_call(following.source)
    assert "notebook.smoke(SMOKE)" in following.source
    checked = {}
    for keyword in call.keywords:
        value, expected = keyword.value.elts  # NAME=(NAME, type)
        assert isinstance(value, ast.Name) and value.id == keyword.arg
        checked[keyword.arg] = eval(ast.unparse(expected), {"type": type})  # noqa: S307
    assert list(checked) == list(defaults), "every parameter is checked, in order"
    # The defaults pass their own declared types.
    notebook_lib.check_parameters(**{k: (defaults[k], checked[k]) for k in defaults})
