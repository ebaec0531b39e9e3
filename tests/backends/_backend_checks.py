"""Checks run in a fresh process under another Keras backend (see jax_test.py).

Usage (from the repository root): KERAS_BACKEND=jax python -m tests.backends._backend_checks
(or KERAS_BACKEND=torch). Prints one line per check and exits non-zero on the
first failure. TensorFlow is optional: without it the batch-size scheduler
(tf.data input) is left out, with a "skip" line.
"""

import importlib.util
import os
import sys
import tempfile

import keras
import numpy as np

from keras_bigbatch import optimizers
from keras_bigbatch.callbacks import WeightDistance
from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.schedules import Regime

from tests.layers.ghost_batch_normalization_test import reference
from tests.optimizers import reference as optimizer_reference

OPTIMIZER_RATES = {"LARS": 0.5, "MCLR": 0.05, "PercentDelta": 0.05}


def check_optimizers(backend, rng):
    """Layer-wise optimizers: two steps vs numpy, zero edge cases, jit fit, saving."""
    kernel = rng.normal(size=(70, 80)).astype("float32")  # 5600 > 4096: bracketed median
    bias = rng.normal(size=(80,)).astype("float32")
    grads = [[rng.normal(size=k.shape).astype("float32") for k in (kernel, bias)] for _ in range(2)]
    for name, lr in OPTIMIZER_RATES.items():
        optimizer = getattr(optimizers, name)(lr, momentum=0.9, nesterov=True, weight_decay=1e-2,
                                              epsilon=1e-9)
        variables = [keras.Variable(kernel), keras.Variable(bias)]
        for g in grads:
            optimizer.apply(g, variables)
        want = optimizer_reference.trajectory(name, [kernel, bias], grads, lr, [True, False], [True, False],
                                              momentum=0.9, nesterov=True, wd=1e-2, eps=1e-9)
        # float32 sums of 5600 terms (|g/w| spans 1e-4..1e4 for PercentDelta): rtol 1e-4
        worst = max(float(np.max(np.abs(keras.ops.convert_to_numpy(v) - w) / (1e-6 + 1e-4 * np.abs(w))))
                    for v, w in zip(variables, want))
        check(f"{backend}: {name} two steps equal the numpy reference ({worst:.2f} of tolerance)",
              worst <= 1.0)
        zero = keras.Variable(np.zeros((6, 5), "float32"))
        getattr(optimizers, name)(lr, momentum=0.9, epsilon=0.0).apply([np.zeros((6, 5), "float32")], [zero])
        check(f"{backend}: {name} zero weights and gradients stay finite",
              np.isfinite(keras.ops.convert_to_numpy(zero)).all())

        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(2)])
        model.compile(getattr(optimizers, name)({"LARS": 2.0, "MCLR": 0.03, "PercentDelta": 0.05}[name],
                                                exclude_from_weight_decay=["bias"]),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                      jit_compile=True)
        x = rng.normal(size=(256, 10)).astype("float32")
        y = (x[:, 0] + x[:, 1] > 0).astype("int32")
        history = model.fit(x, y, batch_size=64, epochs=8, verbose=0)
        check(f"{backend}: {name} jit fit learns", history.history["accuracy"][-1] > 0.8)
        path = os.path.join(tempfile.mkdtemp(), "m.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        check(f"{backend}: {name} .keras round trip keeps arguments",
              type(loaded.optimizer) is type(model.optimizer)
              and loaded.optimizer.get_config() == model.optimizer.get_config())


