"""CBLR with CurvatureModel (TensorFlow backend): the Hutchinson estimate on a
loss whose Hessian is diagonal (so the estimate is exact), one step by hand,
the Newton-like step, errors for missing curvature and several replicas.

CurvatureModel needs the TensorFlow backend (nested gradient tapes): its
tests are marked `tensorflow`; on the other backends its refusal is tested.
"""

import keras
import numpy as np
import pytest

from keras_bigbatch.optimizers import CBLR
from keras_bigbatch.training import CurvatureModel

ON_TENSORFLOW = keras.backend.backend() == "tensorflow"


def quadratic_problem(seed=0):
    # L = mean_{n,j} (x_n w_j - y_nj)^2 with one input feature: the Hessian of
    # the (1, 3) kernel is diagonal, d2L/dw_j^2 = 2 mean_n(x_n^2) / 3.
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 1)).astype("float32")
    y = (x * np.array([[1.0, -2.0, 0.5]]) + 0.01 * rng.normal(size=(64, 3))).astype("float32")
    return x, y, 2 * np.mean(x**2) / 3


def build(optimizer, w0):
    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(3, use_bias=False, name="dense")(inputs)
    model = CurvatureModel(inputs, outputs)
    model.get_layer("dense").kernel.assign(w0)
    model.compile(optimizer=optimizer, loss="mse")
    return model


@pytest.mark.tensorflow
def test_one_step_by_hand_with_exact_hutchinson_diagonal():
    x, y, h = quadratic_problem()
    w0 = np.array([[0.3, 0.1, -0.4]], "float32")
    model = build(CBLR(learning_rate=0.5, curvature_momentum=0.9, epsilon=1e-2), w0)
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    optimizer = model.optimizer
    np.testing.assert_allclose(keras.ops.convert_to_numpy(optimizer._curvatures[0]), np.full((1, 3), h),
                               rtol=1e-5)
    # g_j = 2 mean_n x_n (x_n w_j - y_nj) / 3;  w -= 0.5 (1 + g^2)^1.5 / (h + 0.01) g
    g = 2 * np.mean(x * (x @ w0 - y), axis=0, keepdims=True) / 3
    want = w0 - 0.5 * (1 + g**2) ** 1.5 / (h + 1e-2) * g
    np.testing.assert_allclose(model.get_layer("dense").kernel.numpy(), want, rtol=1e-5)


@pytest.mark.tensorflow
def test_full_rate_near_a_minimum_is_a_newton_step():
    # near the minimum g is small, (1 + g^2)^1.5 ~ 1 and R ~ 1/h: one step lands
    x, y, _ = quadratic_problem()
    solution = np.linalg.lstsq(x, y, rcond=None)[0]
    model = build(CBLR(learning_rate=1.0, epsilon=1e-6), (solution + 0.05).astype("float32"))
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(model.get_layer("dense").kernel.numpy(), solution, atol=2e-3)


@pytest.mark.tensorflow
def test_far_from_a_minimum_eq9_lengthens_the_step():
    # eq. 9's (1 + g^2)^1.5 grows with |g|: from w = 0 a full-rate step is
    # (1 + g^2)^1.5 Newton steps long (the Newton step from 0 lands on the solution)
    x, y, h = quadratic_problem()
    model = build(CBLR(learning_rate=1.0, epsilon=1e-6), np.zeros((1, 3), "float32"))
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    g = 2 * np.mean(x * (0 - y), axis=0) / 3
    newton = -g / h
    got = model.get_layer("dense").kernel.numpy()[0]
    np.testing.assert_allclose(got / newton, (1 + g**2) ** 1.5, rtol=1e-3)
    assert (1 + g[1] ** 2) ** 1.5 > 3


@pytest.mark.tensorflow
def test_curvature_model_trains_a_small_classifier_and_round_trips(tmp_path):
    from keras_bigbatch.data import load_digits

    (x, y), (x_test, y_test) = load_digits()
    keras.utils.set_random_seed(0)
    inputs = keras.Input(x.shape[1:])
    hidden = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(inputs))
    model = CurvatureModel(inputs, keras.layers.Dense(10)(hidden))
    model.compile(optimizer=CBLR(0.05, momentum=0.5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=10, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.85
    path = str(tmp_path / "cblr.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, CurvatureModel) and isinstance(restored.optimizer, CBLR)
    assert restored.optimizer.get_config() == model.optimizer.get_config()


def test_plain_model_with_cblr_fails_with_a_clear_message():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer=CBLR(0.1), loss="mse")
    with pytest.raises(ValueError, match="CurvatureModel"):
        model.fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0)


@pytest.mark.tensorflow
def test_curvature_model_refuses_other_optimizers_and_several_replicas(mirrored):
    inputs = keras.Input((2,))
    model = CurvatureModel(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="optimizer=SGD"):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    with mirrored.scope():
        inputs = keras.Input((2,))
        model = CurvatureModel(inputs, keras.layers.Dense(2)(inputs))
        with pytest.raises(ValueError, match="one replica"):
            model.compile(optimizer=CBLR(0.1), loss="mse")


@pytest.mark.skipif(ON_TENSORFLOW, reason="CurvatureModel works on TensorFlow (tests above)")
def test_curvature_model_refuses_other_backends():
    inputs = keras.Input((2,))
    model = CurvatureModel(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="CurvatureModel needs the TensorFlow backend"):
        model.compile(optimizer=CBLR(0.1), loss="mse")


@pytest.mark.parametrize("argument,value", [("epsilon", 0.0), ("curvature_momentum", 1.0),
                                            ("curvature_momentum", -0.1)])
def test_bad_arguments(argument, value):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        CBLR(0.1, **{argument: value})
