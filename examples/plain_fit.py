"""Large-batch training in plain Keras: `model.compile` / `model.fit` with
keras_bigbatch's layer, optimizer and learning-rate regime.

```
python examples/plain_fit.py            # batch 4096: ~90% in 468 updates, 1-2 min (2 cores)
python examples/plain_fit.py --tiny     # a few seconds (what CI runs)
```

What it does, top to bottom:

1. A small-batch regime that trains well (batch 128, 10 epochs, learning
   rate decays x0.1 at epochs 6 and 8), adapted to a global batch of 4096:
   the learning rate scaled by sqrt(4096 / 128) (Hoffer et al. 2017), a
   share of the small batch's updates kept (`--updates-fraction`; 1.0 is
   their "regime adaptation": as many updates as batch 128), and a linear
   warm-up over the first 2 epochs.
2. An MLP whose batch normalization is `GhostBatchNormalization`: each
   per-replica batch of 4096 is normalized as 32 ghost batches of 128.
3. `LARS` (You, Gitman & Ginsburg 2017): each layer's step is scaled by its
   trust ratio `trust_coefficient * ||w|| / ||g||`.
4. `model.fit` on `kb.data.make_dataset(..., repeat=True)`, an endless
   stream of whole batches, for exactly the regime's updates
   (`Regime.fit_arguments`), then the test accuracy.
"""

import argparse

import keras

import keras_bigbatch as kb


def mlp(virtual_batch_size):
    """784-256-256-10 with ghost batch normalization after each hidden layer."""
    layers = [keras.Input((784,))]
    for _ in range(2):
        layers += [keras.layers.Dense(256, use_bias=False),  # GBN's offset replaces the bias
                   kb.layers.GhostBatchNormalization(virtual_batch_size, momentum=0.9),
                   keras.layers.ReLU()]
    return keras.Sequential(layers + [keras.layers.Dense(10)])


def main(tiny=False, updates_fraction=0.1):
    (x, y), (x_test, y_test) = kb.data.load_fashion_mnist()   # uint8 (60000, 28, 28)
    x = x.reshape(-1, 784).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 784).astype("float32") / 255.0
    small_batch, large_batch, ghost = 128, 4096, 128
    if tiny:  # 20 updates of batch 512: the same code, in seconds
        x, y, x_test, y_test = x[:2048], y[:2048], x_test[:1000], y_test[:1000]
        small_batch, large_batch, ghost, updates_fraction = 64, 512, 64, 0.0625

    # 1. The regime: small-batch recipe -> large batch (sqrt rule), with warm-up.
    small = kb.schedules.Regime(batch_size=small_batch, epochs=10, learning_rate=1.0,
                                boundaries=(6, 8))
    large = small.adapt(large_batch, learning_rate_rule="sqrt", dataset_size=len(x),
                        updates_fraction=updates_fraction).replace(warmup_epochs=2)
    print(f"regime: {large.describe()}")

    # 2.-3. The model, LARS, and the regime as a learning-rate schedule.
    model = mlp(ghost)
    model.compile(
        optimizer=kb.optimizers.LARS(large.to_schedule(len(x)), momentum=0.9,
                                     trust_coefficient=0.001, weight_decay=5e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"])

    # 4. Exactly the regime's updates: whole epochs of `steps_per_epoch` steps
    #    (model.fit takes whole epochs; the regime may end mid-pass).
    train = kb.data.make_dataset(x, y, large.batch_size, repeat=True)
    arguments = large.fit_arguments(len(x))   # {"epochs": ..., "steps_per_epoch": ...}
    model.fit(train, verbose=2, shuffle=False, **arguments)   # the stream shuffles itself
    assert int(model.optimizer.iterations) == large.total_steps(len(x))

    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    print(f"updates: {int(model.optimizer.iterations)}, test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a few seconds (CI)")
    parser.add_argument("--updates-fraction", type=float, default=0.1,
                        help="share of batch 128's updates to train at batch 4096 (1.0: "
                             "regime adaptation, ~10x longer). Default 0.1")
    args = parser.parse_args()
    main(args.tiny, args.updates_fraction)
