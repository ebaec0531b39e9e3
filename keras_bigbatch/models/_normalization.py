"""Chooses the normalization layer a model uses."""

import keras

from keras_bigbatch.arguments import check_choice
from keras_bigbatch.layers import GhostBatchNormalization

NORMALIZATIONS = ("batch", "sync_batch", "ghost", "none")


def check_normalization(normalization, virtual_batch_size):
    """Validates the pair of model arguments; raises `ValueError` if bad."""
    check_choice("normalization", normalization, NORMALIZATIONS)
    if normalization == "ghost" and virtual_batch_size is None:
        raise ValueError(
            "Argument `virtual_batch_size` is required when "
            "normalization='ghost'. Received: virtual_batch_size=None"
        )


def normalization_layer(normalization, virtual_batch_size, name, momentum=0.99):
    """Returns a BN / GBN layer, or None for `normalization="none"`."""
    if normalization == "batch":
        return keras.layers.BatchNormalization(momentum=momentum, name=name)
    if normalization == "sync_batch":
        # statistics all-reduced over the replicas: one device's BN on the global batch
        return keras.layers.BatchNormalization(momentum=momentum, synchronized=True, name=name)
    if normalization == "ghost":
        return GhostBatchNormalization(virtual_batch_size, momentum=momentum, name=name)
    return None
