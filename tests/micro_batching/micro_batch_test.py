"""`micro_batch`: k passes, one update, equal to the whole batch in one pass.

Backend-agnostic (TensorFlow, JAX, PyTorch; the TF-free job runs it on JAX
and PyTorch). What defines correctness is the unaccumulated big batch: the
same model, the same batches, Keras's own `train_step`.
"""

import keras
import numpy as np
import pytest

from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.micro_batching import micro_batch
from keras_bigbatch.micro_batching import micro_batch_count
from keras_bigbatch.micro_batching import micro_batch_size_of
from keras_bigbatch.micro_batching import split as split_lib
from keras_bigbatch.optimizers import LARS

BATCH, MICRO, UPDATES = 32, 8, 5
RTOL, ATOL = 1e-5, 1e-6


def _data(rows=BATCH * UPDATES, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, 6)).astype("float32"), rng.integers(0, 3, rows)


def _model(optimizer="sgd", normalization="ghost", ghost=4, dropout=0.0, seed=0):
    """Dense -> normalization -> ReLU -> Dense, with a learning rate that
    changes at update 2 (a schedule fed micro-steps would change it earlier)."""
    keras.utils.set_random_seed(seed)
    norm = (GhostBatchNormalization(ghost, momentum=0.9) if normalization == "ghost"
            else keras.layers.BatchNormalization(momentum=0.9))
    layers = [keras.Input((6,)), keras.layers.Dense(16), norm, keras.layers.ReLU()]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    model = keras.Sequential(layers + [keras.layers.Dense(3)])
    rate = keras.optimizers.schedules.PiecewiseConstantDecay([2], [0.1, 0.02])
    opt = (keras.optimizers.SGD(rate, momentum=0.9) if optimizer == "sgd"
           else LARS(rate, momentum=0.9, weight_decay=1e-4))
    model.compile(optimizer=opt, metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _fit(model, x, y, batch=BATCH):
    return model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0).history


def _assert_same_weights(a, b, rtol=RTOL, atol=ATOL):
    for u, v, w in zip(a.get_weights(), b.get_weights(), a.weights):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=atol, err_msg=w.path)


# ---------------------------------------------------------------------------
# Cutting rows


def test_split_takes_the_jth_micro_rows_of_every_replica():
    # 2 replicas x 8 rows, micro 2: pass j = rows [2j, 2j+2) of replica 0
    # (rows 0..7) followed by the same of replica 1 (rows 8..15).
    x = np.arange(16 * 3, dtype="float32").reshape(16, 3)
    cut = keras.ops.convert_to_numpy(split_lib.split(keras.ops.convert_to_tensor(x), 2, groups=2))
    assert cut.shape == (4, 4, 3)
    for j in range(4):
        expected = np.concatenate([x[2 * j:2 * j + 2], x[8 + 2 * j:8 + 2 * j + 2]])
        np.testing.assert_array_equal(cut[j], expected)


def test_micro_batch_count_and_divisors():
    assert micro_batch_count(32, 8) == 4
    assert micro_batch_count(64, 8, groups=2) == 4
    assert micro_batch_count(None, 8) is None
    with pytest.raises(ValueError, match=r"`micro_batch_size` \(5\).*Valid: \[1, 2, 4, 8, 16, 32\]"):
        micro_batch_count(32, 5)
    with pytest.raises(ValueError, match="replicas do not divide"):
        micro_batch_count(33, 1, groups=2)


# ---------------------------------------------------------------------------
# Exact against the big batch


@pytest.mark.parametrize("optimizer", ["sgd", "lars"])
def test_equals_the_whole_batch_in_one_pass(optimizer):
    # k = 32 / 8 = 4 passes; ghost 4 divides the micro batch, so every ghost
    # of the big batch lies in one micro-batch: same gradients (the mean of
    # the 4 micro means), same LARS trust ratios (one per update), same
    # moving statistics (one update per update), same schedule (5 updates).
    x, y = _data()
    big, small = _model(optimizer), micro_batch(_model(optimizer), MICRO)
    logs_big, logs_small = _fit(big, x, y), _fit(small, x, y)
    assert int(small.optimizer.iterations) == int(big.optimizer.iterations) == UPDATES
    _assert_same_weights(small, big)
    np.testing.assert_allclose(logs_small["loss"], logs_big["loss"], rtol=1e-5)
    np.testing.assert_allclose(logs_small["accuracy"], logs_big["accuracy"], rtol=1e-6)


