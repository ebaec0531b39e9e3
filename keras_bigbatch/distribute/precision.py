"""Mixed precision per device: `resolve_precision` (any backend).

```
"auto"  ->  "mixed_bfloat16" on TPUs, "mixed_float16" on GPUs, "float32" on CPUs
```

Keras applies the policy (`keras.config.set_dtype_policy`): variables stay
float32, layers compute in the 16-bit type, and under `mixed_float16`
`model.compile` wraps the optimizer in a `LossScaleOptimizer`, which unscales
the gradients before the wrapped optimizer sees them, so LARS's norms are
those of the true gradients (tests/optimizers check LARS under a loss scale
of 2^15 against the unscaled update).
"""

from keras_bigbatch.arguments import check_choice
from keras_bigbatch.distribute.strategy import device_kind

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
_AUTO = {"tpu": "mixed_bfloat16", "gpu": "mixed_float16", "cpu": "float32"}


def _gpu_compute_capabilities():
    import tensorflow as tf

    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capabilities.append(details.get("compute_capability"))
    return capabilities


def resolve_precision(precision, strategy):
    """The Keras dtype policy name for `precision` on `strategy`'s devices.

    Raises:
        ValueError: unknown `precision`, `mixed_float16` on a TPU (TPUs
            have no float16 arithmetic), or `mixed_bfloat16` on a GPU
            older than compute capability 8.0 (no bfloat16 tensor cores).
    """
    check_choice("precision", precision, PRECISIONS)
    kind = device_kind(strategy)
    if precision == "auto":
        return _AUTO[kind]
    if precision == "mixed_float16" and kind == "tpu":
        raise ValueError(
            "Argument `precision='mixed_float16'` cannot run on a TPU (no float16 "
            "arithmetic); use 'mixed_bfloat16' or 'auto'. Received: precision='mixed_float16'")
    if precision == "mixed_bfloat16" and kind == "gpu":
        capabilities = (strategy.gpu_compute_capabilities()
                        if hasattr(strategy, "gpu_compute_capabilities")  # KerasDistribution
                        else _gpu_compute_capabilities())
        old = [c for c in capabilities if c is not None and tuple(c) < (8, 0)]
        if old:
            raise ValueError(
                "Argument `precision='mixed_bfloat16'` needs GPUs of compute capability "
                f">= 8.0 (Ampere or newer); found {old}. Use 'mixed_float16' or 'auto'. "
                "Received: precision='mixed_bfloat16'")
    return precision
