"""`keras-bigbatch tune RECIPE --tuner NAME --max-trials N --output DIR [...]`.

Searches one run of a recipe (`--run`, default its first) over the
`SearchSpace` knobs, each one fixed (`--knob optimizer=lars`), narrowed to
choices (`--knob optimizer=sgd,lars`) or to a range
(`--knob base_learning_rate=0.1:10`). Writes into DIR (default
`results/RECIPE-tune`, `-tune-smoke` with `--size smoke`):

```
DIR/tuner/search/        Keras Tuner's trials (a rerun resumes from them)
DIR/search.json          what was searched (a rerun must search the same)
DIR/best_trials.json     the best trials, best first, and the best trial's
                         test accuracy, measured once after the search
DIR/best/model.keras     the best trial's model (its best epoch)
```

Exit status as for `train`: 2 for bad input, 1 if training fails, 130 on
Ctrl-C (rerun to resume: Keras Tuner reruns the interrupted trial).
"""

import json
import os
import sys

from keras_bigbatch.cli.errors import UsageError
from keras_bigbatch.cli.output import check_writable
from keras_bigbatch.cli.output import default_output
from keras_bigbatch.cli.overrides import set_overrides
from keras_bigbatch.training import recipes as recipes_lib
from keras_bigbatch.training import report
from keras_bigbatch.training.config import parse_override


def parse_knob(item):
    """`KNOB=SPEC` text as `(knob, value)`: `a` fixed, `a,b` choices, `lo:hi` a range.

    Each value is read by `training.config.parse_override` with no type to go
    by: `true`/`false`, a Python literal (`0.1`, `32`, `None`), else the text.

    Raises:
        UsageError: not `KNOB=SPEC`, or a range whose ends are not numbers.
    """
    name, sep, text = item.partition("=")
    name, text = name.strip(), text.strip()
    if not sep or not name or not text:
        raise UsageError(f"--knob {item!r}: expected KNOB=SPEC, e.g. --knob optimizer=sgd,lars "
                         "or --knob base_learning_rate=0.1:10")

    if ":" in text:
        ends = [parse_override(name, part.strip(), None, bools=True) for part in text.split(":")]
        if len(ends) != 2 or not all(isinstance(e, (int, float)) and not isinstance(e, bool)
                                     for e in ends):
            raise UsageError(f"--knob {item!r}: a range is LOW:HIGH with two numbers, "
                             "e.g. --knob base_learning_rate=0.1:10")
        return name, (float(ends[0]), float(ends[1]))
    values = [parse_override(name, part.strip(), None, bools=True) for part in text.split(",")]
    return name, values if len(values) > 1 else values[0]


def _settings(args, config, knobs, replicas):
    return {"recipe": args.recipe, "size": args.size, "run": config["name"],
            "tuner": args.tuner, "objective": args.objective, "knobs": knobs,
            "overrides": list(map(list, set_overrides(args))), "replicas": replicas,
            "validation_examples": args.validation_examples}


def _check_same_search(path, settings):
    """Raises unless the search in `path`'s folder searched `settings` (or none is there)."""
    if not os.path.exists(path):
        return
    with open(path) as stream:
        saved = json.load(stream)
    current = json.loads(json.dumps(settings))  # tuples as lists, as they were saved
    differences = [f"{key}: before {saved.get(key)!r}, now {current.get(key)!r}"
                   for key in sorted(set(saved) | set(current))
                   if saved.get(key) != current.get(key)]
    if differences:
        raise UsageError(
            f"{os.path.dirname(path)} holds a search with other settings, which a rerun would "
            "resume: " + "; ".join(differences) + ". Give another --output, or --overwrite "
            "to start afresh.")


def run(args):
    """Runs `keras-bigbatch tune`; returns the exit status (raises UsageError/ValueError
    for bad input, which `cli.main` turns into status 2)."""
    from keras_bigbatch.distribute import get_strategy
    from keras_bigbatch.tuner import BigBatchHyperModel
    from keras_bigbatch.tuner import format_table
    from keras_bigbatch.tuner import make_tuner
    from keras_bigbatch.tuner import search
    from keras_bigbatch.tuner.search import best_model

    recipe = recipes_lib.load_recipe(args.recipe, args.size)
    names = [run["name"] for run in recipe["runs"]]
    run_name = args.run or names[0]
    config = recipes_lib.run_configs(recipe, [run_name], set_overrides(args))[0]
    knobs = dict(parse_knob(item) for item in args.knobs)
    if args.top < 1:
        raise UsageError(f"--top must be >= 1. Received: --top {args.top}")
    output = args.output or default_output(recipe["name"], args.size, suffix="-tune")
    strategy = get_strategy(args.strategy, cpu_devices=args.cpu_devices)
    hypermodel = BigBatchHyperModel(config, knobs, strategy,
                                    validation_examples=args.validation_examples)
    check_writable(output)  # after every check: bad input leaves no folder behind
    settings = _settings(args, config, hypermodel.space.get_config(),
                         strategy.num_replicas_in_sync)
    settings_path = os.path.join(output, "search.json")
    if not args.overwrite:
        _check_same_search(settings_path, settings)
    tuner = make_tuner(args.tuner, hypermodel, os.path.join(output, "tuner"), args.max_trials,
                       args.objective, seed=config["seed"], overwrite=args.overwrite,
                       distribution_strategy=strategy)
    report.write_json(settings_path, settings)
    print(f"tune {recipe['name']} run {run_name} ({args.size}): {args.tuner}, at most "
          f"{args.max_trials} trials on {strategy.num_replicas_in_sync} replica(s); objective "
          f"{args.objective} on {hypermodel.validation_examples} held-out training examples; "
          f"results in {output}/", flush=True)
    try:
        summary = search(tuner, hypermodel, top=args.top)
    except KeyboardInterrupt:
        print(f"interrupted: rerun the same command to resume the search in {output}/",
              file=sys.stderr)
        return 130
    except ValueError as error:  # inside the search: a failure of training, not bad input
        raise RuntimeError(f"the search failed: {error}") from error
    print()
    print(format_table(summary))
    report.write_json(os.path.join(output, "best_trials.json"), dict(summary, settings=settings))
    if summary["trials"]:
        best_folder = os.path.join(output, "best")
        check_writable(best_folder)
        best_model(tuner).save(os.path.join(best_folder, "model.keras"))
    print(f"\n{summary['completed']} trial(s) completed; wall time {summary['wall_time_s']:.0f} s; "
          f"wrote {output}/best_trials.json and {output}/best/model.keras")
    return 0
