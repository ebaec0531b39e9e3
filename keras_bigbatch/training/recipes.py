"""Loading recipes: Python files with one `get_config(size)` function."""

import importlib.util
import os

SIZES = ("default", "smoke")


def load_recipe(path, size="default", **overrides):
    """Imports the recipe file at `path` and returns `get_config(size)`.

    A recipe config is a dict with `name`, `description` and `runs`, a list
    of `TrainConfig` dicts (one per table row). `overrides` (e.g. `seed`,
    `data_dir`) are applied to every run.
    """
    if size not in SIZES:
        raise ValueError(
            f"Argument `size` must be one of {SIZES}. Received: size={size!r}"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Recipe file not found: {path!r}. Recipes live in the repository's "
            "recipes/ folder, e.g. recipes/generalization_gap.py."
        )
    name = "keras_bigbatch_recipe_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise ValueError(f"Recipe {path!r} defines no get_config(size) function.")
    config = module.get_config(size)
    if not config.get("runs"):
        raise ValueError(f"Recipe {path!r} returned no runs for size={size!r}.")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    config["runs"] = [{**run, **overrides} for run in config["runs"]]
    return config
