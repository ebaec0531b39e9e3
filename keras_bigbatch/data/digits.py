"""scikit-learn's bundled 8x8 digits (1,797 images), a second small real set.

It ships inside scikit-learn, so it loads offline in a fraction of a second,
which makes it the real data set of choice for fast tests.
"""

import numpy as np


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
