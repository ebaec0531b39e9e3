"""`SearchSpace`: the seeds' large-batch knobs as Keras Tuner hyperparameters.

```
knob                 default                                   hyperparameter
batch_size           the run's global batch (fixed)            Choice (global batch)
learning_rate_rule   linear (fixed); linear|sqrt when batch     Choice
                     sizes vary
base_learning_rate   per optimizer, per 256 examples:          Float, log scale
                     sgd [0.01, 1], lars [0.05, 5],
                     mclr [2e-5, 2e-3], percent_delta [6e-4, 6e-2]
warmup_epochs        {0, 0.1, 0.2, 0.3} x the run's epochs      Choice (or Float range)
optimizer            sgd | lars | mclr | percent_delta          Choice
trust_coefficient    [1e-4, 1e-2] (LARS only)                   Float, log scale
weight_decay         [1e-5, 1e-3]                               Float, log scale
ghost_batch_size     0 (plain BN) or a power of two >= 16 that  Choice (left out for a
                     divides every per-replica batch            model without it, below)
regime_adaptation    false (fixed)                              Choice (bool)

learning_rate = scale_learning_rate(base_learning_rate, reference_batch_size,
                                    batch_size, learning_rate_rule)
regime_adaptation false: the run's epochs at every batch (a budget of epochs)
regime_adaptation true:  as many updates as reference_batch_size would make
                         in the run's epochs (Regime.adapt: a budget of updates)
```

`ghost_batch_size` is the one knob that sets model arguments
(`MODEL_KNOBS`): `model.virtual_batch_size` (g, or None for 0), and
`model.normalization` ("ghost", or "batch" for 0) where the model takes it.
It applies to any registered model, the user's own included, whose factory
takes `virtual_batch_size` (`training.registry.model_arguments`) and, if it
takes `normalization` too, whose run normalization (the config's, else the
factory's default) is "batch" or "ghost"; a model without `normalization`
must read `virtual_batch_size=None` as plain batch normalization. Where it
cannot apply, the knob given explicitly (`SearchSpace(ghost_batch_size=...)`,
`--knob`) is refused with what the model lacks; left to its default, it is
left out of the space (not declared, not in `get_config`) and the model's
arguments are the run's.

Each knob is fixed by a single value, narrowed to choices by a list, or
(the Float knobs: the base rates, trust_coefficient, weight_decay,
warmup_epochs) to a range by a `(low, high)` tuple. With several optimizers
each one gets its own base-rate hyperparameter and knob
(`base_learning_rate_lars`, ...), active only when it is chosen (a
conditional scope), because their scales differ by orders of magnitude;
`base_learning_rate` then is refused (it would give them one range). With
one optimizer either name works. When the optimizer changes from the run's,
the run's optimizer settings that the new one also takes (momentum,
nesterov, clipping, masks) carry over.

References:
    Hoffer, Hubara & Soudry 2017, sections 4-5 (sqrt scaling, ghost batch
    normalization, regime adaptation); You, Gitman & Ginsburg 2017,
    arXiv:1708.03888 (LARS, linear scaling with warm-up); Gao & Zhong,
    "Towards understanding and improving large batch training", eqs. 20-22
    (MCLR); Abu-El-Haija 2017, arXiv:1708.07227 (PercentDelta).
"""

import copy

from keras_bigbatch.schedules import scale_learning_rate
from keras_bigbatch.schedules.scaling import RULES
from keras_bigbatch.training import config as config_lib
from keras_bigbatch.training import registry

OPTIMIZERS = ("sgd", "lars", "mclr", "percent_delta")
BASE_LEARNING_RATES = {  # per 256 examples, around each optimizer's known-good rate
    "sgd": (0.01, 1.0), "lars": (0.05, 5.0), "mclr": (2e-5, 2e-3), "percent_delta": (6e-4, 6e-2),
}
KNOBS = ("batch_size", "learning_rate_rule", "base_learning_rate", "warmup_epochs", "optimizer",
         "trust_coefficient", "weight_decay", "ghost_batch_size", "regime_adaptation",
         *(f"base_learning_rate_{name}" for name in OPTIMIZERS))
