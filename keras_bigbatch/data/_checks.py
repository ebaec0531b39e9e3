"""Argument checks shared by the sources and the pipelines, made once (numpy only)."""

from keras_bigbatch.arguments import check_non_negative_int
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.distribute.batching import per_replica_batch_size
from keras_bigbatch.durations import check_steps_per_epoch

SPLITS = ("train", "validation", "test")

# What splits each distributed argument's global batches when evaluating.
_SPLIT_BY = {
    "input_context": "`strategy.experimental_distribute_dataset`",
    "shard": "keras.distribution",
}


def check_examples(x, y):
    """Raises unless `x` and `y` hold the same number of examples."""
    if len(x) != len(y):
        raise ValueError(
            "Arguments `x` and `y` must have the same number of examples. "
            f"Received: len(x)={len(x)}, len(y)={len(y)}"
        )


def check_shard(shard):
    """Returns `shard`; raises unless it is `(worker, workers)`, ints, 0 <= worker < workers."""
    if (not isinstance(shard, (tuple, list)) or len(shard) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in shard)
            or not 0 <= shard[0] < shard[1]):
        raise ValueError(f"Argument `shard` must be (worker, workers), ints with 0 <= "
                         f"worker < workers. Received: shard={shard!r}")
    return tuple(shard)


def check_request(source, split, global_batch_size, *, seed, training, start_step,
                  replicas=1, distributed=None):
    """Checks the arguments of `DataSource.dataset` and `DataSource.batches`.

    Args:
        source: the `DataSource` asked.
        split, global_batch_size, seed, training, start_step: as `dataset`.
        replicas: what must divide the global batch: replicas in sync
            (`dataset`) or workers (`batches`).
        distributed: `(name, value)` of the argument that splits the global
            batch (`input_context`, `shard`), or None.

    Returns:
        `training`, resolved: True for "train", False otherwise, unless given.
    """
    if split not in SPLITS:
        raise ValueError(f"Argument `split` must be one of {SPLITS}. Received: split={split!r}")
    if not source.has_split(split):
        raise ValueError(
            f"Data source {source.name!r} has no {split!r} split: `hold_out(count)` "
            "(config: evaluation.validation_examples) makes one. Received: "
            f"split={split!r}")
    check_positive_int("global_batch_size", global_batch_size)
    check_non_negative_int("start_step", start_step)
    check_non_negative_int("seed", seed)
    training = split == "train" if training is None else training
    if distributed is not None:
        per_replica_batch_size(global_batch_size, replicas)
    if training:
        check_steps_per_epoch(source.num_examples(split), global_batch_size)
    elif distributed is not None:
        name, value = distributed
        raise ValueError(
            f"Argument `{name}` applies to training datasets only: an evaluation dataset "
            f"yields whole global batches, which {_SPLIT_BY[name]} splits. "
            f"Received: {name}={value!r}, training=False")
    elif start_step:
        raise ValueError("Argument `start_step` applies to training datasets only. "
                         f"Received: start_step={start_step}, training=False")
    return training
