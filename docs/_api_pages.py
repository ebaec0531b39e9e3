"""The API reference pages: one per module of the package, from its `__all__`.

Read statically (`ast`, no import): a subpackage's `__all__` lists its
public names, and each name is rendered by mkdocstrings at the path where it
is exported (`keras_bigbatch.optimizers.LARS`), so that is the path other
pages cross-reference. A name that `__init__.py` does not import itself
(loaded on first access, as `kb.data.make_dataset`) is rendered from the
module that defines it, with an anchor at its exported path.
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_bigbatch"

# Modules with a page, in the order of ARCHITECTURE.md's floors, ground first.
MODULES = ("arguments", "durations", "registry", "notebook", "layers", "losses", "optimizers",
           "distribute", "micro_batching", "schedules", "models", "data", "callbacks",
           "checkpoint", "training", "tuner", "cli")

# Public names reached through a submodule (the README's package table lists them).
SUBMODULE_NAMES = {
    "distribute": ("runtime.runtime_for", "runtime.Runtime"),
    "training": ("plan.plan", "plan.Run", "result.RunResult", "config.check_metrics"),
}


def _tree(module):
    """The parsed source of `keras_bigbatch.module` (a package's `__init__.py`)."""
    path = PACKAGE / module
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return ast.parse(path.read_text()), path


def exported_names(module):
    """`__all__` of `keras_bigbatch.module` (all public top-level names if it has none)."""
    tree, _ = _tree(module)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            return list(ast.literal_eval(node.value))
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")]


def _defining_module(module, name):
    """The dotted module, under `keras_bigbatch.module`, whose top level defines
    or imports `name`, for a name `__init__.py` neither defines nor imports."""
    tree, path = _tree(module)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name
                                                    for a in node.names):
            return None  # imported, so mkdocstrings finds it at the exported path
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return None
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                for t in node.targets):
            return None
    if (path.parent / f"{name}.py").exists() or (path.parent / name).is_dir():
        return None  # a submodule
    for candidate in sorted(path.parent.glob("*.py")):
        for node in ast.parse(candidate.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                return f"keras_bigbatch.{module}.{candidate.stem}"
    raise ValueError(f"keras_bigbatch.{module}.__all__ names {name!r}, which no module of "
                     f"keras_bigbatch/{module}/ defines")


def _entry(module, name):
    defined_in = _defining_module(module, name) if (PACKAGE / module).is_dir() else None
    if defined_in is None:
        return f"::: keras_bigbatch.{module}.{name}\n"
    # The anchor keeps the exported path cross-referable: [x][keras_bigbatch.data.make_dataset].
    return (f"[](){{#keras_bigbatch.{module}.{name}}}\n\n::: {defined_in}.{name}\n"
            f"    options:\n      show_root_full_path: false\n")


def page(module):
    """The markdown of `module`'s API page."""
    names = sorted(exported_names(module), key=lambda n: (n[0].islower(), n.lower()))
    parts = [f"# `keras_bigbatch.{module}`\n",
             f"::: keras_bigbatch.{module}\n    options:\n      members: false\n"
             f"      show_root_heading: false\n"]
    parts += [_entry(module, name) for name in names]
    parts += [f"::: keras_bigbatch.{module}.{name}\n" for name in SUBMODULE_NAMES.get(module, ())]
    return "\n".join(parts)


def _index():
    rows = "\n".join(f"| [`keras_bigbatch.{m}`]({m}.md) | "
                     f"{', '.join(f'`{n}`' for n in sorted(exported_names(m), key=str.lower))} |"
                     for m in MODULES)
    return ("# API reference\n\nEvery public name of the package, rendered from its docstring "
            "(the math, the arguments, the paper and equation it implements). `import "
            "keras_bigbatch as kb` and every subpackage loads on first access "
            "(`kb.optimizers.LARS`).\n\n| module | public names |\n|---|---|\n" + rows + "\n")


def pages():
    """`{path under docs/: markdown}` of the API pages."""
    result = {"reference/index.md": _index()}
    result.update({f"reference/{module}.md": page(module) for module in MODULES})
    return result


def nav():
    return [{"Overview": "reference/index.md"}] + [
        {f"keras_bigbatch.{module}": f"reference/{module}.md"} for module in MODULES]
