"""Makes Keras's own `model.fit` work under `MultiWorkerMirroredStrategy`.

Keras 3's TensorFlow trainer (checked: Keras 3.10.0 and 3.15.1, TF 2.21)
fails in two places when several worker processes share one
`tf.distribute.MultiWorkerMirroredStrategy` (keras-team/keras#20585):

1. `reduce_per_replica(logs, strategy, "auto")`, which every train and test
   step calls on its logs, turns "auto" into "mean" and, for a multi-worker
   strategy, calls `strategy.reduce("MEAN", v, axis=0)`. The logs (`loss`
   and the metric results) are scalars, which have no axis 0, so tracing the
   step fails.
2. `TensorFlowTrainer._maybe_symbolic_build`, run by `fit` and `evaluate`
   for a model created under a strategy scope, averages a whole `(x, y)`
   batch with one `strategy.reduce("MEAN", batch, axis=None)`; the
   multi-worker strategy reduces single values, not nested structures, so
   `fit` fails before its first step.

`enable_multi_worker_fit()` wraps both, changing only those two failing
cases and delegating every other call to Keras's original unchanged:

1. a scalar log is reduced with `axis=None`: its mean over every replica of
   every worker (an all-reduce each step);
2. the build batch is the first local replica's batch. The build reads only
   its shapes and dtypes, which are the per-replica ones the reduce would
   have returned.

Why the result is right: nothing touches the gradient arithmetic. A compiled
Keras `Loss` already multiplies each replica's mean loss by
`1 / num_replicas_in_sync`, so the optimizer's cross-replica sum of
gradients is the gradient of the mean loss over the global batch, as on one
device. Within a step each replica's logs are running means over its own
examples; their mean over replicas is the global mean when every replica
gets equally many examples. At the end of an epoch (and of `evaluate`) Keras
re-reads the metrics in cross-replica context, summing totals and counts
over all workers, which is exact for any split.

TensorFlow only; this is the one module of the package that touches
`keras.src`, and it raises `RuntimeError` if those internals are missing.
"""

import keras

_MARK = "_keras_bigbatch_multi_worker_fit"


def _trainer_module():
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError as error:
        raise RuntimeError(
            "enable_multi_worker_fit could not import Keras's TensorFlow "
            f"trainer (keras {keras.version()}); its internals changed."
        ) from error
    names = ("reduce_per_replica", "_collective_all_reduce_multi_worker")
    cls = getattr(trainer, "TensorFlowTrainer", None)
    if not all(hasattr(trainer, n) for n in names) or not hasattr(cls, "_maybe_symbolic_build"):
        raise RuntimeError(
            "enable_multi_worker_fit patches keras.src.backend.tensorflow."
            "trainer.reduce_per_replica and TensorFlowTrainer."
            f"_maybe_symbolic_build, which keras {keras.version()} lacks; "
            "check whether keras-team/keras#20585 is fixed there."
        )
    return trainer


def enable_multi_worker_fit():
    """Lets `model.fit`/`evaluate` run under `MultiWorkerMirroredStrategy`.

    Installs the two wrappers described in the module docstring into Keras's
    TensorFlow trainer, for the whole process. Idempotent; call it before
    the first `fit` (a model's step functions are traced once). Outside a
    multi-worker strategy Keras's behaviour is unchanged.

    Returns:
        True if this call installed the fix, False if it was already
        installed.

    Raises:
        RuntimeError: the Keras backend is not TensorFlow, or Keras's
            internals are not the ones this fix wraps.

    Example:

        >>> first = enable_multi_worker_fit()  # True if this call installed it
        >>> enable_multi_worker_fit()          # installed already: nothing to do
        False
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "enable_multi_worker_fit needs the TensorFlow backend. "
            f"Received: backend={keras.backend.backend()!r}"
        )
    trainer = _trainer_module()
    if getattr(trainer.reduce_per_replica, _MARK, False):
        return False
    trainer.reduce_per_replica = _wrap_reduce(trainer)
    cls = trainer.TensorFlowTrainer
    cls._maybe_symbolic_build = _wrap_build(trainer, cls._maybe_symbolic_build)
    return True


def _wrap_reduce(trainer):
    import tensorflow as tf

    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        multi_worker = trainer._collective_all_reduce_multi_worker(strategy)
        if reduction not in ("auto", "mean") or not multi_worker:
            return original(values, strategy, reduction)

        def reduce(value):
            # A PerReplica (several local replicas) has no shape; its parts do.
            local = strategy.experimental_local_results(value)[0]
            if isinstance(local, tf.Tensor) and local.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original(value, strategy, reduction)

        return tf.nest.map_structure(reduce, values)

    setattr(reduce_per_replica, _MARK, True)
    reduce_per_replica.__wrapped__ = original
    return reduce_per_replica


def _wrap_build(trainer, original):
    import tensorflow as tf

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if (
            iterator is None
            or strategy is None
            or not trainer._collective_all_reduce_multi_worker(strategy)
        ):
            return original(self, iterator=iterator, data_batch=data_batch)
        for *_, batches in iterator:  # (step, batches) before Keras 3.11, then (begin, end, batches)
            data_batch = tf.nest.map_structure(
                lambda v: strategy.experimental_local_results(v)[0],
                next(batches),
            )
            break
        return original(self, data_batch=data_batch)

    setattr(_maybe_symbolic_build, _MARK, True)
    _maybe_symbolic_build.__wrapped__ = original
    return _maybe_symbolic_build
