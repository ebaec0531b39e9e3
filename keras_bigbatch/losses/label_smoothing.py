"""Sparse categorical crossentropy with label smoothing, as a Keras loss."""

import keras
from keras import ops

from keras_bigbatch.arguments import check_bool
from keras_bigbatch.arguments import check_fraction


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class SparseCategoricalCrossentropy(keras.losses.Loss):
    """Crossentropy of integer labels, optionally against smoothed targets.

    For a label `k` of `C` classes and smoothing `e`:

    ```
    target_j = (1 - e) * [j == k] + e / C
    loss     = -sum_j target_j * log softmax(logits)_j     (from_logits=True)
    ```

    With `label_smoothing=0` this is `keras.losses.SparseCategoricalCrossentropy`;
    with `e > 0` it is `keras.losses.CategoricalCrossentropy(label_smoothing=e)`
    on one-hot labels, without materializing one-hot labels in the input
    pipeline. Keras's sparse loss has no `label_smoothing` argument, which
    the ImageNet recipes need (e = 0.1, Szegedy et al. 2016).

    Args:
        from_logits: predictions are logits (default True) or probabilities.
        label_smoothing: `e`, in [0, 1). Default 0.
        name: as for `keras.losses.Loss`.
        reduction: as for `keras.losses.Loss`.
        dtype: as for `keras.losses.Loss`.

    Example:

        >>> loss = SparseCategoricalCrossentropy(label_smoothing=0.1)
        >>> round(float(loss([0], [[2.0, 0.0]])), 4)
        0.2269

    References:
        Szegedy et al. 2016, "Rethinking the Inception Architecture for
        Computer Vision", section 7 (label-smoothing regularization).
    """

    def __init__(self, from_logits=True, label_smoothing=0.0,
                 name="sparse_categorical_crossentropy", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = check_bool("from_logits", from_logits)
        self.label_smoothing = check_fraction("label_smoothing", label_smoothing)

    def call(self, y_true, y_pred):
        if not self.label_smoothing:
            return keras.losses.sparse_categorical_crossentropy(
                y_true, y_pred, from_logits=self.from_logits)
        y_pred = ops.convert_to_tensor(y_pred)
        num_classes = ops.shape(y_pred)[-1]
        labels = ops.reshape(ops.cast(y_true, "int32"), ops.shape(y_pred)[:-1])
        target = ops.one_hot(labels, num_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            target, y_pred, from_logits=self.from_logits,
            label_smoothing=self.label_smoothing)

    def get_config(self):
        config = super().get_config()
        # Keras's base config leaves out `dtype`; every argument round-trips here.
        config.update(dtype=self.dtype, from_logits=self.from_logits,
                      label_smoothing=self.label_smoothing)
        return config
