"""Choosing a strategy by name: `tf.distribute` on TensorFlow, `keras.distribution` on JAX.

On the TensorFlow backend every name but "data-parallel" is a
`tf.distribute.Strategy`. On the other backends `get_strategy` returns a
`KerasDistribution` (see `distribute.keras_distribution`): "data-parallel"
(JAX), and "default"/"auto" (one device, or data-parallel over several JAX
devices); the tf.distribute names are refused there.

Known limits of Keras 3 / TF 2.21 that this package plans around:

* `model.fit` fails under `MultiWorkerMirroredStrategy`
  (keras-team/keras#20585): `enable_multi_worker_fit` mends it, and the
  trainer calls it before fitting under that strategy.
* `jit_compile=True` fails under a multi-device `MirroredStrategy` on CPU:
  `compile_options` turns XLA off there (and says why if it was asked for).

TPUStrategy cannot run on our CI machines. Its code path is kept to the
choice of strategy (`_tpu_strategy`) and `compile_options`/precision; data,
model, `fit` and evaluation are the same calls as under every other strategy
(evaluation pads its last batch, see `distribute.evaluation`).
"""

import json
import os
import warnings

import keras

from keras_bigbatch.arguments import check_choice
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.distribute import keras_distribution
from keras_bigbatch.distribute.keras_distribution import KerasDistribution

STRATEGIES = ("default", "mirrored", "multi-worker", "tpu", "data-parallel", "auto")
_TF_ONLY = ("mirrored", "multi-worker", "tpu")


def configure_cpu_devices(count):
    """Splits the host CPU into `count` logical devices (for tests and demos).

    Must run before TensorFlow initializes its devices; afterwards it raises
    `RuntimeError` unless the split already has `count` devices.
    """
    import tensorflow as tf

    check_positive_int("count", count)
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    except RuntimeError:
        existing = len(tf.config.list_logical_devices("CPU"))
        if existing != count:
            raise RuntimeError(
                f"TensorFlow is already initialized with {existing} logical "
                f"CPU device(s); cannot switch to {count}. Call "
                "configure_cpu_devices before any TensorFlow op runs."
            ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


_TPU_VARIABLES = ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_WORKER_ID", "TPU_ACCELERATOR_TYPE")


def _tpu_requested():
    """True where the environment or the host says a TPU is there.

    A TPU is named by the environment (Colab's `COLAB_TPU_ADDR`, `TPU_NAME`,
    a TPU VM's `TPU_ACCELERATOR_TYPE`/`TPU_WORKER_ID`) or attached to this
    host (`/dev/accel0`, `/dev/accel1`, ... on TPU VMs up to v4; not the
    `/dev/accel/` folder of other accelerators). Elsewhere a cluster
    resolver would query the GCE metadata server, which may hang off Google
    Cloud, so "auto" does not ask it. TPU VMs of v5 and later expose their
    chips through VFIO only: name them with `--strategy tpu` or
    `TPU_ACCELERATOR_TYPE`.
    """
    import glob

    return any(os.environ.get(name) for name in _TPU_VARIABLES) or bool(
        glob.glob("/dev/accel[0-9]*"))


class TPUNotFoundError(ValueError, RuntimeError):
    """`strategy='tpu'` (or a TPU named by `TPU_NAME`) where no TPU answers.

    A `ValueError` (bad input: the command exits 2 with its one line) and,
    as before, a `RuntimeError`."""


def _tpu_strategy():
    import tensorflow as tf

    # A named or Colab TPU resolves remotely; otherwise the chips are on this host.
    remote = os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR")
    tpu = os.environ.get("TPU_NAME", "") if remote else "local"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        found = str(error).strip().splitlines()
        raise TPUNotFoundError(
            "Argument `strategy='tpu'` needs a TPU (a Colab/Kaggle TPU runtime or a TPU "
            "VM; set TPU_NAME for a remote one), but none was found"
            + (f": {found[0][:300]}" if found else "") + ". Use strategy='default', "
            "'mirrored' or 'auto' here.") from None
    return tf.distribute.TPUStrategy(resolver)


def check_tf_config(text):
    """Parses a `TF_CONFIG` value for a multi-worker job; returns the dict.

    Raises:
        ValueError: not JSON, no `cluster.worker` list of "host:port"
            addresses, or a `task` that is not a worker index in range
            (the message shows what was found and what is valid).
    """
    example = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}')
    if not text:
        raise ValueError("strategy='multi-worker' needs the TF_CONFIG environment variable, "
                         f"e.g. TF_CONFIG='{example}'.")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}); expected e.g. "
                         f"'{example}'. Received: TF_CONFIG={text!r}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    workers = cluster.get("worker") if isinstance(cluster, dict) else None
    if not isinstance(workers, list) or not workers or not all(
            isinstance(w, str) and ":" in w for w in workers):
        raise ValueError("TF_CONFIG must list the workers as cluster.worker = "
                         f"[\"host:port\", ...], e.g. '{example}'. Received: TF_CONFIG={text!r}")
    if set(cluster) != {"worker"}:
        raise ValueError(
            "TF_CONFIG's cluster must list only `worker` tasks (the first worker is "
            f"the chief); found {sorted(cluster)}. Received: TF_CONFIG={text!r}")
    task = config.get("task")
    task = task if isinstance(task, dict) else {}
    index = task.get("index")
    if task.get("type") != "worker" or isinstance(index, bool) or (
            not isinstance(index, int)) or not 0 <= index < len(workers):
        raise ValueError(
            f"TF_CONFIG's task must be {{\"type\": \"worker\", \"index\": i}} with i in "
            f"[0, {len(workers)}) for its {len(workers)} worker(s). Received: task={task!r}")
    return config


