"""Run configs: sectioned dicts, their defaults, overrides and checks.

A run config has a few top-level keys and one section per concern:

```
name        the run's label (a row of the results table)
seed        seeds weights, data order and dropout
precision   "float32", "mixed_float16", "mixed_bfloat16" or "auto" (bfloat16 on
            TPUs, float16 on GPUs, float32 on CPUs; see distribute.precision)
jit_compile "auto" (XLA where it works), true or false
steps_per_execution  training steps per compiled call (1; e.g. 32 on TPUs)
micro_batch_size  rows per replica per forward/backward pass (None: the whole
            per-replica batch). A step of global batch B on R replicas runs
            k = B / (R * micro_batch_size) passes and applies one update
            (keras_bigbatch.micro_batching); everything counts updates
metrics     Keras metric names compiled into the model (["accuracy"]; e.g.
            "sparse_top_k_categorical_accuracy"); logged per epoch
data        {"source": registered data source, **its arguments}; with your
            own source (`train(config, data=...)`): {"source": its name}
model       {"name": registered model, **its arguments}; with your own model
            (`train(config, model=...)`): {"name": its name, **anything
            your model function reads from config["model"]}
optimizer   {"name": Keras or registered optimizer, **its arguments}
schedule    keras_bigbatch.schedules.Regime arguments; batch_size is GLOBAL
loss        {"name": registered loss, **its arguments}
evaluation  how often and how to measure (see DEFAULTS)
batch_growth  {"enabled": bool, "max_batch_size": int or None}: run the
            schedule's step decay as Smith et al.'s "increase the batch size"
            (`plan_batch_growth`; hybrid above max_batch_size), in one fit
checkpoint  {"every_steps", "every_seconds", "keep"}: how often the command's
            runs save a checkpoint to resume from (see keras_bigbatch.checkpoint)
```

`resolve(config)` fills in `DEFAULTS`, checks every key against what it
configures (a data source's, model's, optimizer's or loss's own arguments,
`Regime`'s), and builds nothing. Dotted keys (`"schedule.batch_size"`)
address one entry; `parse_override` turns `--set key=value` text into a
value of the type the key already has.
"""

import ast
import copy
import inspect

from keras_bigbatch.arguments import check_bool
from keras_bigbatch.arguments import check_choice
from keras_bigbatch.arguments import check_non_negative_int
from keras_bigbatch.arguments import check_positive_int
from keras_bigbatch.distribute.precision import PRECISIONS
from keras_bigbatch.distribute.strategy import JIT_COMPILE
from keras_bigbatch.schedules import Regime

SECTIONS = ("data", "model", "optimizer", "schedule", "loss", "evaluation", "batch_growth",
            "checkpoint")
# The entry that names what a section configures; a section dict that names
# another one replaces the section instead of updating it.
_IDENTITY = {"data": "source", "model": "name", "optimizer": "name", "loss": "name"}

DEFAULTS = {
    "name": "run",
    "seed": 0,
    "precision": "float32",
    "jit_compile": "auto",
    "steps_per_execution": 1,
    "micro_batch_size": None,
    "metrics": ["accuracy"],
    "data": {"source": "fashion_mnist"},
    "model": {"name": "mlp"},
    "optimizer": {"name": "sgd", "momentum": 0.9},
    "schedule": {"batch_size": 128, "epochs": 10, "learning_rate": 0.1},
    "loss": {"name": "sparse_categorical_crossentropy"},
    "evaluation": {
        # test accuracy is measured this many times, spread over the epochs (>= 1)
        "evaluations": 10,
        # per-replica batch of the evaluation passes
        "batch_size": 1000,
        # points of the log-spaced ||w_t - w_0|| record (0 = not recorded)
        "distance_points": 0,
        # also measure accuracy on the whole training set at the end
        "train_accuracy": True,
        # measure accuracy on the test split (off for tuner trials, which must
        # not see the test set)
        "test_accuracy": True,
        # hold out this many training examples (a fixed draw, the same for every
        # seed) as the validation split; its accuracy is logged as
        # `val_accuracy` whenever test accuracy is (0 = no validation split)
        "validation_examples": 0,
    },
    "batch_growth": {
        # grow the global batch by 1/decay at each schedule boundary instead of
        # decaying the learning rate (Smith, Kindermans & Le 2018)
        "enabled": False,
        # the largest global batch; past it the learning rate decays (hybrid).
        # None: the batch grows at every boundary
        "max_batch_size": None,
    },
    "checkpoint": {
        # save after every N-th update (None: by time only)
        "every_steps": None,
        # save when this many seconds passed since the last save (None: by steps
        # only; both None: only the finished run's checkpoint and SIGTERM's)
        "every_seconds": 300,
        # complete checkpoints kept (older ones are removed)
        "keep": 3,
    },
}
_TOP_LEVEL = ("name", "seed", "precision", "jit_compile", "steps_per_execution",
              "micro_batch_size", "metrics")
