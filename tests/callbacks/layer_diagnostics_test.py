"""LayerDiagnostics: with plain full-batch SGD the strides equal E|g| and E(g^2)."""

import os
import tempfile

import keras
import numpy as np
import pytest

from keras_bigbatch.callbacks import LayerDiagnostics
from keras_bigbatch.callbacks import plot_diagnostics

LR = 0.1


def setup():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(LR), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return x, y, model


def kernel_gradient(x, y, weights):
    """The first kernel's gradient of the mean cross-entropy of setup()'s model, by hand (float64)."""
    w1, b1, w2, b2 = [w.astype(np.float64) for w in weights]
    h = np.tanh(x.astype(np.float64) @ w1 + b1)
    z = h @ w2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(2)[y]) / len(x)
    return x.T.astype(np.float64) @ (dz @ w2.T * (1 - h**2))


def test_first_step_matches_hand_computation():
    x, y, model = setup()
    w0 = [w.copy() for w in model.get_weights()]
    # float64 by hand vs the float32 autodiff: the statistics below agree to ~1e-7
    grads = [kernel_gradient(x, y, w0)]
    diagnostics = LayerDiagnostics(x, y, batch_size=64, every=3)
    # the full batch as probe and as training batch: probe gradient = training gradient
    model.fit(x, y, batch_size=64, epochs=7, shuffle=False, verbose=0, callbacks=[diagnostics])
    history = diagnostics.history
    assert history["step"] == [1, 4, 7]
    kernel = model.trainable_variables[0].path
    assert set(history["distance"]) == {v.path for v in model.trainable_variables if v.ndim == 2}
    g = grads[0]
    assert history["grad_mean_abs"][kernel][0] == pytest.approx(np.abs(g).mean(), rel=1e-5)
    # plain SGD: Δw = -lr g, so E|Δw|/lr = E|g| and E(-g Δw)/lr = E(g^2)
    assert history["stride"][kernel][0] == pytest.approx(np.abs(g).mean(), rel=1e-4)
    assert history["loss_stride"][kernel][0] == pytest.approx((g**2).mean(), rel=1e-4)
    assert history["distance"][kernel][0] == pytest.approx(LR * np.linalg.norm(g), rel=1e-4)
    radius = np.median(np.abs(w0[0])) / np.median(np.abs(g))
    assert history["curvature_radius"][kernel][0] == pytest.approx(radius, rel=1e-5)
    # distances keep growing while training
    assert history["distance"][kernel] == sorted(history["distance"][kernel])


def test_logs_and_plot():
    x, y, model = setup()
    diagnostics = LayerDiagnostics(x, y, batch_size=32, every=2, variables="all")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[diagnostics]).history
    bias = model.trainable_variables[1].path
    assert len(history[f"{bias}/stride"]) == 2
    with tempfile.TemporaryDirectory() as folder:
        path = plot_diagnostics(diagnostics.history, os.path.join(folder, "fig.png"), title="t")
        assert os.path.getsize(path) > 10000


@pytest.mark.parametrize("kwargs, match", [
    (dict(every=0), "every"), (dict(batch_size=0), "batch_size"),
    (dict(batch_size=65), "batch_size"), (dict(variables="dense"), "variables"),
])
def test_bad_arguments(kwargs, match):
    x, y, _ = setup()
    with pytest.raises(ValueError, match=match):
        LayerDiagnostics(x, y, **kwargs)
