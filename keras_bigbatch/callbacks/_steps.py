"""The optimizer's update counter, as a Python int (any backend)."""

import keras


def optimizer_steps(model):
    """`model.optimizer.iterations` now."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))
