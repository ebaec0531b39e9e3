"""Gao & Zhong's discarding of small-loss samples, as a Keras loss."""

import keras
from keras import ops

from keras_bigbatch.arguments import check_fraction
from keras_bigbatch.arguments import check_positive_int


@keras.saving.register_keras_serializable(package="keras_bigbatch")
class SmallLossDiscarding(keras.losses.Loss):
    """Drops the `fraction` of each batch with the smallest per-sample loss.

    For a (per-replica) batch of `n` per-sample losses `l_i`:

    ```
    d    = floor(fraction * n)              samples dropped
    kept = the n - d samples with the largest l_i  (ties: lower index first)
    loss = sum(l_i for i in kept) / (n - d)       mean over the kept samples
    ```

    Implemented by returning `l_i * n / (n - d)` for kept samples and 0 for
    dropped ones, so Keras's default "sum_over_batch_size" reduction gives
    the mean over the kept samples; sample weights multiply as usual.
    Per-sample losses with extra axes (e.g. per pixel) are averaged over
    those axes first. Dropped samples contribute no gradient.

    Under `tf.distribute`, Keras computes the loss per replica, so each
    replica drops the smallest `fraction` of *its own* batch; every replica
    keeps the same count, so the all-reduced gradient is the gradient of
    the mean over all kept samples.

    Discarding only during the first `epochs` epochs needs the
    `keras_bigbatch.callbacks.SmallLossDiscardingSchedule` callback in
    `fit`: it sets `fraction` to 0 from epoch `epochs` on and rebuilds the
    train function once (one retrace, on every backend).

    Args:
        loss: the per-sample loss: a `keras.losses.Loss`, a loss function
            or its name.
        fraction: share of each batch to drop, in [0, 1). Default 0.3.
        epochs: discard during epochs `0 .. epochs - 1` only, > 0, or None
            (always). Default None.

    Example:

        >>> loss = SmallLossDiscarding("mean_squared_error", fraction=0.5)
        >>> float(loss([[0.], [0.], [0.], [0.]], [[1.], [2.], [3.], [4.]]))
        12.5

        (Squared errors 1, 4, 9, 16; the two smallest are dropped: (9 + 16) / 2.)

    References:
        Gao & Zhong, section 3.1 ("Discarding small-loss samples") and
        Figures 9-10: 30% discarded during the first 100 epochs.
    """

    def __init__(self, loss, fraction=0.3, epochs=None, name="small_loss_discarding",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = keras.losses.get(loss)
        if self.loss is None:
            raise ValueError(f"Argument `loss` must name a Keras loss. Received: loss={loss!r}")
        self.fraction = check_fraction("fraction", fraction)
        if epochs is not None:
            check_positive_int("epochs", epochs)  # or None: every epoch
        self.epochs = epochs

    def per_sample(self, y_true, y_pred):
        """The wrapped loss, one value per sample."""
        base = self.loss.call if isinstance(self.loss, keras.losses.Loss) else self.loss
        values = base(y_true, y_pred)
        if len(values.shape) > 1:
            values = ops.mean(values, axis=tuple(range(1, len(values.shape))))
        return values

    def call(self, y_true, y_pred):
        values = self.per_sample(y_true, y_pred)
        if self.fraction == 0.0:
            return values
        n = ops.shape(values)[0]
        dropped = ops.cast(ops.floor(self.fraction * ops.cast(n, "float32")), "int32")
        # rank of each sample by loss (0 = smallest); a stable double argsort
        ranks = ops.argsort(ops.argsort(ops.stop_gradient(values)))
        keep = ops.greater_equal(ops.cast(ranks, "int32"), dropped)
        scale = ops.cast(n, values.dtype) / ops.cast(n - dropped, values.dtype)
        return ops.where(keep, values * scale, ops.zeros_like(values))

    def get_config(self):
        config = super().get_config()
        config.update(
            loss=keras.losses.serialize(self.loss),
            fraction=self.fraction,
            epochs=self.epochs,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = keras.losses.deserialize(config["loss"])
        return cls(**config)
