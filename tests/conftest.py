"""Test session set-up: TensorFlow backend, 2 logical CPU devices.

The logical devices must exist before TensorFlow initializes, so they are
created here, once per process; every MirroredStrategy test mirrors over them.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from keras_bigbatch.distribute import configure_cpu_devices  # noqa: E402

CPU_DEVICES = configure_cpu_devices(2)


@pytest.fixture(scope="session")
def mirrored():
    # the same object `get_strategy("mirrored", cpu_devices=2)` returns: two
    # strategies over the same devices would mix up their collective keys
    from keras_bigbatch.distribute import get_strategy

    return get_strategy("mirrored", cpu_devices=2)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    import keras

    keras.backend.clear_session()
    yield