# Keras's own names that `compile(metrics=...)` resolves itself.
_COMPILE_METRICS = ("accuracy", "acc", "crossentropy", "ce")


def _schedule_arguments():
    return {p.name: p.default for p in inspect.signature(Regime).parameters.values()}


def valid_keys(config, section):
    """{key: default} that `section` of `config` accepts."""
    from keras_bigbatch import data
    from keras_bigbatch.training import registry

    entries = config.get(section, {})
    if section == "data":
        return {"source": None, **data.source_arguments(entries.get("source"))}
    if section == "model":
        return {"name": None, **registry.model_arguments(entries.get("name"))}
    if section == "optimizer":
        arguments = registry.optimizer_arguments(entries.get("name"))
        arguments.pop("learning_rate")  # always from `schedule`
        return {"name": None, **arguments}
    if section == "loss":
        return {"name": None, **registry.loss_arguments(entries.get("name"))}
    if section == "schedule":
        return _schedule_arguments()
    return dict(DEFAULTS[section])


def merge(base, changes):
    """A deep copy of `base` with `changes` applied.

    `changes` may hold whole sections and dotted keys
    (`"model.virtual_batch_size"`), applied in order. A section is merged
    key by key, unless it (or a dotted key such as `"optimizer.name"`)
    names another data source, model, optimizer or loss than the one in
    `base`: then it replaces the section (another optimizer takes other
    arguments).
    """
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if "." in key:
            section, entry = key.split(".", 1)
            if section not in SECTIONS:
                raise ValueError(
                    f"Unknown config key {key!r}: a dotted key starts with one of "
                    f"the sections {SECTIONS}."
                )
            current = merged.get(section, {})
            if entry == _IDENTITY.get(section) and value != current.get(entry):
                merged[section] = {}  # another optimizer takes other arguments
            merged.setdefault(section, {})[entry] = copy.deepcopy(value)
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ValueError(f"Config section {key!r} must be a dict. Received: {key}={value!r}")
            identity = _IDENTITY.get(key)
            current = merged.get(key, {})
            if identity in value and value[identity] != current.get(identity):
                merged[key] = {}
            merged.setdefault(key, {}).update(copy.deepcopy(value))
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve(config, own=None):
    """`config` on top of `DEFAULTS`, every key checked; returns a new dict.

    Args:
        config: the run config.
        own: `{section: name}` of the sections a user's object supplies
            (`{"model": "my_cnn", "data": "my_data"}`, from
            `training.train(config, model=..., data=...)`): the section's
            identity becomes that name, and its other keys are the user's,
            not checked against a registry.

    Raises:
        ValueError: an unknown top-level key, section entry, data source,
            model, optimizer or loss, or a bad value (the message names it
            and lists what is valid).
    """
    unknown = sorted(k for k in config if k not in _TOP_LEVEL + SECTIONS
                     and k.split(".", 1)[0] not in SECTIONS)  # dotted keys: see merge
    if unknown:
        raise ValueError(
            f"Unknown config key(s) {unknown}; valid top-level keys are "
            f"{sorted(_TOP_LEVEL + SECTIONS)}."
        )
    resolved = merge(DEFAULTS, config)
    given = merge({}, config)  # the user's own sections, dotted keys applied
    for section, name in (own or {}).items():
        entries = {k: v for k, v in given.get(section, {}).items() if k != _IDENTITY[section]}
        resolved[section] = {_IDENTITY[section]: name, **entries}
    for section in SECTIONS:
        if section in (own or {}):
            continue
        valid = valid_keys(resolved, section)
        unknown = sorted(set(resolved[section]) - set(valid))
        if unknown:
            hint = (" The learning rate comes from `schedule` (schedule.learning_rate)."
                    if section == "optimizer" and "learning_rate" in unknown else "")
            raise ValueError(
                f"Unknown key(s) {[f'{section}.{k}' for k in unknown]}; "
                f"`{section}` accepts {sorted(valid)}.{hint}"
            )
    check_non_negative_int("seed", resolved["seed"])
    check_choice("precision", resolved["precision"], PRECISIONS)
    jit = resolved["jit_compile"]
    if isinstance(jit, str) and jit.lower() in _TRUE + _FALSE:
        resolved["jit_compile"] = jit = jit.lower() in _TRUE
    check_choice("jit_compile", jit, JIT_COMPILE)
    check_positive_int("steps_per_execution", resolved["steps_per_execution"])
    if resolved["micro_batch_size"] is not None:
        check_positive_int("micro_batch_size", resolved["micro_batch_size"])
    _refuse_keras_accumulation(resolved["optimizer"])
    check_metrics(resolved["metrics"])
    name = resolved["name"]
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name:
        raise ValueError(
            "Argument `name` must be a non-empty string without '/' or '\\' and not "
            f"'.' or '..' (it names the run's output folder). Received: name={name!r}"
        )
    regime(resolved)  # Regime checks its own arguments
    evaluation = resolved["evaluation"]
    check_positive_int("evaluation.evaluations", evaluation["evaluations"])
    check_positive_int("evaluation.batch_size", evaluation["batch_size"])
    check_non_negative_int("evaluation.distance_points", evaluation["distance_points"])
    check_bool("evaluation.train_accuracy", evaluation["train_accuracy"])
    check_bool("evaluation.test_accuracy", evaluation["test_accuracy"])
    check_non_negative_int("evaluation.validation_examples", evaluation["validation_examples"])
    growth = resolved["batch_growth"]
    check_bool("batch_growth.enabled", growth["enabled"])
    if growth["max_batch_size"] is not None:
        check_positive_int("batch_growth.max_batch_size", growth["max_batch_size"])
    if growth["enabled"]:
        batch_growth_plan(resolved)  # plan_batch_growth checks the regime
    checkpoint = resolved["checkpoint"]
    if checkpoint["every_steps"] is not None:
        check_positive_int("checkpoint.every_steps", checkpoint["every_steps"])
    seconds = checkpoint["every_seconds"]
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not seconds > 0):
        raise ValueError("Argument `checkpoint.every_seconds` must be a number > 0 or None. "
                         f"Received: checkpoint.every_seconds={seconds!r}")
    check_positive_int("checkpoint.keep", checkpoint["keep"])
    return resolved