_MIRRORED = {}


def mirrored_strategy(devices=None):
    """The process's `MirroredStrategy` over `devices` (None: all local GPUs).

    One strategy per device set per process: two MirroredStrategy objects
    over the same devices number their collective all-reduces from the same
    keys, and TensorFlow then mixes their tensors up ("Shape mismatch in
    the collective instance"). So a second request returns the first.
    """
    import tensorflow as tf

    key = tuple(devices) if devices is not None else None
    if key not in _MIRRORED:
        _MIRRORED[key] = tf.distribute.MirroredStrategy(devices)
    return _MIRRORED[key]


def get_strategy(name="default", cpu_devices=None):
    """Returns a `tf.distribute.Strategy` by name.

    Args:
        name: one of
            * `"default"`: the default (single-device) strategy;
            * `"mirrored"`: `MirroredStrategy` over all local GPUs, or over
              `cpu_devices` logical CPU devices when given;
            * `"multi-worker"`: `MultiWorkerMirroredStrategy`, configured by
              the `TF_CONFIG` environment variable (checked first);
            * `"tpu"`: `TPUStrategy` (`TPU_NAME` names a remote TPU);
            * `"data-parallel"`: `keras.distribution.DataParallel` over every
              device of the job (JAX backend; several hosts through
              `keras.distribution.initialize`, see `keras_distribution`),
              or over `cpu_devices` CPU devices when given;
            * `"auto"`, in this order: `TPUStrategy` if a TPU cluster
              resolver answers (see `_tpu_requested`),
              `MultiWorkerMirroredStrategy` if `TF_CONFIG` is set,
              `MirroredStrategy` if there is more than one GPU, else the
              default strategy. Off TensorFlow: data-parallel over several
              JAX devices (or hosts), else one device.
        cpu_devices: with `"mirrored"` or `"data-parallel"`, split the CPU into this many logical
            devices and mirror over them (how tests and CPU-only machines
            exercise real multi-replica code).

    Raises:
        ValueError: unknown `name`, `cpu_devices` with another strategy, a
            tf.distribute name off TensorFlow or "data-parallel" off JAX, or
            (multi-worker) a `TF_CONFIG` that does not parse or names this
            worker out of range.
        TPUNotFoundError: (a `ValueError`) "tpu", or "auto" where the
            environment names a TPU, and no TPU answers; one line.
    """
    check_choice("strategy", name, STRATEGIES)
    if cpu_devices is not None and name not in ("mirrored", "data-parallel"):
        raise ValueError(
            "Argument `cpu_devices` only applies to strategy='mirrored' or "
            f"'data-parallel'. Received: strategy={name!r}, cpu_devices={cpu_devices!r}"
        )
    if keras.backend.backend() != "tensorflow" or name == "data-parallel":
        return _keras_distribution(name, cpu_devices)
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = configure_cpu_devices(cpu_devices) if cpu_devices is not None else None
        return mirrored_strategy(devices)
    if name == "multi-worker":
        check_tf_config(os.environ.get("TF_CONFIG", ""))
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return _tpu_strategy()
    if _tpu_requested():
        return _tpu_strategy()
    if os.environ.get("TF_CONFIG"):
        return get_strategy("multi-worker")
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return mirrored_strategy()
    return tf.distribute.get_strategy()