def check_instruments(backend, rng):
    """Batch-size scheduler (tf.data input), small-loss discarding, GNS, diagnostics."""
    from keras_bigbatch.callbacks import BatchSizeScheduler
    from keras_bigbatch.callbacks import GradientNoiseScale
    from keras_bigbatch.callbacks import LayerDiagnostics
    from keras_bigbatch.callbacks import SmallLossDiscardingSchedule
    from keras_bigbatch.losses import SmallLossDiscarding

    # make_scheduled_dataset is a tf.data pipeline: without TensorFlow, plain
    # arrays in batches of 32 (1000 = 31 * 32 + 8: 32 steps per epoch)
    scheduled = importlib.util.find_spec("tensorflow") is not None

    x = rng.normal(size=(1000, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                  SmallLossDiscarding(keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                      fraction=0.3, epochs=2))
    steps = []

    class Steps(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

        def on_epoch_end(self, epoch, logs=None):
            steps.append(int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) - self.start)

    gns = GradientNoiseScale(x, y, batch_size=256, micro_batch_size=32, every=10)
    diagnostics = LayerDiagnostics(x, y, every=20)
    callbacks = [SmallLossDiscardingSchedule(), gns, diagnostics, Steps()]
    if scheduled:
        from keras_bigbatch.data import make_scheduled_dataset

        scheduler = BatchSizeScheduler({0: 32, 2: 64, 3: 200})
        data = dict(x=make_scheduled_dataset(x, y, scheduler))
        callbacks.insert(0, scheduler)
    else:
        data = dict(x=x, y=y, batch_size=32)
    history = model.fit(**data, epochs=5, verbose=0, callbacks=callbacks).history
    if scheduled:
        check(f"{backend}: BatchSizeScheduler exact steps per epoch", steps == [31, 31, 15, 5, 5])
    else:
        print(f"skip {backend}: BatchSizeScheduler (make_scheduled_dataset needs TensorFlow)")
        check(f"{backend}: steps per epoch", steps == [32] * 5)
    check(f"{backend}: small-loss discarding switched off after 2 epochs",
          history["discard_fraction"] == [0.3, 0.3, 0.0, 0.0, 0.0])
    check(f"{backend}: gradient noise scale logged and finite",
          len(history["gradient_noise_scale"]) == 5
          and np.isfinite(history["gradient_noise_scale"]).all())
    kernel = model.trainable_variables[0].path
    check(f"{backend}: layer diagnostics recorded",
          diagnostics.history["step"][:2] == [1, 21]
          and np.isfinite(diagnostics.history["stride"][kernel]).all())
    value = SmallLossDiscarding("mse", 0.5)(np.zeros((4, 1)), np.array([[1.0], [2.0], [3.0], [4.0]]))
    check(f"{backend}: SmallLossDiscarding hand value", abs(float(value) - 12.5) < 1e-5)


def check(name, condition):
    print(("ok   " if condition else "FAIL ") + name, flush=True)
    if not condition:
        sys.exit(1)


def main():
    backend = keras.backend.backend()
    rng = np.random.default_rng(0)

    x = rng.normal(1.0, 2.0, (24, 4, 4, 3)).astype("float32")
    layer = GhostBatchNormalization(8, momentum=0.5)
    layer.build(x.shape)
    layer.gamma.assign(rng.uniform(0.5, 2, 3).astype("float32"))
    want, mean, var = reference(x, 8, np.asarray(layer.gamma), np.zeros(3), 1e-3)
    got = keras.ops.convert_to_numpy(layer(x, training=True))
    check(f"{backend}: GBN equals numpy per-ghost-batch reference", np.allclose(got, want, atol=3e-5))
    check(f"{backend}: GBN moving mean update",
          np.allclose(keras.ops.convert_to_numpy(layer.moving_mean), 0.5 * mean, atol=1e-5))

    bn = keras.layers.BatchNormalization()
    gbn = GhostBatchNormalization(24)
    same = np.allclose(keras.ops.convert_to_numpy(gbn(x, training=True)),
                       keras.ops.convert_to_numpy(bn(x, training=True)), atol=2e-5)
    check(f"{backend}: GBN with ghost batch = batch equals BatchNormalization", same)

    half = GhostBatchNormalization(8, dtype="mixed_bfloat16")
    out = half(keras.ops.cast(x, "bfloat16"), training=True)
    check(f"{backend}: bfloat16 inputs, float32 statistics",
          keras.backend.standardize_dtype(out.dtype) == "bfloat16"
          and keras.backend.standardize_dtype(half.moving_mean.dtype) == "float32")

    remainder = keras.ops.convert_to_numpy(GhostBatchNormalization(5)(x, training=True))
    last = np.asarray(x)[len(x) // 5 * 5:]  # the remainder ghost, over its own rows
    want = (last - last.mean((0, 1, 2))) / np.sqrt(last.var((0, 1, 2)) + 1e-3)  # per channel
    check(f"{backend}: a non-dividing batch's remainder ghost is normalized over its rows",
          np.allclose(remainder[len(x) // 5 * 5:], want, atol=1e-4))

    inputs = keras.Input((6,))
    hidden = GhostBatchNormalization(8, name="gbn")(keras.layers.Dense(6)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    schedule = Regime(32, 4, 0.1, boundaries=(3,), warmup_epochs=1).to_schedule(64)
    model.compile(keras.optimizers.SGD(schedule, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    distance = WeightDistance(total_steps=8, points=4)
    xs, ys = rng.normal(size=(64, 6)).astype("float32"), rng.integers(0, 2, 64)
    history = model.fit(xs, ys, batch_size=32, epochs=4, callbacks=[distance], verbose=0, shuffle=False)
    check(f"{backend}: fit with GBN, Warmup regime and WeightDistance (jit)",
          np.isfinite(history.history["loss"]).all() and distance.history["step"][-1] == 8
          and distance.history["distance"][-1] > 0)
    # 2 steps per epoch: warm-up = updates 0, 1; the epoch-3 decay starts at update 6 itself
    lr = [float(keras.ops.convert_to_numpy(schedule(s))) for s in (0, 1, 2, 5, 6, 7)]
    check(f"{backend}: Warmup + step decay values, boundary step included",
          np.allclose(lr, [0.0, 0.05, 0.1, 0.1, 0.01, 0.01]))

    path = os.path.join(tempfile.mkdtemp(), "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    check(f"{backend}: .keras round trip with GBN and Warmup schedule",
          np.allclose(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0), atol=1e-5)
          and keras.optimizers.serialize(loaded.optimizer)["config"]["learning_rate"]["class_name"]
          == "Warmup")
    check_optimizers(backend, rng)
    check_instruments(backend, rng)
    print(f"ALL OK on {backend}")


if __name__ == "__main__":
    main()
