"""`--set KEY=VALUE` (and `--seed N`) as `(key, text)` pairs.

Each text is parsed later, to the type of the value it replaces, by the
one text-to-value parser, `training.config.parse_override` (through
`training.recipes.run_configs`).
"""

from keras_bigbatch.cli.errors import UsageError


def set_overrides(args):
    """`(key, text)` pairs of `--set KEY=VALUE` (and `--seed N`), in order."""
    pairs = []
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, e.g. --set schedule.epochs=3")
        pairs.append((key.strip(), value))
    if args.seed is not None:
        pairs.append(("seed", str(args.seed)))
    return pairs