def _keras_distribution(name, cpu_devices):
    """`get_strategy` off the TensorFlow backend: a `KerasDistribution`."""
    if name in _TF_ONLY:
        raise ValueError(
            f"Argument `strategy={name!r}` is a tf.distribute strategy: it needs the "
            f"TensorFlow backend, and the Keras backend is {keras.backend.backend()!r}. "
            "Use 'data-parallel' (keras.distribution, JAX), 'default' (one device) or "
            f"'auto'. Received: strategy={name!r}")
    if name == "data-parallel":
        return keras_distribution.data_parallel(cpu_devices)
    # multi-host first: listing devices would start JAX before initialize()
    if name == "auto" and keras.backend.backend() == "jax" and (
            keras_distribution.multi_host_requested()
            or len(keras.distribution.list_devices()) > 1):
        return keras_distribution.data_parallel()
    return keras_distribution.current()


def is_multi_worker(strategy):
    """True for strategies whose replicas span several worker processes."""
    if isinstance(strategy, KerasDistribution):
        return strategy.num_workers > 1
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def device_kind(strategy):
    """"tpu", "gpu" or "cpu": what the strategy's replicas run on."""
    if isinstance(strategy, KerasDistribution):
        return strategy.device_kind
    import tensorflow as tf

    if isinstance(strategy, (tf.distribute.TPUStrategy,)):
        return "tpu"
    try:
        devices = strategy.extended.worker_devices
    except RuntimeError:  # the default strategy: ops go to the first GPU, if any
        return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
    return "gpu" if any("GPU" in d.upper() for d in devices) else "cpu"


JIT_COMPILE = ("auto", True, False)


def compile_options(strategy, jit_compile="auto"):
    """`model.compile` keyword arguments that are safe under `strategy`.

    Args:
        strategy: the `tf.distribute.Strategy` or `KerasDistribution`.
        jit_compile: "auto" (Keras decides: XLA on one device; Keras 3.15
            turns "auto" off under every other tf.distribute strategy, and
            TPUs compile everything anyway; off for several replicas on CPU
            devices, where XLA fails), True (XLA, e.g. under MirroredStrategy
            on GPUs, not tested here; an error where it cannot work) or False.
            Under a `KerasDistribution` (JAX) "auto" is XLA, and False over
            several devices becomes True with a warning.

    Raises:
        ValueError: `jit_compile=True` with several replicas on CPU
            devices (XLA fails under a multi-device MirroredStrategy there).
    """
    check_choice("jit_compile", jit_compile, JIT_COMPILE)
    if isinstance(strategy, KerasDistribution):
        if jit_compile is False and strategy.num_replicas_in_sync > 1:
            # Op by op, every op over the mesh is its own program with its own
            # collectives; on JAX's host CPU devices they deadlock (measured with
            # ResNet-50 over 2 devices), and elsewhere they are slow.
            warnings.warn(
                "jit_compile=False is ignored under data-parallel over "
                f"{strategy.num_replicas_in_sync} devices: the train step runs as one XLA "
                "program (op-by-op execution runs one collective per op).", stacklevel=2)
            return {"jit_compile": True}
        return {"jit_compile": jit_compile}  # XLA runs every device count on JAX
    replicas = strategy.num_replicas_in_sync
    multi_cpu = replicas > 1 and device_kind(strategy) == "cpu"
    if jit_compile is True and multi_cpu:
        raise ValueError(
            "Argument `jit_compile=True` cannot work here: XLA fails under a "
            f"MirroredStrategy over {replicas} CPU devices (TF 2.21). Use "
            "jit_compile='auto' (XLA off here, on with one replica, GPUs and TPUs) "
            "or False. Received: jit_compile=True")
    if jit_compile == "auto":
        jit_compile = False if multi_cpu else "auto"
    return {"jit_compile": jit_compile}
