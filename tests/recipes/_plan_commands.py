"""Plans `keras-bigbatch train` command lines through the command's own
`prepare` (which plans every run), without training; for micro_batches_test.py.

    python -m tests.recipes._plan_commands '[["train", "RECIPE", ...], ...]'

prints one line, `PLANNED ` and JSON: for every command, every run's name,
replicas, micro batch, global batches (a batch-growth plan's, sorted) and k
per global batch (`Run.micro_batches`).
"""

import json
import sys


def plan_commands(commands):
    """`[[{"name", "replicas", "micro", "batches", "k"} per run] per command]`."""
    from keras_bigbatch.cli import train
    from keras_bigbatch.cli._parser import parser
    from keras_bigbatch.training.plan import plan

    planned = []
    for argv in commands:
        prepared = train.prepare(parser().parse_args(argv))
        runs = []
        for config in prepared.configs:
            run = plan(config, prepared.strategy)
            batches = ([run.global_batch_size] if run.growth is None
                       else sorted(set(run.growth.batch_size.boundaries.values())))
            runs.append({"name": run.name, "replicas": run.num_replicas,
                         "micro": run.micro_batch_size, "batches": batches,
                         "k": [run.micro_batches(b) for b in batches]})
        planned.append(runs)
    return planned


if __name__ == "__main__":
    print("PLANNED " + json.dumps(plan_commands(json.loads(sys.argv[1]))), flush=True)
