"""The `Runtime` interface; see `distribute.runtime` (the seam) for what it is."""

import keras

# Features a run may need that not every engine has (`Runtime.supports`).
FEATURES = ("batch_growth",)


class Runtime:
    """The engine a run trains on; see the module docstring.

    Subclasses wrap one strategy object (`self.strategy`) and implement
    every method that raises `NotImplementedError` here.
    """

    def __init__(self, strategy):
        self.strategy = strategy

    @property
    def backend(self):
        """The Keras backend: "tensorflow", "jax" or "torch"."""
        return keras.backend.backend()

    @property
    def num_replicas(self):
        return int(self.strategy.num_replicas_in_sync)

    @property
    def is_multi_worker(self):
        return self.num_workers > 1

    def scope(self):
        """The scope variables are created in (`build`)."""
        return self.strategy.scope()

    @property
    def tf_distribute_strategy(self):
        """The `tf.distribute.Strategy` for tools that take one (Keras Tuner's
        `distribution_strategy`), or None where the engine is not tf.distribute."""
        return None

    # Engine-specific parts.
    num_workers = property(lambda self: _abstract(self, "num_workers"))
    worker_index = property(lambda self: _abstract(self, "worker_index"))
    device_kind = property(lambda self: _abstract(self, "device_kind"))

    def fit_scope(self):
        """The context `model.fit` runs in."""
        _abstract(self, "fit_scope")

    def prepare_fit(self):
        """Makes Keras's `fit` work on this engine (called once before it)."""

    def training_data(self, source, global_batch_size, seed, start_step):
        """What `model.fit` reads: global batch t of `source` at step t
        (from `start_step` on), this worker's share of it."""
        _abstract(self, "training_data")

    def scheduled_training_data(self, source, scheduler, seed):
        """Batches whose global size follows a `BatchSizeScheduler`."""
        self.check_supports("batch_growth")

    def evaluation_data(self, source, split, global_batch_size):
        """One ordered pass over `split` in global batches."""
        _abstract(self, "evaluation_data")

    def evaluator(self, model, global_batch_size):
        """`evaluate(evaluation_data(...)) -> accuracy` over every replica."""
        _abstract(self, "evaluator")

    def local_values(self, variable):
        """The components of `variable` this process holds (one per local
        replica under tf.distribute); each has `numpy()` and `assign()`."""
        return [variable]

    def is_replica_local(self, variable):
        """True when every replica keeps its own value of `variable` (a
        tf.distribute sync-on-read variable: metric totals, unsynchronized
        statistics); a checkpoint saves each worker's share of those."""
        return False

    def owns(self, variable):
        """Whether `variable` was created in this engine's scope (tf.distribute:
        mirrored over its replicas). keras.distribution lays variables out at
        creation, under the distribution in effect; True here."""
        return True

    def all_gather(self, values):
        """Small int vectors gathered over every participant: an int64 array
        `[participants, len(values)]`. Every worker calls it at the same point."""
        _abstract(self, "all_gather")

    def agree_any(self, flag):
        """`flag` OR-ed over every worker (the flag itself on one worker)."""
        if not self.is_multi_worker:
            return bool(flag)
        return bool(self.all_gather([bool(flag)]).max())

    def refusal(self, feature):
        """Why this engine cannot run `feature` (a sentence), or None."""
        if feature not in FEATURES:
            raise ValueError(f"Argument `feature` must be one of {FEATURES}. "
                             f"Received: feature={feature!r}")
        return None

    def supports(self, feature):
        return self.refusal(feature) is None

    def check_supports(self, feature):
        """Raises `ValueError` (the engine's reason) unless it supports `feature`."""
        reason = self.refusal(feature)
        if reason is not None:
            raise ValueError(reason)

    def normalization(self, normalization):
        """The normalization a model gets here for the config's `normalization`."""
        return normalization

    def precision(self, precision):
        """The Keras dtype policy for `precision` ("auto": per device)."""
        from keras_bigbatch.distribute.precision import resolve_precision

        return resolve_precision(precision, self.strategy)

    def compile_options(self, jit_compile):
        """`model.compile` keyword arguments safe on this engine."""
        from keras_bigbatch.distribute.strategy import compile_options

        return compile_options(self.strategy, jit_compile)

    def __repr__(self):
        return f"{type(self).__name__}({self.strategy!r})"


def _abstract(runtime, name):
    raise NotImplementedError(f"{type(runtime).__name__} does not implement `{name}`.")
