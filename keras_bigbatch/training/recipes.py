"""Recipes: a registered name or a Python file with one `get_config(size)`.

`get_config(size)` returns a sectioned config:

```
name, description      what the recipe reproduces
seed, precision, data, model, optimizer, schedule, loss, evaluation
                       the defaults every run starts from (see training.config)
runs                   [{"name": ..., changes}]: one results-table row each;
                       changes are sections or dotted keys
report                 {"panels": [...]}: the plots (training.report.PANELS)
expected               {run name: {result key: [low, high]}}: what the smoke
                       test and the report check
```

Registered recipes are the modules of `keras_bigbatch.recipes` (the
repository's `recipes/` folder, installed with the package).

A recipe file given by path is imported as a real module, as `import` would
(so AutoGraph converts its lambdas, its dataclasses build, its functions
pickle, and its `register_model` / `register_source` calls take effect in
every process that loads it, each worker of a multi-worker run included):

```
sys.modules name   keras_bigbatch_recipe_<stem>_<sha256(real path)[:12]>
                   stable for a path, distinct for two files of one basename
loaded again       the same real path, the same bytes: the module already
                   loaded (not run again, so its registrations are not made
                   twice); changed bytes: run again under the same name
its folder         appended to sys.path (once), so the file can import its
                   neighbours (`import my_layers`) as `python file.py` could;
                   appended, not prepended, so it never shadows an installed
                   package
```

A file changed and loaded again re-registers its names: the same
definitions (module and qualified name) replace their entries, models,
losses and data sources alike (`registry.Registry.register`).
"""

import hashlib
import importlib
import importlib.util
import os
import pkgutil
import re
import sys

from keras_bigbatch.registry import Registry
from keras_bigbatch.training import config as config_lib

SIZES = ("default", "smoke")
_RECIPE_KEYS = ("description", "runs", "report", "expected")


def _recipes():
    """The registry of recipes: `{name: module name}` of `keras_bigbatch.recipes`.

    Listed afresh at each call, as the package's folder holds them.
    """
    import keras_bigbatch.recipes as package

    recipes = Registry("recipe", "recipe", alternatives="or be the path of a recipe file")
    for module in pkgutil.iter_modules(package.__path__):
        if not module.name.startswith("_"):
            recipes.register(module.name, f"{package.__name__}.{module.name}")
    return recipes


def recipe_names():
    """The registered recipe names, sorted."""
    return _recipes().names()


def _module(recipe):
    if recipe.endswith(".py") or os.sep in recipe:
        if not os.path.isfile(recipe):
            raise ValueError(
                f"Recipe file not found: {recipe!r}. Give a registered recipe name "
                f"({', '.join(recipe_names())}) or the path of a recipe file."
            )
        return _file_module(recipe)
    return importlib.import_module(_recipes().lookup(recipe))


def file_module_name(path):
    """The `sys.modules` name of the recipe file `path` (see the module docstring)."""
    path = os.path.realpath(path)
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    return f"keras_bigbatch_recipe_{stem}_{hashlib.sha256(path.encode()).hexdigest()[:12]}"


def _file_module(path):
    """The recipe file `path` imported as a module (see the module docstring)."""
    path = os.path.realpath(path)
    name = file_module_name(path)
    with open(path, "rb") as stream:
        digest = hashlib.sha256(stream.read()).hexdigest()
    previous = sys.modules.get(name)
    if previous is not None and getattr(previous, "__recipe_sha256__", None) == digest:
        return previous
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before it runs, as `import` does (dataclasses look it up)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
        raise
    module.__recipe_sha256__ = digest
    return module


def load_recipe(recipe, size="default"):
    """`get_config(size)` of a registered recipe name or a recipe file path.

    Raises:
        ValueError: unknown recipe or size, no `get_config`, or no runs.
    """
    if size not in SIZES:
        raise ValueError(f"Argument `size` must be one of {SIZES}. Received: size={size!r}")
    module = _module(recipe)
    if not hasattr(module, "get_config"):
        raise ValueError(f"Recipe {recipe!r} defines no get_config(size) function.")
    config = module.get_config(size)
    if not config.get("runs"):
        raise ValueError(f"Recipe {recipe!r} returned no runs for size={size!r}.")
    config.setdefault("name", os.path.splitext(os.path.basename(recipe))[0])
    _check_expected(recipe, config)
    return config


# Result values an `expected` block may bound (see trainer.fit).
EXPECTABLE = ("test_accuracy", "train_accuracy", "updates", "epochs", "wall_time_s")


def _check_expected(recipe, config):
    """Raises unless `expected` bounds known results of existing runs."""
    names = [run["name"] for run in config["runs"]]
    for name, bounds in config.get("expected", {}).items():
        if name not in names:
            raise ValueError(f"Recipe {recipe!r}: `expected` names run {name!r}, which is not "
                             f"one of its runs {names}.")
        for key, value in bounds.items():
            if key not in EXPECTABLE or len(value) != 2 or not value[0] <= value[1]:
                raise ValueError(
                    f"Recipe {recipe!r}: `expected[{name!r}][{key!r}]` must bound one of "
                    f"{EXPECTABLE} with (low, high), low <= high. Received: {value!r}")


def _override(config, key, text):
    try:
        current = config_lib.lookup(config, key)
    except KeyError:
        raise ValueError(_unknown_key_message(config, key)) from None
    value = config_lib.parse_override(key, text, current)
    return config_lib.merge(config, {key: value})


def _unknown_key_message(config, key):
    section = key.split(".", 1)[0]
    if "." in key and section in config_lib.SECTIONS:
        valid = sorted(f"{section}.{k}" for k in config_lib.valid_keys(config, section))
        hint = (" The learning rate comes from `schedule` (schedule.learning_rate)."
                if key == "optimizer.learning_rate" else "")
        return f"--set {key}: unknown key; `{section}` accepts {valid}.{hint}"
    return (f"--set {key}: unknown key; valid keys are seed, precision, jit_compile, or "
            f"SECTION.KEY with SECTION one of {config_lib.SECTIONS}.")


def run_configs(recipe, runs=None, overrides=()):
    """The recipe's resolved run configs.

    Args:
        recipe: a config from `load_recipe`.
        runs: names of the runs to keep, in the recipe's order (None: all).
        overrides: `(dotted key, text)` pairs from `--set`, applied in order
            to every run after its own changes, each parsed to the type of
            the value it replaces; the result is checked after the last one.

    Raises:
        ValueError: an unknown run name, key or value (the message lists
            what is valid).
    """
    names = [run["name"] for run in recipe["runs"]]
    if runs is not None:
        unknown = [name for name in runs if name not in names]
        if unknown:
            raise ValueError(f"Unknown run name(s) {unknown}; the recipe has {names}.")
    base = {k: v for k, v in recipe.items() if k not in _RECIPE_KEYS and k != "name"}
    configs = []
    for run in recipe["runs"]:
        if runs is not None and run["name"] not in runs:
            continue
        config = config_lib.resolve(config_lib.merge(base, run))
        for key, text in overrides:
            config = _override(config, key, text)
        # Checked once all overrides are in: `--set schedule.epochs=2 --set
        # schedule.boundaries=1` must not fail on the epochs-only step between.
        configs.append(config_lib.resolve(config) if overrides else config)
    return configs
