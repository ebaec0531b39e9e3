"""CurvatureModel's fit logs: the loss and metrics it reports are the real ones.

(The optimizer side, CBLR fed by CurvatureModel, is tested in
tests/optimizers/cblr_test.py.)"""

import keras
import numpy as np
import pytest

from keras_bigbatch.optimizers import CBLR
from keras_bigbatch.training import CurvatureModel


def problem(examples=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(examples, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 3)) + 0.5).astype("float32")
    return x, y


def build(learning_rate):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = CurvatureModel(inputs, keras.layers.Dense(3)(inputs))
    model.compile(optimizer=CBLR(learning_rate), loss="mse", metrics=["mae"])
    # The same layers in a plain Keras model: Keras's own evaluate of the
    # same loss at the same weights.
    plain = keras.Model(model.inputs, model.outputs)
    plain.compile(loss="mse", metrics=["mae"])
    return model, plain


def test_logged_loss_of_one_full_batch_step_is_the_loss_before_the_step():
    x, y = problem()
    model, plain = build(learning_rate=0.1)
    before = plain.evaluate(x, y, batch_size=80, verbose=0, return_dict=True)
    assert before["loss"] > 1.0
    history = model.fit(x, y, batch_size=80, epochs=1, shuffle=False, verbose=0).history
    assert history["loss"][0] == pytest.approx(before["loss"], rel=1e-5)
    assert history["mae"][0] == pytest.approx(before["mae"], rel=1e-5)
    # The step moved the weights, and the next epoch logs the loss there.
    after = plain.evaluate(x, y, batch_size=80, verbose=0, return_dict=True)
    assert after["loss"] != pytest.approx(before["loss"], rel=1e-3)
    history = model.fit(x, y, batch_size=80, epochs=1, shuffle=False, verbose=0).history
    assert history["loss"][0] == pytest.approx(after["loss"], rel=1e-5)


def test_epoch_loss_weights_batches_by_their_size_as_keras_does():
    # learning_rate=0 keeps the weights, so the epoch loss over batches of 64
    # and 16 examples must be the loss over all 80: (64 L_1 + 16 L_2) / 80.
    x, y = problem()
    model, plain = build(learning_rate=0.0)
    want = plain.evaluate(x, y, batch_size=80, verbose=0, return_dict=True)
    history = model.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], [want["loss"]] * 2, rtol=1e-5)
    np.testing.assert_allclose(history["mae"], [want["mae"]] * 2, rtol=1e-5)
