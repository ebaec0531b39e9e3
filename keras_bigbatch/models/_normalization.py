"""Chooses the normalization layer a model uses."""

import keras

from keras_bigbatch.arguments import check_choice
from keras_bigbatch.arguments import check_fraction
from keras_bigbatch.arguments import check_positive
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.layers import GhostBatchNormalization

NORMALIZATIONS = ("batch", "sync_batch", "ghost", "none")


def check_normalization(normalization, virtual_batch_size, momentum=None, epsilon=None):
    """Validates the model's normalization arguments; raises `ValueError` if bad.

    `momentum` and `epsilon` are checked when given (not None).
    """
    check_choice("normalization", normalization, NORMALIZATIONS)
    if normalization == "ghost":
        if virtual_batch_size is None:
            raise ValueError(
                "Argument `virtual_batch_size` is required when "
                "normalization='ghost'. Received: virtual_batch_size=None"
            )
        check_positive_int("virtual_batch_size", virtual_batch_size)
    if momentum is not None:
        check_fraction("normalization_momentum", momentum)
    if epsilon is not None:
        check_positive("normalization_epsilon", epsilon)


def normalization_layer(normalization, virtual_batch_size, name, momentum=0.99,
                        epsilon=1e-3, gamma_initializer="ones", center=True, scale=True):
    """Returns a BN / GBN layer, or None for `normalization="none"`.

    `epsilon` (default 1e-3, Keras's), `gamma_initializer` (e.g. `"zeros"`
    for a residual block's last normalization), `center` and `scale` (the
    learned offset `beta` and scale `gamma`) are passed to the layer.
    """
    options = dict(momentum=momentum, epsilon=epsilon, gamma_initializer=gamma_initializer,
                   center=center, scale=scale, name=name)
    if normalization == "batch":
        return keras.layers.BatchNormalization(**options)
    if normalization == "sync_batch":
        # statistics all-reduced over the replicas: one device's BN on the global batch
        return keras.layers.BatchNormalization(synchronized=True, **options)
    if normalization == "ghost":
        return GhostBatchNormalization(virtual_batch_size, **options)
    return None
