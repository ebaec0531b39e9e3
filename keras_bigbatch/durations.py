"""Training durations: steps per epoch, epochs <-> steps, boundaries. Defined once.

Every part of the package that turns epochs into optimizer steps calls these
functions (data pipelines, `Regime`, the batch-growth plans, the trainer),
so "epoch 6" names the same update everywhere:

```
steps_per_epoch(N, B)       = N // B          (drop_remainder: only full global batches)
                            = ceil(N / B)     (drop_remainder=False, evaluation)
epochs_to_steps(e, spe)     = round(e * spe)  (fractional epochs allowed)
boundary_step(e, spe)       = epochs_to_steps(e, spe): the 0-based index of
                              the first update of epoch e, the first one that
                              uses the new value
```

Pure Python, importable from any backend.
"""

from keras_bigbatch.arguments import check_non_negative_int
from keras_bigbatch.arguments import check_positive_int


def steps_per_epoch(num_examples, global_batch_size, drop_remainder=True):
    """Optimizer steps in one pass over `num_examples` examples.

    Args:
        num_examples: examples in one epoch, an int >= 0.
        global_batch_size: examples per step summed over replicas, > 0.
        drop_remainder: count only full global batches (training, the
            default) or also the last partial one (evaluation).

    Example:

        >>> steps_per_epoch(60000, 4096), steps_per_epoch(60000, 4096, False)
        (14, 15)
    """
    global_batch_size = check_positive_int("global_batch_size", global_batch_size)
    num_examples = check_non_negative_int("num_examples", num_examples)
    full, rest = divmod(num_examples, global_batch_size)
    return full if drop_remainder or not rest else full + 1


def check_steps_per_epoch(num_examples, global_batch_size):
    """`steps_per_epoch`, raising if not even one full global batch exists."""
    steps = steps_per_epoch(num_examples, global_batch_size)
    if steps == 0:
        raise ValueError(
            f"Argument `global_batch_size` ({global_batch_size}) is larger than "
            f"the {num_examples} training examples, so no full global batch "
            f"exists. Use a global batch size <= {num_examples}. "
            f"Received: global_batch_size={global_batch_size}"
        )
    return steps


def epochs_to_steps(epochs, steps_per_epoch):
    """`round(epochs * steps_per_epoch)`: whole optimizer steps in `epochs`."""
    return int(round(float(epochs) * steps_per_epoch))


def boundary_step(epoch, steps_per_epoch):
    """The 0-based update index at which epoch `epoch` (maybe fractional) starts.

    A schedule that changes "at epoch e" changes for this update and all
    later ones: `optimizer.iterations == boundary_step(e, spe)` when the first
    new-valued update reads its learning rate.
    """
    return epochs_to_steps(epoch, steps_per_epoch)