def test_moving_statistics_move_once_per_update():
    # One update from moving mean 0 and variance 1, momentum 0.9:
    #   mean     = 0.1 * mean_g(ghost means)          = 0.1 * h.mean(0)
    #   variance = 0.9 + 0.1 * mean_g(ghost variances)
    # with h = Dense(x) at the initial kernel; k = 4 moving-average updates
    # would leave about 1 - 0.9**4 = 0.34 of the statistics instead.
    x, y = _data(rows=BATCH)
    model = micro_batch(_model(), MICRO)
    h = keras.ops.convert_to_numpy(model.layers[0](x))
    ghosts = h.reshape(BATCH // 4, 4, 16)
    _fit(model, x, y)
    gbn = model.layers[1]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gbn.moving_mean),
                               0.1 * ghosts.mean(1).mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gbn.moving_variance),
                               0.9 + 0.1 * ghosts.var(1).mean(0), rtol=1e-5)


def test_batch_normalization_is_ghost_normalization_over_the_micro_batch():
    # Plain BN over micro-batches of 8 = GBN with ghost 8 over the big batch.
    x, y = _data()
    small = micro_batch(_model(normalization="batch"), MICRO)
    ghost = _model(normalization="ghost", ghost=MICRO)
    _fit(small, x, y), _fit(ghost, x, y)
    _assert_same_weights(small, ghost)


def test_one_micro_batch_is_keras_own_step():
    x, y = _data()
    big, same = _model("lars"), micro_batch(_model("lars"), BATCH)
    _fit(big, x, y), _fit(same, x, y)
    _assert_same_weights(same, big)


def test_dropout_trains_and_draws_new_masks():
    x, y = _data()
    a = micro_batch(_model(dropout=0.5), MICRO)
    b = micro_batch(_model(dropout=0.5), MICRO)
    _fit(a, x, y), _fit(b, x, y)
    if keras.backend.backend() != "torch":  # Keras's own torch dropout is not
        _assert_same_weights(a, b)  # reproducible from set_random_seed either (measured)
    c = micro_batch(_model(dropout=0.5), BATCH)
    _fit(c, x, y)
    different = [not np.allclose(u, v) for u, v in zip(a.get_weights(), c.get_weights())]
    if keras.backend.backend() == "torch":
        # torch draws every mask from its one global generator, seeded by
        # _model, element after element: the passes' halves draw what one
        # whole-batch draw does (measured: a == c, a != b, a != no dropout).
        assert not any(different)
    else:
        assert any(different)  # other masks than the one-pass run's


