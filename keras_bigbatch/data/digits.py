"""scikit-learn's bundled 8x8 digits (1,797 images), a second small real set.

It ships inside scikit-learn, so it loads offline in a fraction of a second,
which makes it the real data set of choice for fast tests.
"""

import functools

import numpy as np

from keras_bigbatch.data.arrays import ArraySource
from keras_bigbatch.data.arrays import take_examples
from keras_bigbatch.data.registry import register_source


def load_digits(test_fraction=0.25, seed=0):
    """Loads the digits as `(x_train, y_train), (x_test, y_test)`.

    Images are float32 `(N, 8, 8)` scaled to `[0, 1]`; labels int64 `(N,)`.
    The split is a seeded permutation.

    Args:
        test_fraction: share of examples held out, in `(0, 1)`. Default 0.25.
        seed: seed of the split permutation. Default 0.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            "Argument `test_fraction` must be in (0, 1). "
            f"Received: test_fraction={test_fraction}"
        )
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(len(labels) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return (images[train], labels[train]), (images[test], labels[test])


@register_source("digits")
@functools.lru_cache(maxsize=2)
def digits_source(test_fraction=0.25, split_seed=0, train_examples=None, test_examples=None):
    """The digits as an `ArraySource`: images float32 in [0, 1], (8, 8), 10 classes.

    Args:
        test_fraction: see `load_digits`.
        split_seed: see `load_digits`.
        train_examples: keep only the first N training examples.
        test_examples: keep only the first N test examples.
    """
    train, test = load_digits(test_fraction, split_seed)
    return ArraySource("digits", take_examples(train, train_examples, "train_examples"),
                       take_examples(test, test_examples, "test_examples"), num_classes=10)
