"""`keras-bigbatch list`: the registered recipes, data sources, models,
losses and optimizers, read from the registries.

Each recipe is described at its default size (the size `train` runs
without `--size`): its description and every run with its global batch
size, from the recipe's resolved run configs. Nothing is built or trained.
"""

from keras_bigbatch.training import recipes as recipes_lib


def describe_recipe(name):
    """Two lines for recipe `name` at its default size: `name: description`
    and its runs, each with its global batch size."""
    recipe = recipes_lib.load_recipe(name)
    runs = ", ".join(f"{config['name']} {config['schedule']['batch_size']}"
                     for config in recipes_lib.run_configs(recipe))
    return f"  {name}: {recipe.get('description', '')}\n    runs (global batch size): {runs}"


def run():
    """Prints the listing; returns the exit status (0)."""
    from keras_bigbatch import data
    from keras_bigbatch.training import registry

    print("recipes:")
    for name in recipes_lib.recipe_names():
        print(describe_recipe(name))
    print("data sources: " + ", ".join(data.source_names()))
    print("models: " + ", ".join(registry.model_names()))
    print("losses: " + ", ".join(registry.loss_names()))
    print("optimizers: " + ", ".join(registry.optimizer_names())
          + "; and any Keras optimizer name, e.g. sgd, lamb, adamw")
    return 0
