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

    Exact by default, by selection rather than sorting: for non-negative
    IEEE floats the order of the values is the order of their bit patterns
    read as integers, so the k-th smallest |x| is found by bisection on the
    integer bit pattern, one counting pass per bit (31 for float32). That
    is O(31 n) element-wise work with static shapes (XLA- and TPU-friendly),
    about 5x faster than a sort on CPU, and about 20 passes once a sampled
    bracket (checked, so still exact) narrows the range. For an even size the upper middle
    value is the smallest entry above the lower one, unless it repeats.

    With `sample_size` set and the tensor larger than it, the median of an
    evenly strided sample of `sample_size` entries is returned instead.

    Keras before 3.12 has no bit-cast (`keras.ops.view`); there the median
    is read from a sort of the tensor: the same values, more slowly.
    """
    flat = ops.reshape(ops.abs(ops.cast(x, dtype)), (-1,))
    size = int(flat.shape[0])
    if sample_size is not None and size > sample_size:
        stride = size // sample_size
        flat = flat[: stride * sample_size : stride]
        size = sample_size
    if size == 1:
        return flat[0]
    if not _HAS_VIEW:
        return _median_by_sorting(flat, size)
    int_dtype, bits_count = _INT_VIEWS[keras.backend.standardize_dtype(dtype)]
    bits = ops.view(flat, int_dtype)
    lower = _kth_smallest(bits, (size + 1) // 2, bits_count, int_dtype)
    if size % 2:
        return ops.view(ops.reshape(lower, (1,)), dtype)[0]  # Keras 3.12.0 cannot view a scalar
    at_or_below = ops.sum(ops.cast(ops.less_equal(bits, lower), "int32"))
    largest = ops.convert_to_tensor(2 ** (bits_count - 1) - 1, int_dtype)
    above = ops.min(ops.where(ops.greater(bits, lower), bits, largest))
    upper = ops.where(ops.greater(at_or_below, size // 2), lower, above)
    values = ops.view(ops.stack([lower, upper]), dtype)
    return (values[0] + values[1]) / 2


_INT_VIEWS = {"float32": ("int32", 32), "float64": ("int64", 64)}
_HAS_VIEW = hasattr(ops, "view")  # Keras >= 3.12


def _median_by_sorting(flat, size):
    """The median of a 1-D tensor of `size` > 1 entries, from a full sort."""
    ordered = ops.sort(flat)
    if size % 2:
        return ordered[size // 2]
    return (ordered[size // 2 - 1] + ordered[size // 2]) / 2


_BRACKET_SAMPLE = 4096
_BRACKET_HALF_WIDTH = 96  # 3 standard deviations of a sample median's rank


def _kth_smallest(bits, k, bits_count, int_dtype):
    """Smallest t with #{bits <= t} >= k, for non-negative integer `bits`.

    Bisection on the integer range. Tensors above `_BRACKET_SAMPLE`
    entries first take a bracket from a sorted strided sample (ranks
    k +- 3 sigma) and check it with two counting passes; bisection then
    runs inside the bracket (about 20 steps instead of 31 for float32), or
    over the whole range if the check fails, so the result is exact
    either way.
    """
    size = int(bits.shape[0])
    low = ops.convert_to_tensor(0, int_dtype)
    high = ops.convert_to_tensor(2 ** (bits_count - 1) - 1, int_dtype)

    def count_at_or_below(t):
        return ops.sum(ops.cast(ops.less_equal(bits, t), "int32"))

    if size > _BRACKET_SAMPLE:
        stride = size // _BRACKET_SAMPLE
        sample = ops.sort(bits[: stride * _BRACKET_SAMPLE : stride])
        rank = (k - 1) * _BRACKET_SAMPLE // size
        below = sample[max(rank - _BRACKET_HALF_WIDTH, 0)]
        above = sample[min(rank + _BRACKET_HALF_WIDTH, _BRACKET_SAMPLE - 1)]
        valid = ops.logical_and(ops.less(count_at_or_below(below), k),
                                ops.greater_equal(count_at_or_below(above), k))
        low = ops.where(valid, below + 1, low)
        high = ops.where(valid, above, high)

    def body(low, high):
        middle = low + (high - low) // 2
        enough = ops.greater_equal(count_at_or_below(middle), k)
        return ops.where(enough, low, middle + 1), ops.where(enough, middle, high)

    low, _ = ops.while_loop(lambda low, high: ops.less(low, high), body, (low, high))
    return low


def safe_ratio(numerator, denominator, fallback=1.0):
    """numerator / denominator where both are > 0, else `fallback`.

    The division is done on a denominator with zeros replaced by 1, so no
    inf or NaN is created even in the branch that is not taken (whose
    gradient would otherwise poison a `where`).
    """
    valid = ops.logical_and(ops.greater(numerator, 0), ops.greater(denominator, 0))
    safe_denominator = ops.where(valid, denominator, ops.ones_like(denominator))
    return ops.where(valid, numerator / safe_denominator, ops.cast(fallback, numerator.dtype))
