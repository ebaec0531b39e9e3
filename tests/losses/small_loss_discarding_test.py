"""SmallLossDiscarding: mean over the kept (largest-loss) samples."""

import keras
import numpy as np
import pytest

from keras_bigbatch.callbacks import SmallLossDiscardingSchedule
from keras_bigbatch.losses import SmallLossDiscarding


def test_config_round_trip():
    loss = SmallLossDiscarding(keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                               fraction=0.25, epochs=7)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert (again.fraction, again.epochs) == (0.25, 7)
    assert again.loss.get_config()["from_logits"] is True


def test_hand_computed_value():
    loss = SmallLossDiscarding("mean_squared_error", fraction=0.5)
    # squared errors 1, 4, 9, 16; floor(0.5 * 4) = 2 dropped: (9 + 16) / 2 = 12.5
    value = loss(np.zeros((4, 1)), np.array([[1.0], [2.0], [3.0], [4.0]]))
    assert float(value) == pytest.approx(12.5)
    # floor(0.3 * 4) = 1 dropped (the 1): (4 + 9 + 16) / 3
    value = SmallLossDiscarding("mse", 0.3)(np.zeros((4, 1)), np.array([[4.0], [3.0], [1.0], [2.0]]))
    assert float(value) == pytest.approx(29 / 3)


def test_fraction_zero_is_the_wrapped_loss_and_extra_axes_are_averaged():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(6, 3, 2)), rng.normal(size=(6, 3, 2))
    plain = keras.losses.MeanSquaredError()(y, p)
    assert float(SmallLossDiscarding("mse", 0.0)(y, p)) == pytest.approx(float(plain), rel=1e-6)
    per_sample = ((y - p) ** 2).mean(axis=(1, 2))
    kept = np.sort(per_sample)[3:]  # floor(0.5 * 6) = 3 dropped
    assert float(SmallLossDiscarding("mse", 0.5)(y, p)) == pytest.approx(kept.mean(), rel=1e-6)


def gradient(function, value):
    """d function(v) / dv at `value`, by the backend's own autodiff."""
    backend = keras.backend.backend()
    value = np.asarray(value, "float32")
    if backend == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(value)
        with tf.GradientTape() as tape:
            out = function(variable)
        return tape.gradient(out, variable).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(function)(jax.numpy.asarray(value)))
    if backend == "torch":
        import torch

        tensor = torch.tensor(value, requires_grad=True)
        function(tensor).backward()
        return tensor.grad.numpy()
    pytest.skip(f"no autodiff helper for the {backend!r} backend")


def test_dropped_samples_give_no_gradient():
    loss = SmallLossDiscarding("mse", 0.5)
    grad = gradient(lambda p: loss(np.zeros((4, 1), "float32"), p), [[1.0], [2.0], [3.0], [4.0]]).ravel()
    # d/dp of (p3^2 + p4^2) / 2 = p: 0, 0, 3, 4
    np.testing.assert_allclose(grad, [0, 0, 3, 4], rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(fraction=1.0), "fraction"), (dict(fraction=-0.1), "fraction"),
    (dict(fraction=0.3, epochs=0), "epochs"), (dict(fraction=0.3, epochs=2.5), "epochs"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmallLossDiscarding("mse", **kwargs)


def test_schedule_switches_off_after_epochs():
    x = np.linspace(-1, 1, 64, dtype="float32").reshape(-1, 1)
    y = np.zeros_like(x)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(0.0), SmallLossDiscarding("mse", fraction=0.5, epochs=1))
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                        callbacks=[SmallLossDiscardingSchedule()]).history
    assert history["discard_fraction"] == [0.5, 0.0, 0.0]
    squares = (x.ravel() ** 2).reshape(4, 16)
    kept = np.sort(squares, axis=1)[:, 8:].mean()  # per batch of 16: the 8 largest
    assert history["loss"][0] == pytest.approx(kept, rel=1e-5)
    assert history["loss"][1] == pytest.approx(squares.mean(), rel=1e-5)
    with pytest.raises(ValueError, match="SmallLossDiscarding"):
        model.compile(keras.optimizers.SGD(0.0), "mse")
        model.fit(x, y, epochs=1, verbose=0, callbacks=[SmallLossDiscardingSchedule()])


@pytest.mark.tensorflow
def test_mirrored_discards_per_replica(mirrored):
    # replica 0 gets the 8 smallest errors, replica 1 the 8 largest; each drops its own 4
    x = np.arange(1, 17, dtype="float32").reshape(-1, 1)
    y = np.zeros_like(x)
    with mirrored.scope():
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False,
                                                                         kernel_initializer="ones")])
        model.compile(keras.optimizers.SGD(1.0), SmallLossDiscarding("mse", fraction=0.5))
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    # loss_r = mean over kept of (w x)^2, d/dw = mean(2 x^2) at w = 1; global grad = mean over replicas
    kept = [x[4:8, 0], x[12:16, 0]]
    grad = np.mean([np.mean(2 * k**2) for k in kept])
    np.testing.assert_allclose(model.get_weights()[0].ravel(), [1.0 - grad], rtol=1e-5)
