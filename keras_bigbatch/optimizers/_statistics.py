"""Per-tensor statistics for layer-wise rates, with guarded division.

All statistics are computed in float32 at least, so float16 and bfloat16
variables neither overflow (a float16 sum of squares overflows at 65504) nor
lose the ratio to rounding.
"""

import keras
from keras import ops


def stat_dtype(dtype):
    """float32 for 16-bit floats, otherwise the dtype itself."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "float32" if dtype in ("float16", "bfloat16") else dtype


def l2_norm(x, dtype):
    """||x||_2 of the whole tensor, computed in `dtype`."""
    x = ops.cast(x, dtype)
    return ops.sqrt(ops.sum(ops.square(x)))


def median_abs(x, dtype, sample_size=None):
    """Median of |x| over all elements (numpy's convention for even sizes).

    Exact by default: sorts the flattened tensor. With `sample_size` set and
    the tensor larger than it, the median of a strided sample of
    `sample_size` elements (every k-th element in memory order) is returned
    instead, which costs a sort of `sample_size` elements.
    """
    flat = ops.reshape(ops.abs(ops.cast(x, dtype)), (-1,))
    size = int(flat.shape[0])
    if sample_size is not None and size > sample_size:
        stride = size // sample_size
        flat = flat[: stride * sample_size : stride]
        size = sample_size
    ordered = ops.sort(flat)
    middle = size // 2
    if size % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def safe_ratio(numerator, denominator, fallback=1.0):
    """numerator / denominator where both are > 0, else `fallback`.

    The division is done on a denominator with zeros replaced by 1, so no
    inf or NaN is created even in the branch that is not taken (whose
    gradient would otherwise poison a `where`).
    """
    valid = ops.logical_and(ops.greater(numerator, 0), ops.greater(denominator, 0))
    safe_denominator = ops.where(valid, denominator, ops.ones_like(denominator))
    return ops.where(valid, numerator / safe_denominator, ops.cast(fallback, numerator.dtype))
