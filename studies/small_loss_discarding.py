"""Gao & Zhong's Fig. 10 on Fashion-MNIST: discard 30% small-loss samples.

Baseline vs discarding the 30% smallest per-sample losses of every batch
during the first half of training (Gao & Zhong: AlexNet on CIFAR-10, 30% in
the first 100 epochs), at global batch 2000 and 8000.

Both arms: the main demo's MLP (3x256, BN momentum 0.9), SGD momentum 0.9,
16 epochs, lr = 0.1 * sqrt(batch / 128) (Hoffer's rule) with a 2-epoch
linear warm-up, x0.1 at epoch 12. Discarding arm: loss
SmallLossDiscarding(crossentropy, fraction=0.3, epochs=8) with the
SmallLossDiscardingSchedule callback.

Command:
    python -m studies.small_loss_discarding [--seed 1]  (~3 min on 2 cores)
    python -m studies.small_loss_discarding --size smoke (CI: digits)
Writes results/studies/small_loss_discarding/{results.json,results.png}:
test accuracy per epoch, baseline against discarding, per batch size.
"""

import argparse
import math
import time

from studies import _study


def train(x, y, xt, yt, batch_size, fraction, epochs, seed):
    import keras

    from keras_bigbatch.callbacks import SmallLossDiscardingSchedule
    from keras_bigbatch.losses import SmallLossDiscarding
    from keras_bigbatch.schedules import Regime

    keras.utils.set_random_seed(seed)
    model = _study.mlp(x, seed)
    regime = Regime(batch_size=batch_size, epochs=epochs,
                    learning_rate=0.1 * math.sqrt(batch_size / 128),
                    boundaries=(0.75 * epochs,), warmup_epochs=2 if epochs > 4 else 0)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    curve = _study.test_accuracy_callback(xt, yt)
    callbacks = [curve]
    if fraction:
        loss = SmallLossDiscarding(loss, fraction=fraction, epochs=epochs // 2)
        callbacks.append(SmallLossDiscardingSchedule())
    model.compile(keras.optimizers.SGD(regime.to_schedule(len(x)), momentum=0.9), loss,
                  metrics=["accuracy"])
    start = time.time()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
                        callbacks=callbacks).history
    seconds = time.time() - start
    return {"test_accuracy": _study.accuracy(model, xt, yt),
            "train_accuracy": history["accuracy"][-1],
            "train_accuracy_curve": history["accuracy"],
            "test_accuracy_curve": curve.curve,
            "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("default", "smoke"), default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/studies/small_loss_discarding")
    args = parser.parse_args(argv)
    x, y, xt, yt = _study.load(args.size, args.seed)
    batches, epochs = ((64, 256), 4) if args.size == "smoke" else ((2000, 8000), 16)
    results = {"seed": args.seed}
    for batch_size in batches:
        for fraction in (0.0, 0.3):
            name = f"batch {batch_size}, discard {fraction:.0%}"
            row = results[name] = train(x, y, xt, yt, batch_size, fraction, epochs, args.seed)
            print(f"{name:24s} test {100 * row['test_accuracy']:.2f}%  train "
                  f"{100 * row['train_accuracy']:.2f}%  {row['seconds']:.0f} s", flush=True)
        gain = (results[f"batch {batch_size}, discard 30%"]["test_accuracy"]
                - results[f"batch {batch_size}, discard 0%"]["test_accuracy"])
        print(f"batch {batch_size}: discarding changes test accuracy by {100 * gain:+.2f} points")
    _study.save(results, args.out)
    plot(results, batches, epochs, args.out)
    return results


def plot(results, batches, epochs, folder):
    """results.png: test accuracy per epoch, baseline vs discard, one panel per batch."""
    figure, axes = _study.figure(columns=len(batches))
    for axis, batch_size in zip(axes[0], batches):
        for fraction, style in ((0.0, "o-"), (0.3, "s--")):
            row = results[f"batch {batch_size}, discard {fraction:.0%}"]
            curve = row["test_accuracy_curve"]
            label = "baseline" if not fraction else f"discard {fraction:.0%}"
            axis.plot([p["epoch"] for p in curve], [100 * p["test_accuracy"] for p in curve],
                      style, markersize=3, label=f"{label} ({100 * row['test_accuracy']:.2f}%)")
        axis.axvspan(0, epochs // 2, color="0.9", zorder=0)  # the epochs that discard
        axis.set_title(f"batch {batch_size}", fontsize=9)
        axis.set_xlabel("epoch (shaded: discarding on)")
        axis.set_ylabel("test accuracy %")
        axis.legend(fontsize=7)
    _study.save_figure(figure, folder, f"Discarding the 30% smallest losses "
                                       f"(seed {results['seed']})")


if __name__ == "__main__":
    main()