def check_metrics(metrics):
    """Raises unless `metrics` is a list of metric names Keras knows.

    Raises:
        ValueError: not a list of strings, or a name `keras.metrics.get`
            does not know (the message lists Keras's names).
    """
    import keras

    if (not isinstance(metrics, (list, tuple))
            or not all(isinstance(m, str) and m for m in metrics)):
        raise ValueError("Argument `metrics` must be a list of Keras metric names, e.g. "
                         f"['accuracy']. Received: metrics={metrics!r}")
    for metric in metrics:
        if metric in _COMPILE_METRICS:
            continue
        try:
            keras.metrics.get(metric)
        except ValueError:
            known = sorted(n for n, f in vars(keras.metrics).items() if n.islower()
                           and callable(f) and not n.startswith("_")
                           and n not in ("get", "serialize", "deserialize"))
            raise ValueError(
                f"Argument `metrics` names {metric!r}, which Keras does not know. Valid: "
                f"{', '.join(_COMPILE_METRICS[:1] + tuple(known))}. "
                f"Received: metrics={list(metrics)!r}") from None


def _refuse_keras_accumulation(optimizer):
    """Keras's `gradient_accumulation_steps` makes each micro-step a Keras step:
    the schedule, the BN statistics and the reports would count micro-steps."""
    steps = optimizer.get("gradient_accumulation_steps")
    if steps is not None:
        raise ValueError(
            "Argument `optimizer.gradient_accumulation_steps` is not supported: Keras's "
            "accumulation feeds the learning-rate schedule micro-steps, updates batch "
            "normalization on every micro-step and fails under MirroredStrategy. Use "
            "`micro_batch_size` instead (--set micro_batch_size=N: N rows per replica per "
            "pass, one update per global batch). Received: "
            f"optimizer.gradient_accumulation_steps={steps!r}")


