"""Plan, then run: `plan(config, strategy) -> Run`, every check made once.

```
global_batch_size      = config["schedule"]["batch_size"]
per_replica_batch_size = global_batch_size / runtime.num_replicas
micro_batches          = per_replica_batch_size / micro_batch_size   (k passes per update)
steps_per_epoch        = train examples // global_batch_size   (see training_length)
updates_before[e]      = e * steps_per_epoch                  (batch growth: the plan's sum;
                         schedule.updates = T: the last epoch ends at T, maybe partial)
```

A `Run` holds the resolved config, the engine (`distribute.runtime`), the
data source, the regime, the batch-growth plan, the durations, precision
and compile options. `build` and `fit` read from it; the command plans
every run before it trains any, so bad input fails before the first step.
"""

import dataclasses

import keras

from keras_bigbatch import data as data_lib
from keras_bigbatch import durations
from keras_bigbatch.distribute import batching
from keras_bigbatch.distribute.runtime import runtime_for
from keras_bigbatch.training import config as config_lib
from keras_bigbatch.training import own_model
from keras_bigbatch.training import registry


@dataclasses.dataclass(frozen=True)
class Run:
    """Everything a run needs, resolved and checked (`plan`).

    Attributes:
        config: the resolved run config.
        runtime: the engine it trains on (`distribute.runtime.Runtime`).
        source: its `DataSource` (validation split held out).
        regime: the schedule as a `Regime` (global batch).
        growth: the `BatchGrowthPlan`, or None without `batch_growth`.
        steps_per_epoch: full steps of every epoch (None under batch growth,
            whose epochs differ; see `epoch_steps`).
        epochs: epochs of the whole schedule.
        updates_before: updates before epoch e, for e = 0 .. epochs.
        per_replica_batch_size: the first global batch / replicas.
        micro_batch_size: rows per replica per pass, or None (the whole
            per-replica batch in one pass).
        precision: the Keras dtype policy name.
        compile_options: `model.compile` keyword arguments for the engine.
        model_arguments: the registered model's keyword arguments.
    """

    config: dict
    runtime: object
    source: object
    regime: object
    growth: object
    steps_per_epoch: object
    epochs: int
    updates_before: tuple
    per_replica_batch_size: int
    micro_batch_size: object
    precision: str
    compile_options: dict
    model_arguments: dict

    @property
    def name(self):
        return self.config["name"]

    @property
    def global_batch_size(self):
        return self.regime.batch_size

    @property
    def num_replicas(self):
        return self.runtime.num_replicas

    @property
    def evaluation_batch_size(self):
        """Global evaluation batch: `evaluation.batch_size` per replica."""
        return self.config["evaluation"]["batch_size"] * self.num_replicas

    def micro_batches(self, global_batch_size=None):
        """`k`: passes per update at `global_batch_size` (default: the first)."""
        if self.micro_batch_size is None:
            return 1
        batch = self.global_batch_size if global_batch_size is None else global_batch_size
        return batch // (self.num_replicas * self.micro_batch_size)

    def epoch_steps(self, epoch):
        """Full steps of `epoch`."""
        return self.updates_before[epoch + 1] - self.updates_before[epoch]

    def learning_rate_schedule(self):
        """The optimizer's rate over updates: the regime's, or the growth plan's."""
        examples = self.source.num_examples("train")
        if self.growth is not None:
            return self.growth.to_learning_rate_schedule(examples)
        return self.regime.to_schedule(examples)

    def describe(self, epochs=None):
        """The run's header line, for `epochs` of its schedule (default: all)."""
        epochs = self.epochs if epochs is None else epochs
        growth = (f"; {self.growth.describe(self.source.num_examples('train'))}"
                  if self.growth is not None else "")
        return (f"[{self.name}] {self.regime.describe()}{growth}; {self.num_replicas} "
                f"replica(s) x {self.per_replica_batch_size} = global batch "
                f"{self.global_batch_size}{self._describe_micro_batches()}; "
                f"{self.updates_before[epochs]} updates")

    def _describe_micro_batches(self):
        """`; micro batch m x k passes per update`, and what plain BN then normalizes."""
        if self.micro_batch_size is None:
            return ""
        text = f" in micro batches of {self.micro_batch_size} x {self.micro_batches()} passes"
        if self.growth is not None:
            last = max(self.growth.batch_size.boundaries.values())
            text += f" (up to {self.micro_batches(last)} as the batch grows)"
        if self.config["model"].get("normalization") == "batch":
            # tf.distribute: each replica's own micro batch; keras.distribution:
            # one program, whose micro batch spans every device
            per_replica = self.runtime.normalization("batch") == "sync_batch"
            rows = self.micro_batch_size * (1 if per_replica else self.num_replicas)
            text += (f"; batch normalization over each micro batch's {rows} rows"
                     f"{' per replica' if per_replica else ''} (ghost BN with ghost {rows})")
        return text


