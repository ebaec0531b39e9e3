"""The `keras-bigbatch` command.

    keras-bigbatch train RECIPE [--size smoke] [--set KEY=VALUE ...] [--runs A,B]
                         [--strategy NAME] [--cpu-devices N] [--output DIR]
                         [--max-micro-batch N] [--deterministic]
    keras-bigbatch tune RECIPE --tuner NAME --max-trials N [--output DIR] [--run NAME]
                        [--knob KNOB=SPEC ...] [--set KEY=VALUE ...] [--size smoke]
                        [--strategy NAME] [--objective val_accuracy] [--overwrite]
    keras-bigbatch list

RECIPE is a registered name (`keras-bigbatch list`) or a recipe file.
`train` runs every run of a recipe and reports them (`cli.train`: outputs,
resuming); `tune` searches the large-batch knobs of one run with Keras
Tuner (`cli.tune`); `list` shows the registries (`cli.list`).

```
command.py     main: parse, run the command, the exit status
_parser.py     the argparse parser of every command
overrides.py   --set KEY=VALUE (and --seed) as (key, text) pairs
output.py      output folders: defaults, the writability check, per worker
errors.py      UsageError
micro_batches.py  --max-micro-batch, and the recipes' micro batches in train --help
train.py, tune.py, list.py   one module per command
```

`python -m keras_bigbatch.cli ...` is `keras-bigbatch ...`;
`python -m keras_bigbatch.training RECIPE ...` is `keras-bigbatch train RECIPE ...`.
Exit status: 0 on success, 2 for bad input (the message says what is valid;
everything is checked before the first run trains), 1 if training fails,
143 after saving on SIGTERM, 130 on Ctrl-C.
"""

from keras_bigbatch.cli.command import main
from keras_bigbatch.cli.errors import UsageError

__all__ = ["UsageError", "main"]