def batch_growth_plan(config):
    """The config's `BatchGrowthPlan`, or None when batch growth is off."""
    from keras_bigbatch.schedules import plan_batch_growth

    growth = config["batch_growth"]
    if not growth["enabled"]:
        return None
    return plan_batch_growth(regime(config), growth["max_batch_size"])


def regime(config):
    """The config's schedule as a `Regime` (batch_size is the global batch)."""
    schedule = dict(config["schedule"])
    if "boundaries" in schedule:
        schedule["boundaries"] = tuple(schedule["boundaries"])
    return Regime(**schedule)


_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def parse_override(key, text, current, *, bools=False):
    """`--set key=text` as a value of the type `current` (the value it replaces).

    bool: true/false/yes/no/1/0; int or float: a number (the option's own
    check then rejects, e.g., a fractional count) or `None`; tuple/list:
    comma-separated numbers or a Python literal; None or str: a Python
    literal if `text` is one (`3`, `0.5`, `None`, `(6, 8)`), else the text;
    with `bools=True` (`--knob`, which has no type to go by) None also reads
    true/false as bools.

    Raises:
        ValueError: `text` is not of the key's type (names key and type).
    """
    def fail(kind, example):
        raise ValueError(
            f"--set {key}={text}: expected {kind}, e.g. --set {key}={example}."
        ) from None

    if isinstance(current, bool):
        lowered = text.strip().lower()
        if lowered in _TRUE + _FALSE:
            return lowered in _TRUE
        fail("true or false", "true")
    if isinstance(current, (int, float)) and text.strip() == "None":
        return None  # numeric options that take None (virtual_batch_size, ...)
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            pass  # a float where an int stood (epochs=1.5): the consumer decides
    if isinstance(current, (int, float)):
        try:
            return float(text)
        except ValueError:
            fail("a number", 0.1)
    if isinstance(current, (tuple, list)) and current and all(
            isinstance(v, str) for v in current):  # metrics=accuracy,top_k...
        return type(current)(v.strip() for v in text.split(",") if v.strip())
    if isinstance(current, (tuple, list)):
        try:
            value = ast.literal_eval(text if text.strip() else "()")
        except (ValueError, SyntaxError):
            fail("a comma-separated list", "6,8")
        if isinstance(value, (int, float)):
            value = (value,)
        if not isinstance(value, (tuple, list)):
            fail("a comma-separated list", "6,8")
        return type(current)(value)
    if bools and current is None and text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def lookup(config, key):
    """The value at dotted `key` of a resolved config, or the key's default.

    Raises `KeyError` if the key is not valid for the config.
    """
    if "." not in key:
        if key not in _TOP_LEVEL or key == "name":  # a run's name is the recipe's
            raise KeyError(key)
        return config[key]
    section, entry = key.split(".", 1)
    if section not in SECTIONS:
        raise KeyError(key)
    if entry in config[section]:
        return config[section][entry]
    valid = valid_keys(config, section)
    if entry not in valid:
        raise KeyError(key)
    default = valid[entry]
    return None if default is inspect.Parameter.empty else default
