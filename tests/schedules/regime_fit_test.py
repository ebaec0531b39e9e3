"""A `Regime` through plain `model.fit` on `make_dataset`: every update at its rate.

The learning rate of update t is `to_schedule(N)(t)`, read while
`optimizer.iterations == t`. Keras on TensorFlow, given a dataset of unknown
length, makes one empty train call per epoch that still increments the
iterations (the phantom step), so the schedule runs ahead of the updates.
Measured before the fix (batch 1024 on 2,000 examples, 60 epochs, decays at
epochs 30 and 45): 120 iterations for 60 updates, rates changed after
epochs 15 and 23; after: 60 iterations, changes after epochs 30 and 45.
"""

import warnings

import keras
import numpy as np
import pytest

from keras_bigbatch.schedules import Regime

pytestmark = pytest.mark.tensorflow  # make_dataset: tf.data

N = 2000


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


class UpdateLog(keras.callbacks.Callback):
    """(iterations, learning rate) as each update reads them; iterations at each epoch's end.

    Keras calls `on_train_batch_begin` for the phantom call too, but not
    `on_train_batch_end`: only begins that end are updates.
    """

    def on_train_begin(self, logs=None):
        self.updates, self.epoch_ends, self._pending = [], [], None

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        self._pending = (self._iterations(), float(keras.ops.convert_to_numpy(
            optimizer.learning_rate)))

    def on_train_batch_end(self, batch, logs=None):
        self.updates.append((*self._pending, self._iterations()))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_ends.append(self._iterations())

    def _iterations(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))


def fit(regime, dataset, **arguments):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(regime.to_schedule(N)),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    log = UpdateLog()
    model.fit(dataset, verbose=0, callbacks=[log], **arguments)
    return log


def step_decay(learning_rate, boundary_steps, steps, decay=0.1):
    """Reference: update t runs at learning_rate * decay ** #{s in boundary_steps: s <= t}."""
    return [learning_rate * decay ** sum(s <= t for s in boundary_steps) for t in range(steps)]


@pytest.mark.parametrize("batch_size, epochs, boundaries, boundary_steps", [
    # 2000 // 1024 = 1 step per epoch: epochs 4 and 6 start at updates 4 and 6
    (1024, 8, (4, 6), (4, 6)),
    # 2000 // 512 = 3: round(2 * 3) = 6, round(4.5 * 3) = round(13.5) = 14
    (512, 6, (2, 4.5), (6, 14)),
])
def test_iterations_and_rate_epoch_by_epoch_in_a_plain_fit(batch_size, epochs, boundaries,
                                                           boundary_steps):
    from keras_bigbatch.data import make_dataset

    x, y = data()
    steps = N // batch_size
    regime = Regime(batch_size, epochs, 0.1, boundaries=boundaries)
    dataset = make_dataset(x, y, batch_size)
    log = fit(regime, dataset, epochs=epochs)
    total = epochs * steps
    iterations, rates, after = map(list, zip(*log.updates))
    assert iterations == list(range(total)) and after == list(range(1, total + 1))
    np.testing.assert_allclose(rates, step_decay(0.1, boundary_steps, total), rtol=1e-6)
    for s in boundary_steps:  # the boundary update itself, and the one before it
        assert rates[s] == pytest.approx(rates[s - 1] * 0.1)
    assert log.epoch_ends == [steps * (e + 1) for e in range(epochs)]
    assert int(dataset.cardinality()) == steps


def test_fit_arguments_train_exactly_a_fractional_regime():
    from keras_bigbatch.data import make_dataset

    x, y = data()
    small = Regime(50, 2, 0.1, boundaries=(1, 1.5))  # 2000 // 50 = 40 steps per epoch
    regime = small.adapt(256, dataset_size=N)  # 2000 // 256 = 7: r = 40 / 7
    # epochs 2 * 40 / 7 = 11.43 -> T = round(11.43 * 7) = 80 = small's 2 * 40 updates;
    # boundaries 5.71 and 8.57 epochs -> updates round(40.0) = 40 and round(60.0) = 60
    total = small.total_steps(N)
    assert regime.epochs == pytest.approx(80 / 7) and regime.total_steps(N) == total == 80
    arguments = regime.fit_arguments(N)
    assert arguments == {"epochs": 10, "steps_per_epoch": 8}  # divisors of 80 nearest 7: 8
    assert int(regime.epochs) * 7 == 77 < total  # what int(regime.epochs) would train
    log = fit(regime, make_dataset(x, y, 256, repeat=True), **arguments)
    iterations, rates, _ = map(list, zip(*log.updates))
    assert log.epoch_ends[-1] == total and iterations == list(range(total))
    schedule = regime.to_schedule(N)
    want = [float(keras.ops.convert_to_numpy(schedule(t))) for t in range(total)]
    np.testing.assert_allclose(rates, want, rtol=1e-6)
    np.testing.assert_allclose(rates, step_decay(regime.learning_rate, (40, 60), total),
                               rtol=1e-6)


def test_fit_arguments_of_whole_epochs_fit_a_one_pass_dataset():
    from keras_bigbatch.data import make_dataset

    x, y = data()
    regime = Regime(512, 4, 0.1, boundaries=(2,))  # 3 steps per epoch, decay at update 6
    arguments = regime.fit_arguments(N)
    assert arguments == {"epochs": 4, "steps_per_epoch": 3}
    with warnings.catch_warnings():  # steps_per_epoch == the pass's length: no cut epochs
        warnings.filterwarnings("error", message="Your input ran out of data")
        log = fit(regime, make_dataset(x, y, 512), **arguments)
    assert log.epoch_ends == [3, 6, 9, 12]
    np.testing.assert_allclose([r for _, r, _ in log.updates], step_decay(0.1, (6,), 12),
                               rtol=1e-6)
