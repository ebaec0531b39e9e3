"""Checks run in a fresh process under another Keras backend (see jax_test.py).

Usage: KERAS_BACKEND=jax python tests/backends/_backend_checks.py
Prints one line per check and exits non-zero on the first failure.
"""

import os
import sys
import tempfile

import keras
import numpy as np

from keras_bigbatch.callbacks import WeightDistance
from keras_bigbatch.layers import GhostBatchNormalization
from keras_bigbatch.schedules import Regime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.layers.ghost_batch_normalization_test import reference  # noqa: E402


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

    try:
        GhostBatchNormalization(5)(x, training=True)
        check(f"{backend}: non-dividing batch raises", False)
    except ValueError as error:
        check(f"{backend}: non-dividing batch raises naming virtual_batch_size",
              "virtual_batch_size" in str(error))

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
    lr = [float(keras.ops.convert_to_numpy(schedule(s))) for s in (0, 1, 2, 5, 7)]
    check(f"{backend}: Warmup + step decay values", np.allclose(lr, [0.0, 0.05, 0.1, 0.1, 0.01]))

    path = os.path.join(tempfile.mkdtemp(), "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    check(f"{backend}: .keras round trip with GBN and Warmup schedule",
          np.allclose(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0), atol=1e-5)
          and keras.optimizers.serialize(loaded.optimizer)["config"]["learning_rate"]["class_name"]
          == "Warmup")
    print(f"ALL OK on {backend}")


if __name__ == "__main__":
    main()