_RATE_KNOBS = ("base_learning_rate", *(f"base_learning_rate_{name}" for name in OPTIMIZERS))
_FLOAT_KNOBS = (*_RATE_KNOBS, "trust_coefficient", "weight_decay", "warmup_epochs")
_LOG_KNOBS = (*_RATE_KNOBS, "trust_coefficient", "weight_decay")
_SMALLEST_GHOST = 16
# The knobs that set model arguments: {knob: the argument the model must take}
# (see the module docstring).
MODEL_KNOBS = {"ghost_batch_size": "virtual_batch_size"}
_GHOST_NORMALIZATIONS = ("batch", "ghost")


class _Knob:
    """A fixed value, a list of choices, or a `(low, high)` range."""

    def __init__(self, name, spec):
        self.name = name
        if isinstance(spec, list) or (isinstance(spec, tuple) and name not in _FLOAT_KNOBS):
            if not spec:
                raise ValueError(f"Knob `{name}` has no value to choose from. Received: {spec!r}")
            self.kind, self.values = "choice", list(dict.fromkeys(spec))
            if len(self.values) == 1:
                self.kind = "fixed"
        elif isinstance(spec, tuple):
            lowest = "0 < low" if name in _LOG_KNOBS else "0 <= low"  # log scales exclude 0
            if (len(spec) != 2 or not all(_is_number(v) for v in spec) or not spec[0] <= spec[1]
                    or spec[0] < 0 or (spec[0] == 0 and name in _LOG_KNOBS)):
                raise ValueError(f"Knob `{name}` range must be (low, high) with {lowest} <= high. "
                                 f"Received: {name}={spec!r}")
            self.kind, self.values = "range", [float(spec[0]), float(spec[1])]
            if spec[0] == spec[1]:
                self.kind, self.values = "fixed", [float(spec[0])]
        else:
            self.kind, self.values = "fixed", [spec]

    def check(self, valid, what):
        """Raises unless every value passes `valid(value)`; `what` says what is valid."""
        bad = [v for v in self.values if not valid(v)]
        if bad:
            raise ValueError(f"Knob `{self.name}` holds invalid value(s) {bad}: {what}. "
                             f"Received: {self.name}={self.spec()!r}")

    def spec(self):
        if self.kind == "fixed":
            return self.values[0]
        return tuple(self.values) if self.kind == "range" else list(self.values)

    def declare(self, hp, name=None, log=False):
        name = name or self.name
        if self.kind == "fixed":
            return hp.Fixed(name, self.values[0])
        if self.kind == "range":
            return hp.Float(name, self.values[0], self.values[1],
                            sampling="log" if log else "linear")
        return hp.Choice(name, self.values)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class SearchSpace:
    """The knobs of a large-batch search over one run config (see the module docstring).

    Args:
        config: the run config (resolved here) whose model, data and schedule
            shape every trial.
        num_replicas: replicas in sync; every global batch must divide
            among them, every ghost batch must divide the per-replica batch.
        reference_batch_size: the batch the base learning rate is given
            for, and regime adaptation's small batch. Default 256.
        **knobs: values for the knobs in `KNOBS`: a value fixes a knob, a
            list narrows it to choices, a `(low, high)` tuple to a range.

    Raises:
        ValueError: an unknown knob, a knob whose values include one the
            run cannot train, or a model knob given for a model that does not
            take its argument (the message names it and what is valid).

    Example:

        >>> config = {"data": {"source": "digits"},
        ...           "model": {"name": "mlp", "normalization": "batch"},
        ...           "schedule": {"batch_size": 512, "epochs": 10}}
        >>> space = SearchSpace(config, optimizer="lars", base_learning_rate=(0.1, 2.0))
        >>> space.get_config()["base_learning_rate_lars"], space.get_config()["optimizer"]
        ((0.1, 2.0), 'lars')
        >>> SearchSpace(config, num_replicas=2, ghost_batch_size=[48])   # batch 512
        Traceback (most recent call last):
        ValueError: Knob `ghost_batch_size` holds invalid value(s) [48]: a ghost batch must
        divide every per-replica batch [256] ...
    """

    def __init__(self, config, num_replicas=1, reference_batch_size=256, **knobs):
        self.config = config_lib.resolve(config)
        self.num_replicas = num_replicas
        self.reference_batch_size = reference_batch_size
        unknown = sorted(set(knobs) - set(KNOBS))
        if unknown:
            raise ValueError(f"Unknown knob(s) {unknown}; the knobs are {list(KNOBS)}.")
        self._check_model_knobs(knobs)
        self.knobs = {name: _Knob(name, spec) for name, spec in self._defaults(knobs).items()}
        self._check()

    def _check_model_knobs(self, given):
        """Raises for a model knob given explicitly that cannot apply to the run's model."""
        if "ghost_batch_size" not in given:
            return
        reason = self._ghost_refusal()
        if reason is not None:
            raise ValueError(f"Knob `ghost_batch_size` {reason}. Received: ghost_batch_size="
                             f"{given['ghost_batch_size']!r}")

    def _defaults(self, given):
        run = self.config
        schedule = run["schedule"]
        epochs = schedule["epochs"]
        batch = given.get("batch_size", schedule["batch_size"])
        several_batches = isinstance(batch, (list, tuple)) and len(set(batch)) > 1
        defaults = {
            "batch_size": schedule["batch_size"],
            "learning_rate_rule": ["linear", "sqrt"] if several_batches else "linear",
            "warmup_epochs": sorted({round(f * epochs, 3) for f in (0.0, 0.1, 0.2, 0.3)}),
            "optimizer": list(OPTIMIZERS),
            "trust_coefficient": (1e-4, 1e-2),
            "weight_decay": (1e-5, 1e-3),
            "ghost_batch_size": None,  # from the per-replica batches, below; or left out
            "regime_adaptation": False,
        }
        defaults.update({k: v for k, v in given.items() if k not in _RATE_KNOBS})
        optimizers = defaults["optimizer"]
        optimizers = list(optimizers) if isinstance(optimizers, (list, tuple)) else [optimizers]
        given_rates = {k: v for k, v in given.items() if k in _RATE_KNOBS}
        if "base_learning_rate" in given_rates and len(set(optimizers)) > 1:
            raise ValueError(
                "Knob `base_learning_rate` would give every optimizer one range, but their "
                "scales differ by orders of magnitude: with several optimizers give "
                + ", ".join(f"base_learning_rate_{o}" for o in dict.fromkeys(optimizers))
                + f" instead. Received: base_learning_rate={given_rates['base_learning_rate']!r}")
        for name in _RATE_KNOBS[1:]:
            optimizer = name[len("base_learning_rate_"):]
            if name in given_rates and optimizer not in optimizers:
                raise ValueError(f"Knob `{name}` is for the optimizer {optimizer!r}, which the "
                                 f"search does not try ({optimizers}). Received: {name}="
                                 f"{given_rates[name]!r}")
        for optimizer in dict.fromkeys(optimizers):
            if optimizer in BASE_LEARNING_RATES:
                defaults[f"base_learning_rate_{optimizer}"] = given_rates.get(
                    f"base_learning_rate_{optimizer}", given_rates.get(
                        "base_learning_rate", BASE_LEARNING_RATES[optimizer]))
        if "trust_coefficient" in given and "lars" not in optimizers:
            raise ValueError("Knob `trust_coefficient` is LARS's, and the search does not try "
                             f"LARS ({optimizers}). Received: trust_coefficient="
                             f"{given['trust_coefficient']!r}")
        if defaults["ghost_batch_size"] is None:
            defaults["ghost_batch_size"] = self._default_ghost_sizes(defaults["batch_size"])
        if self._ghost_refusal() is not None:  # only a default gets here (see __init__)
            del defaults["ghost_batch_size"]
        return defaults

    def _per_replica_batches(self, batch_spec):
        batches = batch_spec if isinstance(batch_spec, (list, tuple)) else [batch_spec]
        return [b // self.num_replicas for b in batches
                if _is_number(b) and b > 0 and b % self.num_replicas == 0]

    def _model_arguments(self):
        return registry.model_arguments(self.config["model"]["name"])

    def _ghost_refusal(self):
        """Why `ghost_batch_size` cannot apply to the run's model, or None if it can."""
        name, arguments = self.config["model"]["name"], self._model_arguments()
        argument = MODEL_KNOBS["ghost_batch_size"]
        if argument not in arguments:
            return (f"sets model.{argument}, which model {name!r} does not take (it takes: "
                    f"{sorted(arguments)})")
        if "normalization" not in arguments:
            return None
        normalization = self.config["model"].get("normalization", arguments["normalization"])
        if normalization not in _GHOST_NORMALIZATIONS:
            return (f"sets model.normalization to 'ghost' or 'batch', so it needs a model with "
                    f"batch normalization: the run's model {name!r} has normalization "
                    f"{normalization!r}")
        return None

    def _default_ghost_sizes(self, batch_spec):
        per_replica = self._per_replica_batches(batch_spec)
        sizes = [0]
        size = _SMALLEST_GHOST
        while per_replica and size <= min(per_replica):
            if all(p % size == 0 for p in per_replica):
                sizes.append(size)
            size *= 2
        return sizes

    def _check(self):
        knobs, replicas = self.knobs, self.num_replicas
        knobs["batch_size"].check(
            lambda b: _is_number(b) and isinstance(b, int) and b > 0 and b % replicas == 0,
            f"global batch sizes must be positive ints that the {replicas} replica(s) divide")
        knobs["learning_rate_rule"].check(lambda r: r in RULES, f"rules are {list(RULES)}")
        knobs["optimizer"].check(lambda o: o in OPTIMIZERS, f"optimizers are {list(OPTIMIZERS)}")
        for name in _RATE_KNOBS[1:]:
            if name in knobs:
                knobs[name].check(lambda v: _is_number(v) and v > 0, "rates are > 0")
        knobs["trust_coefficient"].check(lambda v: _is_number(v) and v > 0, "values are > 0")
        knobs["weight_decay"].check(lambda v: _is_number(v) and v >= 0, "values are >= 0")
        knobs["regime_adaptation"].check(lambda v: isinstance(v, bool), "values are true or false")
        epochs = self.config["schedule"]["epochs"]
        knobs["warmup_epochs"].check(lambda w: _is_number(w) and 0 <= w < epochs,
                                     f"warm-up epochs are in [0, {epochs}) (the run's epochs)")
        if "ghost_batch_size" in knobs:
            per_replica = self._per_replica_batches(knobs["batch_size"].spec())
            valid = self._default_ghost_sizes(knobs["batch_size"].spec())
            knobs["ghost_batch_size"].check(
                lambda g: isinstance(g, int) and g >= 0 and all(p % g == 0 for p in per_replica)
                if g else g == 0,
                f"a ghost batch must divide every per-replica batch {per_replica} (0 = plain "
                f"batch normalization); valid powers of two: {valid}")
        self._check_schedules()

    def _check_schedules(self):
        """Builds the schedule of every warm-up and regime adaptation value
        (a range's ends) at every batch, so a knob value the schedule refuses
        (a warm-up past the first decay boundary, ...) fails here, not in a
        trial."""
        warmups = self.knobs["warmup_epochs"].values
        for batch in self.knobs["batch_size"].values:
            for adapt in self.knobs["regime_adaptation"].values:
                for rule in self.knobs["learning_rate_rule"].values:
                    for warmup in warmups:
                        try:
                            self._schedule(batch, rule, 1.0, warmup, adapt, dataset_size=None)
                        except ValueError as error:
                            raise ValueError(
                                f"Knob `warmup_epochs` value {warmup} cannot make a schedule "
                                f"with the run's (batch_size={batch}, regime_adaptation="
                                f"{adapt}): {error}") from None

    def _schedule(self, batch, rule, base, warmup, adapt, dataset_size):
        """The trial's `Regime` (see the module docstring)."""
        reference = self.reference_batch_size
        run_regime = config_lib.regime(self.config)
        if adapt:
            regime = run_regime.replace(batch_size=reference, learning_rate=base, warmup_epochs=0.0,
                                        warmup_learning_rate=0.0)
            regime = regime.adapt(batch, rule, dataset_size=dataset_size)
        else:
            regime = run_regime.replace(
                batch_size=batch, learning_rate=scale_learning_rate(base, reference, batch, rule))
        warmup_rate = run_regime.warmup_learning_rate if warmup else 0.0
        return regime.replace(warmup_epochs=float(warmup), warmup_learning_rate=warmup_rate)

    def declare(self, hp):
        """Declares the knobs on a `keras_tuner.HyperParameters`; returns the trial's values.

        Returns:
            A dict with the value of every knob in the space for this trial
            (the base learning rate of the chosen optimizer as
            `base_learning_rate`; no `ghost_batch_size` where it is left out).
        """
        values = {}
        for name in ("batch_size", "learning_rate_rule", "optimizer", "warmup_epochs",
                     "weight_decay", "ghost_batch_size", "regime_adaptation"):
            if name in self.knobs:  # ghost_batch_size may be left out (module docstring)
                values[name] = self.knobs[name].declare(hp, log=name in _LOG_KNOBS)
        optimizers = self.knobs["optimizer"].values
        several = self.knobs["optimizer"].kind != "fixed"
        for optimizer in optimizers:
            scope = hp.conditional_scope("optimizer", [optimizer]) if several else _NoScope()
            with scope:
                rate = self._rate_knob(optimizer).declare(
                    hp, f"base_learning_rate_{optimizer}" if several else "base_learning_rate",
                    log=True)
                trust = None
                if optimizer == "lars":
                    trust = self.knobs["trust_coefficient"].declare(hp, log=True)
            if optimizer == values["optimizer"]:
                values["base_learning_rate"], values["trust_coefficient"] = rate, trust
        return values

    def _rate_knob(self, optimizer):
        return self.knobs[f"base_learning_rate_{optimizer}"]

    def trial_config(self, values, dataset_size):
        """The run config of a trial with knob `values` (from `declare`).

        `dataset_size` (training examples) makes regime adaptation's update
        count exact (`Regime.adapt`).
        """
        config = copy.deepcopy(self.config)
        regime = self._schedule(values["batch_size"], values["learning_rate_rule"],
                                values["base_learning_rate"], values["warmup_epochs"],
                                values["regime_adaptation"], dataset_size)
        config["schedule"] = regime.get_config()
        name, run_optimizer = values["optimizer"], config["optimizer"]
        accepted = registry.optimizer_arguments(name)
        optimizer = {k: v for k, v in run_optimizer.items()  # momentum, nesterov, clipping, masks
                     if k in accepted and k not in ("name", "weight_decay", "trust_coefficient")}
        optimizer.update(name=name, weight_decay=float(values["weight_decay"]))
        if name != run_optimizer["name"] and "momentum" not in optimizer:
            optimizer["momentum"] = 0.9
        if name == "lars":
            optimizer["trust_coefficient"] = float(values["trust_coefficient"])
        config["optimizer"] = optimizer
        if "ghost_batch_size" in self.knobs:
            ghost = values["ghost_batch_size"]
            config["model"]["virtual_batch_size"] = ghost or None
            if "normalization" in self._model_arguments():
                config["model"]["normalization"] = "ghost" if ghost else "batch"
        return config_lib.resolve(config)

    def get_config(self):
        """The knobs (`{name: value, list or (low, high)}`), defaults filled in."""
        return {name: knob.spec() for name, knob in self.knobs.items()}


class _NoScope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
