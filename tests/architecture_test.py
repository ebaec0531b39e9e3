"""The house rules of ARCHITECTURE.md, checked on the source (no imports run).

- no import cycle inside keras_bigbatch, imports inside functions included;
- no import from a package to one on a higher floor (entry points,
  `__main__` modules, excepted);
- no function longer than 80 lines (body, docstring excluded), `fit` at most 60.

Run it alone with `python -m pytest tests/architecture_test.py`.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_bigbatch"

# ARCHITECTURE.md's floors, bottom (0) to top.
FLOORS = {
    "arguments": 0, "durations": 0, "registry": 0, "notebook": 0,
    "layers": 1, "losses": 1, "optimizers": 1, "distribute": 1, "micro_batching": 1,
    "schedules": 2, "models": 2, "data": 2,
    "callbacks": 3, "checkpoint": 3,
    "training": 4, "recipes": 4,
    "tuner": 5,
    "cli": 6,
}


def _modules():
    """`{dotted module name: path}` for every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if path.name == "__init__.py":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name, path, modules):
    """The package's modules (and packages) that module `name` imports, anywhere
    in it. `from P import m` of a submodule m is an edge to P.m alone; an edge
    to one of `name`'s own parent packages is left out (a module always runs
    its parents' `__init__` first, and they re-export it)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names
                          if f"{base}.{alias.name}" in modules]
            names = submodules + ([base] if len(submodules) < len(node.names) else [])
        else:
            continue
        for target in names:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
    return targets


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _floor(module):
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def test_every_top_level_module_has_a_floor():
    tops = {name.split(".")[1] for name in _modules() if "." in name}
    assert tops - set(FLOORS) == set(), "add the new package to FLOORS and ARCHITECTURE.md"


def test_no_import_goes_up_a_floor():
    # `__main__` modules are entry points that nothing imports:
    # `python -m keras_bigbatch.training` runs the command (cli/, the top floor).
    upward = sorted(f"{a} -> {b}" for a, targets in _graph().items() for b in targets
                    if not a.endswith(".__main__") and _floor(a) is not None and _floor(b) is not None
                    and _floor(b) > _floor(a))
    assert upward == []


def _cycle(graph):
    """One import cycle among modules and packages (a list of names), or None."""
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return trail[trail.index(target):] + [target]
            if target not in state:
                found = visit(target, trail + [target])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_import_cycle():
    assert _cycle(_graph()) is None


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def _function_lengths():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if (body and isinstance(body[0], ast.Expr)
                        and isinstance(body[0].value, ast.Constant)
                        and isinstance(body[0].value.value, str)):
                    body = body[1:]  # the docstring
                if body:
                    length = body[-1].end_lineno - body[0].lineno + 1
                    yield f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}", length


def test_no_function_is_longer_than_80_lines():
    assert sorted(name for name, length in _function_lengths() if length > 80) == []


def test_fit_reads_on_one_screen():
    lengths = {name.rsplit(" ", 1)[0]: length for name, length in _function_lengths()
               if name.endswith(" fit") and "training/trainer.py" in name}
    assert lengths and max(lengths.values()) <= 60, lengths


@pytest.mark.parametrize("floor_module", sorted(FLOORS))
def test_architecture_md_names_every_floor(floor_module):
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    assert f"`{floor_module}" in text
