"""Shared pieces of the study scripts: data, model, evaluation, output."""

import json
import os

import numpy as np


def load(size, seed=0):
    """(x_train, y_train, x_test, y_test) as flat float32 / int32 arrays."""
    from keras_bigbatch import data

    if size == "smoke":
        (x, y), (xt, yt) = data.load_digits(seed=seed)
    else:
        x, y = data.load_split("train")
        xt, yt = data.load_split("test")
        x, xt = x / 255.0, xt / 255.0
    flat = lambda a: a.reshape(len(a), -1).astype("float32")  # noqa: E731
    return flat(x), y.astype("int32"), flat(xt), yt.astype("int32")


def mlp(x, seed, hidden=(256, 256, 256)):
    """The main demo's MLP: Dense-BN(momentum 0.9)-ReLU blocks, 10 logits."""
    from keras_bigbatch.models import mlp as build

    return build(x.shape[1:], 10, hidden_units=hidden, normalization="batch",
                 normalization_momentum=0.9, seed=seed)


def accuracy(model, x, y):
    logits = model.predict(x, batch_size=1000, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def test_accuracy_callback(x, y):
    """A Keras callback that records, at every epoch end, the test accuracy
    and the updates so far (`optimizer.iterations`) in its `curve`, a list of
    {"epoch", "updates", "test_accuracy"} dicts. It only predicts (inference
    mode), so training is unchanged."""
    import keras

    class TestAccuracy(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.curve = []

        def on_epoch_end(self, epoch, logs=None):
            updates = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            self.curve.append({"epoch": epoch + 1, "updates": updates,
                               "test_accuracy": accuracy(self.model, x, y)})

    return TestAccuracy()


def save(results, folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "results.json"), "w") as handle:
        json.dump(results, handle, indent=1)


def figure(columns=1):
    """A small matplotlib figure (Agg) for a study's results.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(6.4, 4.4), squeeze=False)


def save_figure(figure, folder, title):
    """Writes `folder/results.png` (small: 6.4 x 4.4 in at 90 dpi); returns its path."""
    import matplotlib.pyplot as plt

    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "results.png")
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
