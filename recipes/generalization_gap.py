"""Hoffer, Hubara & Soudry 2017, Table 1, on Fashion-MNIST (the main demo).

Rows: SB (small batch), LB (large batch, same epochs and learning rate),
+LR (sqrt learning-rate scaling with a linear warm-up), +GBN (Ghost Batch
Normalization, ghost batch = the small batch) and +RA (regime adaptation:
as many updates as SB).

Model: MLP 784-256-256-256-10 with batch normalization (moving-statistics
momentum 0.9), SGD momentum 0.9.
Derived values are formulas of the small-batch regime:

    large lr       = small lr * sqrt(large batch / small batch)
    RA epochs      = small epochs * (N // small batch) / (N // large batch)
    RA boundaries  = small boundaries * the same ratio

Expected (2 CPU cores, default size; see README for the measured table):
SB ~90%, LB ~2 points lower, +LR and +RA closing the gap; about 6 minutes
for the whole table.

Command:
    python -m keras_bigbatch.training recipes/generalization_gap.py
    (add --size smoke for the CI-sized version, ~1 minute)
"""

from keras_bigbatch.schedules import Regime
from keras_bigbatch.schedules import scale_learning_rate

FASHION_MNIST_TRAIN = 60000


def get_config(size="default"):
    if size == "smoke":
        train_examples, test_examples = 2048, 1000
        small_batch, large_batch, epochs = 32, 512, 2
        boundaries = ()
    else:
        train_examples, test_examples = None, None
        small_batch, large_batch, epochs = 128, 4096, 10
        boundaries = (6, 8)
    dataset_size = train_examples or FASHION_MNIST_TRAIN
    small = Regime(
        batch_size=small_batch, epochs=epochs, learning_rate=0.1,
        boundaries=boundaries, decay=0.1,
    )
    large_lr = scale_learning_rate(
        small.learning_rate, small_batch, large_batch, rule="sqrt"
    )
    warmup_epochs = 2 if size == "default" else 0.5
    large = small.replace(batch_size=large_batch)
    large_lr_regime = large.replace(
        learning_rate=large_lr, warmup_epochs=warmup_epochs
    )
    adapted = small.adapt(
        large_batch, learning_rate_rule="sqrt", dataset_size=dataset_size
    ).replace(warmup_epochs=warmup_epochs)
    common = dict(
        dataset="fashion_mnist",
        model="mlp",
        hidden_units=(256, 256, 256),
        # PyTorch's BN momentum (Hoffer et al.'s code). Keras's 0.99 leaves
        # the moving statistics stale after LB's 140 updates (see README).
        normalization_momentum=0.9,
        momentum=0.9,
        seed=0,
        train_examples=train_examples,
        test_examples=test_examples,
    )
    ghost = dict(normalization="ghost", virtual_batch_size=small_batch)
    return {
        "name": "generalization_gap",
        "description": (
            "Hoffer et al. 2017 on Fashion-MNIST: MLP 3x256+BN, "
            f"SB={small_batch} vs LB={large_batch}"
        ),
        "runs": [
            dict(name="SB", regime=small, **common),
            dict(name="LB", regime=large, **common),
            dict(name="LB+LR", regime=large_lr_regime, **common),
            dict(name="LB+LR+GBN", regime=large_lr_regime, **common, **ghost),
            dict(name="LB+LR+GBN+RA", regime=adapted, **common, **ghost),
        ],
    }
