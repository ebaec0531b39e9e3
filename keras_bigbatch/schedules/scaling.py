"""Learning-rate scaling rules for a larger batch."""

import math

RULES = ("linear", "sqrt")


def scale_learning_rate(
    base_learning_rate, base_batch_size, batch_size, rule="linear"
):
    """Scales a learning rate tuned at one batch size to another.

    ```
    linear: lr = base_learning_rate * batch_size / base_batch_size
    sqrt:   lr = base_learning_rate * sqrt(batch_size / base_batch_size)
    ```

    The linear rule (Goyal et al. 2017; You et al. 2017) keeps the expected
    update per example fixed; the square-root rule (Hoffer et al. 2017) keeps
    the covariance of the update, i.e. the gradient noise, fixed.

    Both sizes must be *global* batch sizes (summed over replicas).

    Args:
        base_learning_rate: learning rate tuned at `base_batch_size`, >= 0.
        base_batch_size: global batch size it was tuned at, > 0.
        batch_size: global batch size to train with, > 0.
        rule: `"linear"` or `"sqrt"`. Default `"linear"`.

    Returns:
        The scaled learning rate (a Python float).

    Example:

        >>> scale_learning_rate(0.1, 256, 8192, rule="linear")
        3.2
        >>> round(scale_learning_rate(0.1, 128, 4096, rule="sqrt"), 4)
        0.5657

    References:
        Hoffer, Hubara & Soudry 2017, "Train longer, generalize better",
        section 4.1 (eq. 7: eta proportional to sqrt(batch size)).
        Goyal et al. 2017, "Accurate, Large Minibatch SGD", section 2.1
        (linear scaling rule).
    """
    if rule not in RULES:
        raise ValueError(
            f"Argument `rule` must be one of {RULES}. Received: rule={rule!r}"
        )
    if not base_learning_rate >= 0:
        raise ValueError(
            "Argument `base_learning_rate` must be >= 0. "
            f"Received: base_learning_rate={base_learning_rate}"
        )
    for name, value in (
        ("base_batch_size", base_batch_size),
        ("batch_size", batch_size),
    ):
        if not value > 0:
            raise ValueError(
                f"Argument `{name}` must be > 0. Received: {name}={value}"
            )
    ratio = batch_size / base_batch_size
    factor = ratio if rule == "linear" else math.sqrt(ratio)
    return float(base_learning_rate * factor)
