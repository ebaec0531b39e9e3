"""The recipe pages: one per registered recipe, from the recipe itself.

Each page shows the recipe module's docstring (source, formulas, hardware),
its runs at full size with their expected ranges, its hyperparameters beside
the published ones (the module's `PUBLISHED`), the command on 1 GPU, 8 GPUs
and a TPU (the rows `keras-bigbatch train --help` prints, planned by the same
code), and the smoke figures measured by `scripts/recipe_smoke_figures.py`
(`docs/recipes/smoke-figures.json`).
"""

import importlib
import json
import pathlib

FIGURES = pathlib.Path(__file__).resolve().parent / "recipes" / "smoke-figures.json"

# Hardware rows for a recipe that declares no MICRO_BATCHES: (name, --strategy, replicas).
PLAIN_HARDWARE = (("1 GPU", "default", 1), ("8 GPUs", "mirrored", 8), ("TPU v3-8", "tpu", 8))


def _training():
    from keras_bigbatch import training

    return training


def names():
    return _training().recipe_names()


def _value(config, dotted):
    for part in dotted.split("."):
        config = config[part]
    return config


def _format(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_format(v) for v in value) + ")"
    return f"{value}"


def _optimizer(config):
    """The optimizer's name; a layer-wise one with every variable excluded from
    adaptation is plain momentum SGD, and says so."""
    optimizer = config["optimizer"]
    excluded = optimizer.get("exclude_from_layer_adaptation")
    if isinstance(excluded, str):
        excluded = [excluded]
    if excluded and ".*" in excluded:
        return f"sgd ({optimizer['name']}, nothing adapted)"
    return optimizer["name"]


def _runs_table(configs, expected):
    rows = ["| run | global batch | epochs | optimizer, peak rate (warm-up epochs) | "
            "normalization | expected at full size |", "|---|---|---|---|---|---|"]
    for config in configs:
        schedule, model = config["schedule"], config["model"]
        norm = model.get("normalization", "")
        if norm == "ghost":
            norm = f"ghost {model.get('virtual_batch_size')}"
        checks = "; ".join(f"{key} in [{low:g}, {high:g}]"
                           for key, (low, high) in expected.get(config["name"], {}).items())
        rows.append(f"| {config['name']} | {schedule['batch_size']} | {_format(schedule['epochs'])}"
                    f" | {_optimizer(config)} {_format(schedule['learning_rate'])} "
                    f"({_format(schedule.get('warmup_epochs', 0))}) | {norm or '-'} | "
                    f"{checks or '-'} |")
    return "\n".join(rows)


def _published_table(module, configs):
    published = getattr(module, "PUBLISHED", None)
    if published is None:
        return "This recipe states no published hyperparameters.\n"
    by_name = {config["name"]: config for config in configs}
    runs = published.get("runs", {})
    tables = []
    for run, values in runs.items():
        rows = ["| setting | this recipe | published | where the source states it |",
                "|---|---|---|---|"]
        for key, value in values.items():
            value, note = value if isinstance(value, tuple) and len(value) == 2 and isinstance(
                value[1], str) else (value, "")
            ours = _value(by_name[run], key)
            flag = "" if _format(ours) == _format(value) else "**differs**"
            rows.append(f"| `{key}` | {_format(ours)} | {_format(value)} | "
                        f"{'; '.join(t for t in (flag, note) if t)} |")
        # One table per run (a heading each when there are several): the
        # setting column keeps its width.
        tables.append((f"### {run}\n\n" if len(runs) > 1 else "") + "\n".join(rows) + "\n")
    text = f"Source: {published['source']}\n\n"
    text += "\n".join(tables)
    accuracy = published.get("accuracy", {})
    if accuracy:
        text += "\nPublished results: " + "; ".join(f"{run}: {result}"
                                                   for run, result in accuracy.items()) + ".\n"
    return text


def _wrapped(flags):
    """`flags` with each `--set` on its own continued line (the page stays narrow)."""
    return flags.replace(" --set ", " \\\n    --set ")


def _commands(name, module, configs):
    from keras_bigbatch.cli import micro_batches
    from keras_bigbatch.training.plan import check_batch_sizes

    base = f"keras-bigbatch train {name}"
    declared = getattr(module, "MICRO_BATCHES", None)
    lines = []
    if declared is not None:
        for hardware, strategy, replicas, bound in declared["hardware"]:
            chosen = micro_batches.choose(configs, replicas, bound)
            flags = micro_batches._flags(strategy, bound, chosen)
            flags = "" if flags == "(no flag)" else " " + flags
            ks = "; ".join(f"{c['name']}: {micro_batches.passes(c, replicas)}" for c in chosen)
            lines.append(f"# {hardware}: {ks}\n{base}{_wrapped(flags)}")
        if not any(strategy == "tpu" for _, strategy, _, _ in declared["hardware"]):
            lines.append("# TPU: refused, " + ("a growing batch changes shapes, which a TPU "
                                                "compiles fixed" if any(
                c.get("batch_growth", {}).get("enabled") for c in configs)
                else "no TPU row is declared for this recipe"))
        intro = (f"What fits is an estimate, not measured: {declared['fits']}. "
                 "`keras-bigbatch train --help` prints the same rows.\n\n")
    else:
        intro = ""
        for hardware, strategy, replicas in PLAIN_HARDWARE:
            refused = []
            for config in configs:
                try:
                    check_batch_sizes(config, replicas)
                    if strategy == "tpu" and config.get("batch_growth", {}).get("enabled"):
                        raise ValueError("a growing batch on a TPU, which compiles fixed shapes")
                except ValueError as error:
                    refused.append(f"{config['name']} ({str(error).split('. Received')[0]})")
            flag = "" if strategy == "default" else f" --strategy {strategy}"
            note = f"  refused: {'; '.join(refused)}" if refused else ""
            lines.append(f"# {hardware}{':' + note if note else ''}\n{base}{flag}")
    return intro + "```bash\n" + "\n".join(lines) + "\n```\n"


