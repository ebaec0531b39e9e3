"""The trainer on Keras's own distribution API: `KerasDistribution` (no TensorFlow).

On the JAX backend the trainer runs under `keras.distribution` instead of
`tf.distribute`. `KerasDistribution` gives it the few things it asks of a
strategy:

```
num_replicas_in_sync   devices of the data-parallel mesh (all processes)
num_workers            processes (hosts); worker_index: this one's
scope()                the distribution's scope (None: one device, no scope)
device_kind            "cpu", "gpu" or "tpu"
```

Data parallelism (`keras.distribution.DataParallel`) is one SPMD program
over the global batch: each process feeds its slice of the global batch
(`B / num_workers` rows, worker w's rows `[w B / W, (w + 1) B / W)`), and
XLA splits it into per-device shards of `B / num_replicas_in_sync`
contiguous rows. The loss is the mean over the global batch and every
statistic (BatchNormalization's included) is computed over it, so one
update equals the one-device update on the same batch (tested against one
device). GhostBatchNormalization's ghost batches are `virtual_batch_size`
consecutive rows; the trainer checks that they divide the per-device batch,
so no ghost batch spans two devices, as under `tf.distribute`.

Several hosts: `initialize()` calls `keras.distribution.initialize`, which
reads `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES`
and `KERAS_DISTRIBUTION_PROCESS_ID` (or finds them on Cloud TPU / SLURM).
"""

import contextlib
import os

import keras

from keras_bigbatch.arguments import check_positive_int

_MULTI_HOST_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                         "KERAS_DISTRIBUTION_PROCESS_ID")


class KerasDistribution:
    """A `keras.distribution.Distribution` (or one device) as the trainer's strategy.

    Args:
        distribution: a `keras.distribution.DataParallel`, or None for the
            default device (no distribution).
    """

    def __init__(self, distribution=None):
        if distribution is not None and not isinstance(
                distribution, keras.distribution.DataParallel):
            raise ValueError(
                "Argument `distribution` must be a keras.distribution.DataParallel or None "
                "(the trainer cuts the global batch along one data axis). Received: "
                f"distribution={distribution!r}")
        self.distribution = distribution

    @property
    def num_replicas_in_sync(self):
        if self.distribution is None:
            return 1
        return int(self.distribution.device_mesh.devices.size)

    @property
    def num_workers(self):
        return _jax().process_count() if keras.backend.backend() == "jax" else 1

    @property
    def worker_index(self):
        return _jax().process_index() if keras.backend.backend() == "jax" else 0

    @property
    def device_kind(self):
        """"cpu", "gpu" or "tpu": the platform of the devices the model runs on."""
        if keras.backend.backend() == "jax":
            platform = _jax().devices()[0].platform
        elif keras.backend.backend() == "torch":
            import torch

            platform = "gpu" if torch.cuda.is_available() else "cpu"
        else:
            platform = "cpu"
        return platform if platform in ("gpu", "tpu") else "cpu"

    def gpu_compute_capabilities(self):
        """`[(major, minor)]` of the local GPUs (JAX), for precision checks."""
        if keras.backend.backend() != "jax" or self.device_kind != "gpu":
            return []
        found = []
        for device in _jax().local_devices():
            text = getattr(device, "compute_capability", None)
            if text:
                found.append(tuple(int(part) for part in str(text).split(".")[:2]))
        return found

    def scope(self):
        """The distribution's scope (variables laid out, data sharded); a no-op for None."""
        if self.distribution is None:
            return contextlib.nullcontext()
        return self.distribution.scope()

    def __repr__(self):
        kind = type(self.distribution).__name__ if self.distribution else "one device"
        return (f"KerasDistribution({kind}, replicas={self.num_replicas_in_sync}, "
                f"workers={self.num_workers})")


def _jax():
    import jax

    return jax


def check_backend(strategy_name):
    """Raises unless the Keras backend can run `strategy_name` here."""
    backend = keras.backend.backend()
    if backend != "jax":
        raise ValueError(
            f"Argument `strategy={strategy_name!r}` uses keras.distribution, which this "
            f"package runs on the JAX backend only (KERAS_BACKEND=jax); the backend is "
            f"{backend!r}. On TensorFlow use 'mirrored', 'multi-worker' or 'tpu'. "
            f"Received: strategy={strategy_name!r}")


def _request_cpu_devices(count):
    """Asks JAX for `count` CPU devices; starts nothing (no device is listed)."""
    check_positive_int("cpu_devices", count)
    try:
        _jax().config.update("jax_num_cpu_devices", count)
    except RuntimeError:
        pass  # already initialized: `set_cpu_devices` accepts it if the count matches


def set_cpu_devices(count):
    """Splits the host CPU into `count` JAX devices (tests, CPU-only machines).

    Must run before JAX initializes its backend; afterwards it raises
    `RuntimeError` unless the host already has `count` CPU devices.
    """
    _request_cpu_devices(count)
    jax = _jax()
    existing = len(jax.devices("cpu"))
    if existing != count:
        raise RuntimeError(
            f"JAX is already initialized with {existing} CPU device(s); cannot switch to "
            f"{count}. Choose --cpu-devices before any JAX computation runs (or set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={count}).")
    return [str(d) for d in jax.devices("cpu")]


def multi_host_requested():
    """True when the environment names a multi-process job for keras.distribution."""
    return int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1") or 1) > 1


_INITIALIZED = False


def initialize():
    """`keras.distribution.initialize()` for a multi-host job, once per process.

    Must run before JAX initializes its backend (`get_strategy` calls it first).

    Raises:
        ValueError: the job's variables are incomplete (the message names them).
    """
    global _INITIALIZED
    if _INITIALIZED:
        return
    missing = [name for name in _MULTI_HOST_VARIABLES if not os.environ.get(name)]
    if missing:
        raise ValueError(
            "A multi-host data-parallel job needs " + ", ".join(_MULTI_HOST_VARIABLES) +
            f"; missing {missing}. E.g. KERAS_DISTRIBUTION_JOB_ADDRESSES=10.0.0.1:1234,"
            "10.0.0.2:1234 KERAS_DISTRIBUTION_NUM_PROCESSES=2 KERAS_DISTRIBUTION_PROCESS_ID=0.")
    keras.distribution.initialize()  # before any JAX computation: JAX requires it
    _INITIALIZED = True


def data_parallel(cpu_devices=None):
    """`KerasDistribution(DataParallel)` over every device of the job.

    Args:
        cpu_devices: split the host CPU into this many devices first, and
            use them (not the GPUs or TPUs) for the mesh.
    """
    check_backend("data-parallel")
    if cpu_devices is not None:
        _request_cpu_devices(cpu_devices)
    if multi_host_requested():
        initialize()  # before anything lists devices: that starts JAX
    if cpu_devices is not None:
        set_cpu_devices(cpu_devices)  # checks the split took effect
    devices = keras.distribution.list_devices("cpu" if cpu_devices is not None else None)
    distribution = keras.distribution.DataParallel(devices=devices)
    # Each process already feeds its own slice of every global batch (DataSource.batches).
    distribution.auto_shard_dataset = False
    return KerasDistribution(distribution)


def current():
    """The ambient distribution: `keras.distribution.distribution()` if it is a
    DataParallel, else one device."""
    ambient = keras.distribution.distribution()
    if ambient is not None and not isinstance(ambient, keras.distribution.DataParallel):
        raise ValueError(
            "The trainer runs under keras.distribution.DataParallel only; the global "
            f"distribution is {type(ambient).__name__}. Unset it, or pass a DataParallel.")
    return KerasDistribution(ambient)
