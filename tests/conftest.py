"""Test session set-up: the Keras backend, and 2 logical CPU devices on TensorFlow.

The backend is `KERAS_BACKEND` (default "tensorflow"), chosen once per process.

On TensorFlow the logical devices must exist before TensorFlow initializes, so
they are created here, once per process; every MirroredStrategy test mirrors
over them.

On any other backend TensorFlow is not imported at all (it need not be
installed): tests marked `@pytest.mark.tensorflow` (tf.distribute, tf.data,
tf.function, summary files...) and tests using the `mirrored` fixture are
skipped with the reason.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

BACKEND = os.environ["KERAS_BACKEND"]
ON_TENSORFLOW = BACKEND == "tensorflow"
NEEDS_TENSORFLOW = f"needs TensorFlow; the Keras backend is {BACKEND!r}"

if ON_TENSORFLOW:
    from keras_bigbatch.distribute import configure_cpu_devices

    CPU_DEVICES = configure_cpu_devices(2)
else:
    CPU_DEVICES = None


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "tensorflow: needs TensorFlow itself (tf.distribute, tf.data, tf.function, "
        "summary files...); skipped when KERAS_BACKEND is not tensorflow",
    )


def pytest_collection_modifyitems(config, items):
    if ON_TENSORFLOW:
        return
    skip = pytest.mark.skip(reason=NEEDS_TENSORFLOW)
    for item in items:
        if item.get_closest_marker("tensorflow") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mirrored():
    if not ON_TENSORFLOW:
        pytest.skip(f"tf.distribute.MirroredStrategy {NEEDS_TENSORFLOW}")
    # the same object `get_strategy("mirrored", cpu_devices=2)` returns: two
    # strategies over the same devices would mix up their collective keys
    from keras_bigbatch.distribute import get_strategy

    return get_strategy("mirrored", cpu_devices=2)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    import keras

    keras.backend.clear_session()
    yield