def _smoke(name, configs):
    if not FIGURES.exists():
        return "No smoke figures recorded yet: run `python scripts/recipe_smoke_figures.py`.\n"
    figures = json.loads(FIGURES.read_text())
    recipe = figures["recipes"].get(name)
    if recipe is None:
        return (f"`{FIGURES.name}` has no figures for this recipe yet: run "
                "`python scripts/recipe_smoke_figures.py`.\n")
    fields = sorted({key for run in recipe["runs"].values() for key in run})
    rows = ["| run | " + " | ".join(fields) + " |", "|---" * (len(fields) + 1) + "|"]
    for run, values in recipe["runs"].items():
        rows.append(f"| {run} | " + " | ".join(_format(values.get(f, "")) for f in fields) + " |")
    command = figures["command"].format(recipe=name)
    if not any(config["data"].get("source") == "imagenet2012" for config in configs):
        # The ImageNet sample folder is only read by the ImageNet recipes.
        command = command.replace("KERAS_BIGBATCH_IMAGENET_DIR=SAMPLE ", "").split(" (SAMPLE")[0]
    return (f"Measured {figures['measured']} at commit `{figures['commit']}` on "
            f"{figures['machine']} (`{command}`; "
            f"{recipe['wall_s']:.0f} s in all). Smoke sizes train a few steps on tiny or "
            "generated data: they check that the recipe runs, not its accuracy.\n\n"
            + "\n".join(rows) + "\n")


def docstring_markdown(text):
    """A plain-text docstring as Markdown: an indented block (formulas, commands)
    right under a line of prose gets the blank line Markdown needs to keep it
    a code block rather than run it into the paragraph."""
    lines, previous = [], ""
    for line in text.splitlines():
        if line.startswith("    ") and previous.strip() and not previous.startswith("    "):
            lines.append("")
        lines.append(line)
        previous = line
    return "\n".join(lines)


def page(name, repo_url):
    training = _training()
    module = importlib.import_module(f"keras_bigbatch.recipes.{name}")
    recipe = training.load_recipe(name)
    configs = training.run_configs(recipe)
    summary, _, rest = (module.__doc__ or name).strip().partition("\n")
    return "\n".join([
        f"# `{name}`\n",
        f"{summary}\n",
        f"[Source: `recipes/{name}.py`]({repo_url}/blob/main/recipes/{name}.py) · "
        f"`keras-bigbatch train {name} --size smoke` runs it in seconds.\n",
        "## Runs\n",
        _runs_table(configs, recipe.get("expected", {})) + "\n",
        "## Against the published hyperparameters\n",
        _published_table(module, configs),
        "## Commands\n",
        _commands(name, module, configs),
        "## Smoke figures\n",
        _smoke(name, configs),
        "## The recipe's docstring\n",
        docstring_markdown(rest.strip("\n")) + "\n",
    ])


def _index(recipe_names):
    training = _training()
    rows = []
    for name in recipe_names:
        module = importlib.import_module(f"keras_bigbatch.recipes.{name}")
        summary = (module.__doc__ or "").strip().split("\n")[0]
        runs = ", ".join(c["name"] for c in training.run_configs(training.load_recipe(name)))
        rows.append(f"| [`{name}`]({name}.md) | {summary} | {runs} |")
    return ("# Recipes\n\nA recipe is one `get_config(size)` in `recipes/NAME.py` (installed as "
            "`keras_bigbatch.recipes`): `keras-bigbatch train NAME` trains its runs and writes "
            "`results.json`, the plots and a `model.keras` per run; `--size smoke` trains each "
            "run for a few steps. See [the command and run configs]"
            "(../how-to/command-line.md).\n\n| recipe | what | runs |\n|---|---|---|\n"
            + "\n".join(rows) + "\n")


def pages(repo_url):
    recipe_names = names()
    result = {"recipes/index.md": _index(recipe_names)}
    result.update({f"recipes/{name}.md": page(name, repo_url) for name in recipe_names})
    return result


def nav():
    return [{"Overview": "recipes/index.md"}] + [
        {name: f"recipes/{name}.md"} for name in names()]