def plan(config, strategy=None, *, model=None, data=None):
    """Resolves and checks `config` for `strategy`; returns its `Run`.

    Args:
        config: a run config (partial dicts are completed from
            `config.DEFAULTS` and checked).
        strategy: a `tf.distribute.Strategy`, a `KerasDistribution` or a
            `Runtime`; default: the current one.
        model: your own model (a `keras.Model` or a function of the config
            making one) instead of the config's registered one: the config's
            `model` section is then yours (`{"name": the model's name, ...}`).
        data: your own `DataSource` (`kb.data.from_arrays`,
            `from_dataset_fn`, `from_generator`, or a subclass) instead of
            the config's registered source.

    Raises:
        ValueError: anything the run cannot do, named: unknown keys, a
            batch the replicas or ghost batches do not divide, a batch larger
            than the data, batch growth where the engine cannot grow the
            batch, a precision or `jit_compile` the devices cannot run, a
            `steps_per_execution` that does not divide an epoch.
    """
    config = config_lib.resolve(config, own=own_sections(model, data))
    runtime = runtime_for(strategy)
    growth = config_lib.batch_growth_plan(config)
    if growth is not None:
        runtime.check_supports("batch_growth")
    per_replica = check_batch_sizes(config, runtime.num_replicas, growth)
    check_micro_batch_size(config, runtime.num_replicas, growth,
                           syncs=runtime.normalization("batch") == "sync_batch")
    data = source(config, data)
    regime = config_lib.regime(config)
    steps_per_epoch, epochs, updates_before = _durations(data, regime, growth)
    _check_steps_per_execution(config["steps_per_execution"], updates_before)
    compile_options = runtime.compile_options(config["jit_compile"])
    _check_micro_batches_per_execution(config, runtime, compile_options)
    return Run(
        config=config, runtime=runtime, source=data, regime=regime, growth=growth,
        steps_per_epoch=steps_per_epoch, epochs=epochs, updates_before=updates_before,
        per_replica_batch_size=per_replica, micro_batch_size=config["micro_batch_size"],
        precision=runtime.precision(config["precision"]),
        compile_options=compile_options,
        model_arguments={} if model is not None else model_arguments(config, runtime))


def own_sections(model=None, data=None):
    """`{section: name}` of what the user supplies (see `config.resolve`'s `own`).

    Raises:
        ValueError: `data` is not a `DataSource`, or `model` neither a
            `keras.Model` nor a function.
    """
    own = {}
    if model is not None:
        if not (isinstance(model, keras.Model) or callable(model)):
            raise ValueError(
                "Argument `model` must be a keras.Model or a function config -> keras.Model. "
                f"Received: model of type {type(model).__name__}")
        own["model"] = own_model.label(model)
    if data is not None:
        if not isinstance(data, data_lib.DataSource):
            raise ValueError(
                "Argument `data` must be a keras_bigbatch.data.DataSource: wrap arrays with "
                "kb.data.from_arrays, a tf.data factory with kb.data.from_dataset_fn, a "
                "generator of numpy batches with kb.data.from_generator. "
                f"Received: data of type {type(data).__name__}")
        own["data"] = data.name
    return own


