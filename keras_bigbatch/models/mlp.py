"""Fully connected classifiers: a configurable MLP and Keskar et al.'s F1."""

import keras

from keras_bigbatch.models._normalization import check_normalization
from keras_bigbatch.models._normalization import normalization_layer


def mlp(
    input_shape,
    num_classes,
    hidden_units=(256, 256, 256),
    normalization="batch",
    virtual_batch_size=None,
    normalization_momentum=0.99,
    seed=None,
    name="mlp",
):
    """A Dense -> normalization -> ReLU stack with a linear classifier head.

    Args:
        input_shape: shape of one example, e.g. `(28, 28)`; it is flattened.
        num_classes: width of the output layer (logits, no softmax).
        hidden_units: width of each hidden layer. Default `(256, 256, 256)`,
            the model of the main demo.
        normalization: `"batch"` (`keras.layers.BatchNormalization`: per
            replica under tf.distribute, moving statistics not synchronized),
            `"sync_batch"` (the same with `synchronized=True`: statistics of
            the global batch, as on one device; TensorFlow backend),
            `"ghost"` (`GhostBatchNormalization`) or `"none"`.
        virtual_batch_size: ghost batch size; required for `"ghost"`.
        normalization_momentum: momentum of the moving statistics. Default
            0.99 (Keras's); PyTorch's default, used by Hoffer et al., is 0.9.
        seed: seed of the kernel initializers, for reproducible runs.
        name: model name.

    Returns:
        A functional `keras.Model` producing logits.
    """
    check_normalization(normalization, virtual_batch_size)
    if not hidden_units or any(
        not isinstance(u, int) or u <= 0 for u in hidden_units
    ):
        raise ValueError(
            "Argument `hidden_units` must be a non-empty sequence of positive "
            f"integers. Received: hidden_units={hidden_units!r}"
        )
    inputs = keras.Input(shape=tuple(input_shape), name="inputs")
    x = keras.layers.Flatten()(inputs)
    for i, units in enumerate(hidden_units):
        initializer = keras.initializers.HeNormal(
            seed=None if seed is None else seed + i
        )
        x = keras.layers.Dense(
            units,
            use_bias=normalization == "none",
            kernel_initializer=initializer,
            name=f"dense_{i}",
        )(x)
        norm = normalization_layer(normalization, virtual_batch_size, f"norm_{i}", normalization_momentum)
        if norm is not None:
            x = norm(x)
        x = keras.layers.ReLU()(x)
    outputs = keras.layers.Dense(
        num_classes,
        kernel_initializer=keras.initializers.GlorotUniform(
            seed=None if seed is None else seed + len(hidden_units)
        ),
        name="logits",
    )(x)
    return keras.Model(inputs, outputs, name=name)


def keskar_f1(
    input_shape=(28, 28),
    num_classes=10,
    normalization="batch",
    virtual_batch_size=None,
    normalization_momentum=0.99,
    seed=None,
):
    """Keskar et al.'s network F1: 784-512-512-512-512-512-10 with BN.

    Five fully connected hidden layers of 512 ReLU units, each followed by
    batch normalization, then a linear classifier, as used for MNIST by
    Keskar et al. (2017, Table 1, network F1) and by Hoffer et al. (2017,
    Table 1; `models/mnist_f1.py` of their code).

    Args: as `mlp`, without `hidden_units`.

    References:
        Keskar, Mudigere, Nocedal, Smelyanskiy & Tang, "On Large-Batch
        Training for Deep Learning: Generalization Gap and Sharp Minima",
        ICLR 2017, Table 1 and Appendix B.
    """
    return mlp(
        input_shape,
        num_classes,
        hidden_units=(512,) * 5,
        normalization=normalization,
        virtual_batch_size=virtual_batch_size,
        normalization_momentum=normalization_momentum,
        seed=seed,
        name="keskar_f1",
    )
