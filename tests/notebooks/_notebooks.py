"""What the notebook tests share: the notebooks, their parameters cell, and execution.

Every `notebooks/NAME.py` (jupytext percent format, the source of truth) is
a notebook; `notebooks/NAME.ipynb` is generated from it with
`jupytext --to ipynb notebooks/NAME.py`. Adding a notebook needs no test
change.
"""

import ast
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
FOLDER = ROOT / "notebooks"
NAMES = sorted(path.stem for path in FOLDER.glob("*.py"))
# Seconds one cell may run before the execution fails (smoke settings on 2 CPU cores).
CELL_TIMEOUT_S = 240


def repository_url():
    """`[project.urls] Repository` of pyproject.toml, without a trailing slash."""
    with open(ROOT / "pyproject.toml", "rb") as stream:
        return tomllib.load(stream)["project"]["urls"]["Repository"].rstrip("/")


def read_source(name):
    import jupytext

    return jupytext.read(FOLDER / f"{name}.py")


def read_ipynb(name):
    import nbformat

    return nbformat.read(FOLDER / f"{name}.ipynb", as_version=4)


def parameters_index(notebook):
    """Index of the one cell tagged `parameters` (papermill's convention)."""
    indices = [i for i, cell in enumerate(notebook.cells)
               if "parameters" in cell.metadata.get("tags", [])]
    assert len(indices) == 1, f"expected one cell tagged 'parameters', found {len(indices)}"
    assert notebook.cells[indices[0]].cell_type == "code"
    return indices[0]


def parameters(notebook):
    """`{name: default}` of the parameters cell's assignments (literal values only)."""
    tree = ast.parse(notebook.cells[parameters_index(notebook)].source)
    values = {}
    for statement in tree.body:
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(
            statement.targets[0], ast.Name), (
            f"the parameters cell holds only `NAME = literal` lines; found {ast.unparse(statement)!r}")
        values[statement.targets[0].id] = ast.literal_eval(statement.value)
    return values


def inject_parameters(notebook, text):
    """A copy of `notebook` with a code cell of `text` right after the parameters
    cell, tagged `injected-parameters`, as papermill injects overrides."""
    import copy

    import nbformat

    notebook = copy.deepcopy(notebook)
    cell = nbformat.v4.new_code_cell(text, metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(parameters_index(notebook) + 1, cell)
    return notebook


def execute(notebook, cwd):
    """Runs every cell in a fresh `python3` kernel (this interpreter's ipykernel)
    with the working directory `cwd`; a cell that raises raises
    `nbclient.exceptions.CellExecutionError`."""
    import nbclient

    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return notebook


def outputs_text(notebook):
    """The text of every stream and result output, joined."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "".join(parts)