def source(config, data=None):
    """The config's `DataSource` (sources cache their arrays), or `data`, with
    its validation split held out when `evaluation.validation_examples` > 0."""
    held_out = config.get("evaluation", {}).get("validation_examples", 0)
    if data is not None:
        return data.hold_out(held_out) if held_out else data
    args = dict(config["data"])
    name = args.pop("source")
    try:
        data = data_lib.get_source(name, **args)
    except ModuleNotFoundError as error:
        if error.name not in ("tensorflow", "tensorflow_datasets"):
            raise
        raise ValueError(
            f"Data source {name!r} needs TensorFlow (it reads with tf.data), which is not "
            f"installed; the Keras backend is {keras.backend.backend()!r}. Off TensorFlow "
            "the trainer reads in-memory sources (fashion_mnist, digits) and synthetic. "
            f"Received: data.source={name!r}") from None
    return data.hold_out(held_out) if held_out else data


def check_batch_sizes(config, num_replicas, growth=None):
    """Validates global, per-replica and ghost batch sizes; returns per-replica.

    With a batch-growth plan every global batch of the plan is checked; the
    first one's per-replica batch is returned.

    Raises:
        ValueError: the replicas do not divide the global batch, or a ghost
            batch (`model.virtual_batch_size`) does not divide the per-replica
            batch. The message names the sizes and what would be valid.
    """
    batches = [config["schedule"]["batch_size"]]
    if growth is not None:
        batches = sorted(set(growth.batch_size.boundaries.values()))
    ghost = config["model"].get("virtual_batch_size")
    for global_batch in batches:
        per_replica = batching.per_replica_batch_size(global_batch, num_replicas)
        if config["model"].get("normalization") == "ghost" and ghost and per_replica % ghost:
            raise ValueError(
                f"Argument `model.virtual_batch_size` ({ghost}) must divide the "
                f"per-replica batch size ({per_replica} = global batch {global_batch} / "
                f"{num_replicas} replicas). Received: model.virtual_batch_size={ghost}"
            )
    return batches[0] // num_replicas


