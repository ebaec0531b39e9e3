"""Under MirroredStrategy (2 logical CPUs) the layer-wise optimizers take their
statistics on the all-reduced gradient: N steps of `fit` give the weights of
single-device training with the same global batch.

The two replicas see deliberately different halves of every global batch
(the first half of each batch is shifted), so norms or medians of the
per-replica gradients would differ from the global ones and the weights would
not match.
"""

import keras
import numpy as np
import pytest

from keras_bigbatch import optimizers

SETTINGS = {
    "LARS": dict(learning_rate=2.0, momentum=0.9, weight_decay=1e-3),
    "MCLR": dict(learning_rate=0.01, momentum=0.9, weight_decay=1e-3),
    "PercentDelta": dict(learning_rate=0.01, momentum=0.9, weight_decay=1e-3),
}
GLOBAL_BATCH = 32
STEPS = 6


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(GLOBAL_BATCH * STEPS, 12)).astype("float32")
    x.reshape(STEPS, GLOBAL_BATCH, 12)[:, : GLOBAL_BATCH // 2] += 3.0  # replica 0's half
    y = (x[:, 0] > x[:, 1]).astype("int32") + (x[:, 2] > 3).astype("int32")
    return x, y


def train(name, strategy):
    x, y = data()
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(3)])
        model.compile(optimizer=getattr(optimizers, name)(**SETTINGS[name]),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == STEPS
    return model.get_weights()


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_mirrored_matches_single_device(name, mirrored):
    import tensorflow as tf

    assert mirrored.num_replicas_in_sync == 2
    single = train(name, tf.distribute.get_strategy())
    keras.backend.clear_session()
    replicated = train(name, mirrored)
    for a, b in zip(single, replicated):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    keras.backend.clear_session()
    with tf.distribute.get_strategy().scope():
        keras.utils.set_random_seed(0)
        initial = keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu"),
                                    keras.layers.Dense(3)]).get_weights()
    assert max(np.abs(a - b).max() for a, b in zip(single, initial)) > 1e-2  # training moved them
