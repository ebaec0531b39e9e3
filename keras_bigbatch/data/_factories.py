"""What the adapters share: splits, example counts, and calling a user's factory
with the keyword arguments it declares (numpy only)."""

import inspect

from keras_bigbatch.arguments import check_positive_int


def declared(function, optional):
    """The names in `optional` that `function` takes as keyword arguments
    (all of them when it takes `**kwargs`)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return set(optional)
    names = {p.name for p in parameters if p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return set(optional) & names


def call(function, takes, split, global_batch_size, **optional):
    """`function(split, global_batch_size, **the optional arguments it takes)`."""
    return function(split, global_batch_size, **{k: v for k, v in optional.items() if k in takes})


def example_counts(num_examples, argument="num_examples"):
    """`{split: count}` from an int (the training split's) or a dict of them.

    Raises:
        ValueError: not a positive int or a dict of them over "train", "test",
            "validation", with "train" in it.
    """
    counts = num_examples if isinstance(num_examples, dict) else {"train": num_examples}
    unknown = sorted(set(counts) - {"train", "test", "validation"})
    if unknown or "train" not in counts:
        raise ValueError(
            f"Argument `{argument}` must be the training split's example count or a dict "
            "{'train': N, 'test': M, 'validation': V} ('train' required). "
            f"Received: {argument}={num_examples!r}")
    for split, count in counts.items():
        check_positive_int(f"{argument}[{split!r}]", count)
    return dict(counts)


def check_classes(num_classes, name):
    """`num_classes`, or a `ValueError` (asked for by a registered model) if None."""
    if num_classes is None:
        raise ValueError(
            f"Data source {name!r} does not know its number of classes, which the registered "
            "model needs: pass `num_classes=` to the adapter (from_dataset_fn, "
            "from_generator), or give the trainer your own model (model=...).")
    return num_classes
