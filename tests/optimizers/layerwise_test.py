"""Behaviour every layer-wise optimizer shares (LayerwiseOptimizer).

Parametrized over LARS, MCLR and PercentDelta: config and `.keras` round
trips, two steps against the numpy reference (tests/optimizers/reference.py)
with momentum, Nesterov and coupled weight decay, masks, edge cases, bad
input, 16-bit numerics and LossScaleOptimizer.
"""

import os

import keras
import numpy as np
import pytest

from keras_bigbatch import optimizers
from tests.optimizers import reference

NAMES = ["LARS", "MCLR", "PercentDelta"]
# learning rates of a sensible size for each scale
RATES = {"LARS": 0.5, "MCLR": 0.05, "PercentDelta": 0.05}


@keras.saving.register_keras_serializable(package="keras_bigbatch_tests")
def exclude_kernels_named_last(variable):
    return "last" in variable.path


def make(name, **kwargs):
    kwargs.setdefault("learning_rate", RATES[name])
    return getattr(optimizers, name)(**kwargs)


def variables_and_gradients(seed=0, steps=2):
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(5, 4)).astype("float32")
    bias = rng.normal(size=(4,)).astype("float32")
    grads = [[rng.normal(size=(5, 4)).astype("float32"), rng.normal(size=(4,)).astype("float32")]
             for _ in range(steps)]
    return [kernel, bias], grads


def run(optimizer, weights, grads_per_step):
    variables = [keras.Variable(w, name=f"v{i}") for i, w in enumerate(weights)]
    if keras.backend.backend() == "jax" and isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        # Keras' LossScaleOptimizer.apply cannot run eagerly on JAX (its stateful
        # assigns inside jax.lax.cond leak tracers, with keras.optimizers.SGD too);
        # the JAX trainer calls stateless_apply under jit, and so does this.
        import jax

        optimizer.build(variables)
        step = jax.jit(optimizer.stateless_apply)
        values, state = [v.value for v in variables], [v.value for v in optimizer.variables]
        for grads in grads_per_step:
            values, state = step(state, grads, values)
        return [np.asarray(v) for v in values]
    for grads in grads_per_step:
        # tensors, as in fit: keras.optimizers.SGD on torch refuses numpy gradients
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
    return [keras.ops.convert_to_numpy(v) for v in variables]


# ---------------------------------------------------------------- config


@pytest.mark.parametrize("name", NAMES)
def test_get_config_round_trip_keeps_every_argument(name):
    optimizer = make(name, momentum=0.8, nesterov=True, weight_decay=1e-4, epsilon=1e-9,
                     exclude_from_weight_decay=["bias", "norm"],
                     exclude_from_layer_adaptation=exclude_kernels_named_last,
                     global_clipnorm=5.0)
    config = optimizer.get_config()
    clone = type(optimizer).from_config(keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(optimizer)).get_config())
    for key, value in config.items():
        if key == "exclude_from_layer_adaptation":
            continue
        assert clone.get_config()[key] == value, key
    assert clone._adapt_mask is exclude_kernels_named_last
    assert clone._decay_mask == ["bias", "norm"]
    assert clone.weight_decay == 1e-4 and clone.nesterov and clone.momentum == 0.8


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip_keeps_arguments_and_state(name, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.integers(0, 3, 64)

    def build():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu", name="hidden"),
                                  keras.layers.Dense(3, name="last")])
        model.compile(optimizer=make(name, momentum=0.5, weight_decay=1e-3,
                                     exclude_from_weight_decay="last",
                                     exclude_from_layer_adaptation=exclude_kernels_named_last),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    model = build()
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored.optimizer) is type(model.optimizer)
    assert restored.optimizer.get_config()["exclude_from_weight_decay"] == ["last"]
    assert restored.optimizer._adapt_mask is exclude_kernels_named_last
    assert int(restored.optimizer.iterations) == 4
    # the momentum state came back: continuing gives the same weights
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    restored.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert restored.optimizer.exclusions == {
        "weight_decay": ["last/kernel", "last/bias"],
        "layer_adaptation": ["last/kernel", "last/bias"],
    }


