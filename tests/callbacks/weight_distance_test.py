import keras
import numpy as np
import pytest

from keras_bigbatch.callbacks import WeightDistance
from keras_bigbatch.callbacks.weight_distance import log_spaced_steps


def test_log_grid():
    assert log_spaced_steps(1000, 4) == [1, 10, 100, 1000]
    assert log_spaced_steps(0, 4) == []


def test_records_exact_distance_during_fit():
    # One weight, loss = w, SGD lr 0.5: w_t = w_0 - 0.5 t, so distance = 0.5 t.
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(0.5), loss=lambda y, p: keras.ops.mean(p))
    callback = WeightDistance(total_steps=16, points=5)
    history = model.fit(np.ones((16, 1)), np.zeros(16), batch_size=1, epochs=1, callbacks=[callback], verbose=0)
    assert callback.history["step"] == [0, 1, 2, 4, 8, 16]
    np.testing.assert_allclose(callback.history["distance"], [0.5 * s for s in callback.history["step"]], rtol=1e-6)
    assert history.history["weight_distance"] == pytest.approx([8.0])


def test_bad_input():
    with pytest.raises(ValueError, match="total_steps"):
        WeightDistance(total_steps=0)
    with pytest.raises(ValueError, match="points"):
        WeightDistance(points=-1)