def _per_replica_batches(config, num_replicas, growth):
    batches = [config["schedule"]["batch_size"]]
    if growth is not None:
        batches = sorted(set(growth.batch_size.boundaries.values()))
    return [b // num_replicas for b in batches]


def check_micro_batch_size(config, num_replicas, growth=None, syncs=True):
    """Validates `micro_batch_size` against every per-replica batch and the ghosts.

    Raises:
        ValueError: it does not divide a per-replica batch (the message lists
            the micro batch sizes that divide them all), a ghost batch
            (`model.virtual_batch_size`) does not divide it, or the optimizer
            trains with its own train step (CBLR), or synchronized BN over
            several tf.distribute replicas (`syncs`: the engine rewrites
            "batch" to "sync_batch").
    """
    micro = config["micro_batch_size"]
    if micro is None:
        return
    batches = _per_replica_batches(config, num_replicas, growth)
    if any(b % micro for b in batches):
        valid = [d for d in range(1, min(batches) + 1) if all(b % d == 0 for b in batches)]
        raise ValueError(
            f"Argument `micro_batch_size` ({micro}) must divide the per-replica batch "
            f"{'sizes ' + str(batches) if len(batches) > 1 else f'size ({batches[0]})'} "
            f"(global / {num_replicas} replica(s)). Valid: {valid}. "
            f"Received: micro_batch_size={micro}")
    ghost = config["model"].get("virtual_batch_size")
    if config["model"].get("normalization") == "ghost" and ghost and micro % ghost:
        raise ValueError(
            f"Argument `model.virtual_batch_size` ({ghost}) must divide `micro_batch_size` "
            f"({micro}): a ghost batch may not straddle two micro-batches. Valid micro "
            f"batch sizes: {[d for d in range(ghost, min(batches) + 1, ghost) if all(b % d == 0 for b in batches)]}. "
            f"Received: model.virtual_batch_size={ghost}, micro_batch_size={micro}")
    if config["model"].get("normalization") == "sync_batch" and num_replicas > 1 and syncs:
        raise ValueError(
            "Argument `model.normalization` ('sync_batch') is not supported with "
            "`micro_batch_size` over several tf.distribute replicas: a cross-replica sync "
            "inside the loop over micro-batches is a merge_call TensorFlow cannot run. Valid: "
            "'batch' (each replica's micro batch normalized over its own rows) or 'ghost'. "
            f"Received: model.normalization='sync_batch', micro_batch_size={micro}")
    if registry.wraps_model(config["optimizer"]["name"]):
        raise ValueError(
            f"Argument `micro_batch_size` is not supported with optimizer "
            f"{config['optimizer']['name']!r}: it trains with its own train step (CBLR's "
            "Hessian-vector products over the whole batch). Received: "
            f"micro_batch_size={micro}, optimizer.name={config['optimizer']['name']!r}")


def choose_micro_batch_size(config, num_replicas, bound, growth=None):
    """The largest micro batch <= `bound` that every per-replica batch and the
    ghost size allow (`--max-micro-batch`); None when a whole per-replica
    batch fits (no micro-batching needed).

    Raises:
        ValueError: no micro batch <= `bound` is valid (names the smallest).
    """
    batches = _per_replica_batches(config, num_replicas, growth)
    if max(batches) <= bound:
        return None
    ghost = config["model"].get("virtual_batch_size")
    step = ghost if config["model"].get("normalization") == "ghost" and ghost else 1
    valid = [d for d in range(step, min(batches) + 1, step) if all(b % d == 0 for b in batches)]
    fitting = [d for d in valid if d <= bound]
    if not fitting:
        raise ValueError(
            f"No micro batch <= {bound} divides the per-replica batch sizes {batches}"
            f"{f' and is a multiple of the ghost size {ghost}' if step > 1 else ''}; the "
            f"smallest valid one is {valid[0]}. Received: --max-micro-batch {bound}")
    return fitting[-1]


def model_arguments(config, runtime):
    """The registered model's keyword arguments from `config["model"]`.

    Adds the run's `seed` where the model takes one, and the engine's
    normalization (`Runtime.normalization`): under several tf.distribute
    replicas `normalization="batch"` becomes `"sync_batch"`. Under
    keras.distribution the model is one program over the global batch,
    whose BN statistics are already global: "batch" stays.
    """
    args = {k: v for k, v in config["model"].items() if k != "name"}
    if "seed" in registry.model_arguments(config["model"]["name"]):
        args.setdefault("seed", config["seed"])
    if "normalization" in args and not (config["micro_batch_size"] and
                                        args["normalization"] == "batch"):
        args["normalization"] = runtime.normalization(args["normalization"])
    return args


def training_length(data, regime):
    """`(steps_per_epoch, epochs)` that `model.fit` runs for a regime.

    Whole epochs: `round(regime.epochs)` of them, e.g. regime adaptation's
    334.3 epochs train 334 (4676 of the schedule's 4680 updates). A regime
    shorter than one epoch trains exactly its `round(epochs * N // B)` steps
    as one shorter epoch. A regime with `updates` (T) trains exactly T:
    `ceil(T / steps_per_epoch)` epochs, the last one maybe partial (see
    `updates_before`).
    """
    steps_per_epoch = data.steps_per_epoch(regime.batch_size)
    if regime.updates is not None:
        _check_updates_against_epochs(data, regime, steps_per_epoch)
        return min(steps_per_epoch, regime.updates), -(-regime.updates // steps_per_epoch)
    total_steps = max(1, durations.epochs_to_steps(regime.epochs, steps_per_epoch))
    if total_steps < steps_per_epoch:
        return total_steps, 1
    return steps_per_epoch, max(1, round(total_steps / steps_per_epoch))


def _check_updates_against_epochs(data, regime, steps_per_epoch):
    """Refuses `schedule.updates` and `schedule.epochs` that name different
    lengths (by a whole epoch or more), e.g. a recipe's updates kept after
    `--set schedule.epochs=...` or another batch size."""
    length = (data.num_examples("train") / regime.batch_size if regime.convention == "mlperf"
              else steps_per_epoch)
    epochs = regime.updates / length
    if abs(epochs - regime.epochs) >= 1:
        raise ValueError(
            f"`schedule.updates`={regime.updates} is {epochs:.2f} epochs of {length:g} updates "
            f"at batch {regime.batch_size}, but `schedule.epochs`={regime.epochs:g}: give the "
            f"length once (schedule.updates=None to train {regime.epochs:g} epochs, or "
            f"schedule.updates={round(regime.epochs * length)})")


def updates_before(data, regime):
    """Updates before epoch e, e = 0 .. epochs (`training_length`): whole
    epochs of `steps_per_epoch`, and with `regime.updates` a last epoch
    that ends at exactly that many updates.

    Example: 2355 updates at 39 per epoch are 60 epochs of 39 and one of 15
    (Google's 32K MLPerf run: `--train_steps=2355`).
    """
    steps_per_epoch, epochs = training_length(data, regime)
    before = [e * steps_per_epoch for e in range(epochs + 1)]
    if regime.updates is not None:
        before[-1] = regime.updates
    return tuple(before)


def _durations(data, regime, growth):
    """`(steps_per_epoch, epochs, updates_before)`; batch growth checks its
    batch sizes against the data and counts its phases' steps."""
    if growth is None:
        steps_per_epoch, epochs = training_length(data, regime)
        return steps_per_epoch, epochs, updates_before(data, regime)
    data.check_batch_size_schedules()
    for batch in set(growth.batch_size.boundaries.values()):
        data.steps_per_epoch(batch)
    examples = data.num_examples("train")
    updates = tuple(growth.batch_size.total_steps(examples, e) for e in range(growth.epochs + 1))
    return None, growth.epochs, updates


def _check_micro_batches_per_execution(config, runtime, compile_options):
    """Refuses micro-batches under several steps per call in a TensorFlow graph
    without XLA: Grappler's add rewrite then gives the loop over passes, nested
    in Keras's loop over steps, one temporary variable twice
    (`AlreadyExistsError ... AddOpsRewrite ... tmp_var`, measured with
    ResNet-50). TPUs and `jit_compile=True` compile the step with XLA instead;
    and a micro-batched step is k passes, so one step per call costs little."""
    if (config["micro_batch_size"] is None or config["steps_per_execution"] == 1
            or runtime.backend != "tensorflow" or runtime.device_kind == "tpu"
            or compile_options.get("jit_compile") is True):
        return
    raise ValueError(
        f"Argument `steps_per_execution` ({config['steps_per_execution']}) > 1 with "
        "`micro_batch_size` needs XLA on TensorFlow (TensorFlow's graph optimizer breaks the "
        "loop over micro-batches inside Keras's loop over steps). Valid: steps_per_execution=1 "
        "(each step already runs k passes), or jit_compile=true on one device or a TPU. "
        f"Received: steps_per_execution={config['steps_per_execution']}, "
        f"jit_compile={config['jit_compile']!r}, micro_batch_size={config['micro_batch_size']}")


def _check_steps_per_execution(steps_per_execution, updates_before):
    """Raises unless `steps_per_execution` divides every epoch's steps (Keras
    would otherwise run past the epoch's end: more updates than the schedule's)."""
    if steps_per_execution == 1:
        return
    lengths = sorted({b - a for a, b in zip(updates_before, updates_before[1:])})
    if any(length % steps_per_execution for length in lengths):
        divisors = sorted(d for d in range(1, lengths[0] + 1)
                          if all(n % d == 0 for n in lengths))
        raise ValueError(
            f"Argument `steps_per_execution` ({steps_per_execution}) must divide the steps "
            f"of every epoch ({lengths}); Keras would run past an epoch's end. Valid: "
            f"{divisors}. Received: steps_per_execution={steps_per_execution}")
