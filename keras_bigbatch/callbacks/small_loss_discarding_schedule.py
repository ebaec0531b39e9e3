"""Switching SmallLossDiscarding off after its first epochs."""

import keras

from keras_bigbatch.losses import SmallLossDiscarding


class SmallLossDiscardingSchedule(keras.callbacks.Callback):
    """Discards small-loss samples only in the loss's first `epochs` epochs.

    ```
    fraction(epoch) = loss.fraction   if epoch < loss.epochs
                      0               otherwise
    ```

    The callback finds the `SmallLossDiscarding` that `model.compile`
    received (`model.loss`). At the first epoch >= `loss.epochs` (also when
    `fit` resumes there) it sets the fraction to 0 and rebuilds the train
    function: one retrace, on every backend. `logs["discard_fraction"]` holds
    each epoch's fraction.

    References:
        Gao & Zhong, section 3.1: 30% discarded in the first 100 epochs.
    """

    def __init__(self):
        super().__init__()
        self._loss = None
        self._fraction = None

    def on_train_begin(self, logs=None):
        loss = self.model.loss
        if not isinstance(loss, SmallLossDiscarding):
            raise ValueError(
                "SmallLossDiscardingSchedule needs a model compiled with "
                "loss=keras_bigbatch.losses.SmallLossDiscarding(...). "
                f"Received: model.loss={loss!r}"
            )
        self._loss = loss
        if self._fraction is None:
            self._fraction = loss.fraction

    def on_epoch_begin(self, epoch, logs=None):
        wanted = self._fraction
        if self._loss.epochs is not None and epoch >= self._loss.epochs:
            wanted = 0.0
        if wanted != self._loss.fraction:
            self._loss.fraction = wanted
            self.model.make_train_function(force=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["discard_fraction"] = self._loss.fraction