def test_loss_scale_per_pass_and_a_non_finite_pass_skips_the_update():
    # mixed_float16: the LossScaleOptimizer scales each pass's loss by the
    # same scale; one pass with an inf input makes the sum non-finite, and
    # the whole update is skipped (weights unchanged), as Keras does.
    keras.config.set_dtype_policy("mixed_float16")
    try:
        x, y = _data()
        big, small = _model(), micro_batch(_model(), MICRO)
        assert isinstance(small.optimizer, keras.optimizers.LossScaleOptimizer)
        _fit(big, x, y), _fit(small, x, y)
        _assert_same_weights(small, big, rtol=2e-2, atol=2e-3)  # float16 activations
        before = [w.copy() for w in small.get_weights()]
        bad = x[:BATCH].copy()
        bad[MICRO * 2 + 1, 0] = np.inf  # in the third micro-batch only
        small.fit(bad, y[:BATCH], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        trainable = {id(v) for v in small.trainable_variables}
        for old, new, variable in zip(before, small.get_weights(), small.weights):
            if id(variable) in trainable:
                np.testing.assert_array_equal(old, new, err_msg=variable.path)
    finally:
        keras.config.set_dtype_policy("float32")


# ---------------------------------------------------------------------------
# The API and bad input


def test_micro_batch_size_of_and_none_restores_keras_step():
    x, y = _data()
    model = micro_batch(_model(), MICRO)
    assert micro_batch_size_of(model) == MICRO
    micro_batch(model, None)
    assert micro_batch_size_of(model) is None
    reference = _model()
    _fit(model, x, y), _fit(reference, x, y)
    _assert_same_weights(model, reference)


def test_refuses_bad_input():
    with pytest.raises(ValueError, match="`micro_batch_size` must be"):
        micro_batch(_model(), 0)
    accumulating = _model()
    accumulating.compile(optimizer=keras.optimizers.SGD(0.1, gradient_accumulation_steps=4),
                         loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="gradient_accumulation_steps.*Use `micro_batch_size`"):
        micro_batch(accumulating, MICRO)

    class OwnStep(keras.Sequential):
        def train_step(self, *args):
            raise AssertionError

    with pytest.raises(ValueError, match="OwnStep defines its own"):
        micro_batch(OwnStep([keras.Input((2,)), keras.layers.Dense(1)]), 4)
    # A ghost must not straddle two passes (GBN itself now takes a remainder ghost).
    ghosts = keras.Sequential([keras.Input((2,)), GhostBatchNormalization(6, name="gbn")])
    with pytest.raises(ValueError, match=r"`micro_batch_size` \(8\) must be a multiple of "
                                         r"layer 'gbn' `virtual_batch_size` \(6\)"):
        micro_batch(ghosts, 8)


def test_a_batch_the_micro_batch_does_not_divide_is_named():
    x, y = _data(rows=36)
    model = micro_batch(_model(), MICRO)
    with pytest.raises(ValueError, match=r"`micro_batch_size` \(8\) must divide.*36 rows"):
        model.fit(x, y, batch_size=36, epochs=1, verbose=0)


@pytest.mark.tensorflow
def test_synchronized_batch_normalization_over_replicas_is_named(mirrored):
    with mirrored.scope():
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8),
                                  keras.layers.BatchNormalization(synchronized=True),
                                  keras.layers.Dense(3)])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=False)
    micro_batch(model, 4)
    x, y = _data(rows=32)
    with pytest.raises(ValueError, match="synchronized BatchNormalization.*synchronized=False"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)


@pytest.mark.tensorflow
def test_xla_and_several_steps_per_execution_on_tensorflow():
    # What a TPU runs: one XLA program (static shapes, the loop over passes a
    # while loop inside it), several steps per call.
    x, y = _data()
    big = _model()
    small = micro_batch(_model(), MICRO)
    for model in (big, small):
        model.compile(optimizer=model.optimizer, loss=model.loss, jit_compile=True,
                      steps_per_execution=UPDATES)
    _fit(big, x, y), _fit(small, x, y)
    assert int(small.optimizer.iterations) == UPDATES
    _assert_same_weights(small, big)


class _Counter(keras.layers.Layer):
    """Counts training calls in an int variable whose updates sync across replicas."""

    def build(self, shape):
        self.calls = self.add_weight(shape=(), dtype="int32", initializer="zeros",
                                     trainable=False, aggregation="only_first_replica")

    def call(self, x, training=None):
        if training:
            self.calls.assign(self.calls + 1)
        return x


@pytest.mark.tensorflow
def test_a_syncing_integer_variable_is_carried_through_the_passes(mirrored):
    # Assigned inside the loop over passes it would be a merge_call; carried
    # and assigned once after the loop, it counts every pass: 2 steps x 2.
    with mirrored.scope():
        model = keras.Sequential([keras.Input((6,)), _Counter(), keras.layers.Dense(3)])
        model.compile(optimizer="sgd", jit_compile=False,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    micro_batch(model, 8)
    x, y = _data(rows=64)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert int(model.layers[0].calls.numpy()) == 4