# ------------------------------------------------------- against numpy


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("momentum,nesterov,wd", [(0.0, False, 0.0), (0.9, False, 1e-2), (0.9, True, 5e-2)])
def test_two_steps_match_numpy_reference(name, momentum, nesterov, wd):
    weights, grads = variables_and_gradients()
    optimizer = make(name, momentum=momentum, nesterov=nesterov, weight_decay=wd, epsilon=1e-9)
    got = run(optimizer, weights, grads)
    # defaults: the kernel is adapted and decayed, the bias (ndim 1) neither
    want = reference.trajectory(name, weights, grads, RATES[name], adapt_flags=[True, False],
                                decay_flags=[True, False], momentum=momentum, nesterov=nesterov,
                                wd=wd, eps=1e-9)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_explicit_masks_replace_the_default_rule(name):
    weights, grads = variables_and_gradients()
    optimizer = make(name, momentum=0.0, weight_decay=0.1, exclude_from_weight_decay=[],
                     exclude_from_layer_adaptation=r"v0")
    got = run(optimizer, weights, grads)
    want = reference.trajectory(name, weights, grads, RATES[name], adapt_flags=[False, True],
                                decay_flags=[True, True], wd=0.1,
                                eps=optimizer.epsilon)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_without_adaptation_it_is_keras_sgd(name):
    weights, grads = variables_and_gradients(steps=3)
    ours = run(make(name, momentum=0.9, nesterov=True, exclude_from_layer_adaptation=lambda v: True),
               weights, grads)
    sgd = run(keras.optimizers.SGD(RATES[name], momentum=0.9, nesterov=True), weights, grads)
    for a, b in zip(ours, sgd):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_keras_decoupled_decay_is_not_applied_twice(name):
    # with the kernel excluded from weight decay, weight_decay must change nothing
    weights, grads = variables_and_gradients()
    plain = run(make(name), weights, grads)
    decayed = run(make(name, weight_decay=0.5, exclude_from_weight_decay=".*"), weights, grads)
    for a, b in zip(plain, decayed):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ edge cases


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", ["zero_weights", "zero_gradients", "both_zero", "mostly_zero_gradients"])
def test_zero_weights_or_gradients_give_finite_reference_updates(name, case):
    rng = np.random.default_rng(3)
    w = rng.normal(size=(6, 5)).astype("float32")
    g = rng.normal(size=(6, 5)).astype("float32")
    if case in ("zero_weights", "both_zero"):
        w[:] = 0
    if case in ("zero_gradients", "both_zero"):
        g[:] = 0
    if case == "mostly_zero_gradients":  # median |g| is 0
        g[:4] = 0
    for wd in (0.0, 0.1):
        optimizer = make(name, momentum=0.9, weight_decay=wd, epsilon=0.0)
        got = run(optimizer, [w], [[g], [g]])[0]
        assert np.all(np.isfinite(got)), (case, wd)
        want = reference.trajectory(name, [w], [[g], [g]], RATES[name], [True], [True],
                                    momentum=0.9, wd=wd, eps=0.0)[0]
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_float16_variables_do_not_overflow(name):
    # sum of squares is 1024 * 256 * 16 = 4.2e6 > float16 max 65504
    w = keras.Variable(np.full((1024, 256), 4.0, "float16"), dtype="float16")
    g = np.full((1024, 256), 2.0, "float16")
    make(name, learning_rate=0.01).apply([g], [w])
    got = keras.ops.convert_to_numpy(w).astype(np.float64)
    assert np.all(np.isfinite(got))
    want = reference.step(name, np.full((1024, 256), 4.0), np.full((1024, 256), 2.0), 0.0, 0.01,
                          eps=make(name).epsilon)[0]
    np.testing.assert_allclose(got, want, rtol=2e-3)


@pytest.mark.parametrize("name", NAMES)
def test_loss_scale_optimizer_takes_statistics_on_unscaled_gradients(name):
    weights, grads = variables_and_gradients()
    scaled = keras.optimizers.LossScaleOptimizer(make(name, momentum=0.9), initial_scale=2.0**15)
    scale = 2.0**15
    got = run(scaled, weights, [[g * scale for g in step] for step in grads])
    want = run(make(name, momentum=0.9), weights, grads)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_mixed_float16_fit_stays_finite_and_learns(name):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 10)).astype("float32")
        y = (x[:, 0] + x[:, 1] > 0).astype("int32")
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(2)])
        # LARS at 5.0 passed with seed 0 only (0.75-0.80 with seeds 1, 2 on TensorFlow,
        # 0.785 with seed 0 on torch); at 2.0 it ends at 0.88-0.95 for seeds 0-2 on
        # TensorFlow and torch (float32 on torch gives the same curves: not a float16 issue)
        model.compile(optimizer=make(name, learning_rate={"LARS": 2.0, "MCLR": 0.1,
                                                          "PercentDelta": 0.05}[name]),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        history = model.fit(x, y, batch_size=64, epochs=8, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert history.history["accuracy"][-1] > 0.8


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("argument,value", [
    ("momentum", -0.1), ("momentum", 1.0), ("momentum", "0.9"),
    ("weight_decay", -1e-4), ("epsilon", -1e-8), ("nesterov", "yes"),
    ("learning_rate", -0.1),
    ("exclude_from_weight_decay", 3), ("exclude_from_layer_adaptation", {"bias": True}),
    ("exclude_from_layer_adaptation", ["bias", 1]), ("exclude_from_weight_decay", "(unclosed"),
])
def test_bad_arguments_raise_naming_the_argument(name, argument, value):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make(name, **{argument: value})


@pytest.mark.parametrize("name", NAMES)
def test_keras_exclusion_method_points_to_the_constructor_argument(name):
    with pytest.raises(ValueError, match="constructor argument `exclude_from_weight_decay`"):
        make(name).exclude_from_weight_decay(var_names=["bias"])


def test_subclass_must_supply_layer_scale():
    class NoScale(optimizers.LayerwiseOptimizer):
        pass

    with pytest.raises(NotImplementedError, match="layer_scale"):
        run(NoScale(0.1), *variables_and_gradients())


# ------------------------------------------------------------------ fit


@pytest.mark.parametrize("name", NAMES)
def test_small_fit_learns_digits(name):
    from keras_bigbatch.data import load_digits

    (x, y), (x_test, y_test) = load_digits()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(x.shape[1:]), keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
    # rates from a sweep on this task (MCLR diverges at 0.03 with or without momentum,
    # and 0.01 is at the edge: test accuracy 0.85 on TensorFlow with seed 1, a loss
    # spike and 0.51 on JAX with seed 0; 0.005 gives 0.90-0.96 for seeds 0-2 on
    # TensorFlow and JAX)
    settings = {"LARS": (3.0, 0.9), "MCLR": (0.005, 0.0), "PercentDelta": (0.01, 0.9)}[name]
    model.compile(optimizer=make(name, learning_rate=settings[0], momentum=settings[1]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=256, epochs=15, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.85
