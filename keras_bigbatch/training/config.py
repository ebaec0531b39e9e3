"""One training run, declared: `TrainConfig`."""

import dataclasses

from keras_bigbatch.models._normalization import check_normalization
from keras_bigbatch.schedules import Regime

DATASETS = ("fashion_mnist", "digits")
MODELS = ("mlp", "keskar_f1", "small_cnn")
OPTIMIZERS = ("sgd", "lars", "mclr", "percent_delta", "lamb")


@dataclasses.dataclass
class TrainConfig:
    """Everything one run of the trainer needs; validated on construction.

    The batch size is `regime.batch_size`, always the *global* batch size;
    the per-replica batch is `regime.batch_size // num_replicas_in_sync`.

    Attributes:
        name: label of the run (a row of a results table).
        regime: a `Regime` (or its config dict): global batch size, epochs,
            learning rate, decay boundaries and warm-up.
        dataset: `"fashion_mnist"` or `"digits"`.
        data_dir: folder of the Fashion-MNIST IDX files (None = default).
        train_examples / test_examples: use only the first N examples
            (None = all); for smoke runs.
        model: `"mlp"`, `"keskar_f1"` or `"small_cnn"`.
        hidden_units: widths of the MLP's hidden layers.
        normalization: `"batch"`, `"ghost"` or `"none"`.
        virtual_batch_size: ghost batch size for `"ghost"`; it must divide
            the per-replica batch size.
        normalization_momentum: momentum of the (ghost) batch-norm moving
            statistics, in [0, 1). Keras's default is 0.99.
        momentum: momentum in [0, 1) of `sgd`, `lars`, `mclr` and
            `percent_delta` (unused by `lamb`).
        optimizer: `"sgd"` (keras SGD), `"lars"`, `"mclr"`,
            `"percent_delta"` (keras_bigbatch.optimizers) or `"lamb"`
            (keras Lamb). The learning rate always comes from `regime`.
        optimizer_args: extra keyword arguments of the optimizer (e.g.
            `{"trust_coefficient": 0.001, "weight_decay": 5e-4}`).
        seed: seeds weights, shuffling and dropout.
        evaluations: how many times test accuracy is measured during
            training (spread evenly over the epochs), >= 1.
        distance_points: points of the log-spaced weight-distance record.
    """

    name: str
    regime: Regime
    dataset: str = "fashion_mnist"
    data_dir: str = None
    train_examples: int = None
    test_examples: int = None
    model: str = "mlp"
    hidden_units: tuple = (256, 256, 256)
    normalization: str = "batch"
    virtual_batch_size: int = None
    normalization_momentum: float = 0.99
    momentum: float = 0.9
    optimizer: str = "sgd"
    optimizer_args: dict = dataclasses.field(default_factory=dict)
    seed: int = 0
    evaluations: int = 10
    distance_points: int = 40

    def __post_init__(self):
        if isinstance(self.regime, dict):
            self.regime = Regime(**self.regime)
        if not isinstance(self.regime, Regime):
            raise ValueError(
                "Argument `regime` must be a keras_bigbatch.schedules.Regime "
                f"or its config dict. Received: regime={self.regime!r}"
            )
        if self.dataset not in DATASETS:
            raise ValueError(
                f"Argument `dataset` must be one of {DATASETS}. "
                f"Received: dataset={self.dataset!r}"
            )
        if self.model not in MODELS:
            raise ValueError(
                f"Argument `model` must be one of {MODELS}. "
                f"Received: model={self.model!r}"
            )
        check_normalization(self.normalization, self.virtual_batch_size)
        if self.normalization == "ghost" and (
            self.regime.batch_size % self.virtual_batch_size
        ):
            raise ValueError(
                f"Argument `virtual_batch_size` ({self.virtual_batch_size}) "
                "must divide the global batch size "
                f"({self.regime.batch_size}). "
                f"Received: virtual_batch_size={self.virtual_batch_size}"
            )
        if not 0.0 <= self.normalization_momentum < 1.0:
            raise ValueError(
                "Argument `normalization_momentum` must be in [0, 1). "
                f"Received: normalization_momentum={self.normalization_momentum}"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(
                f"Argument `momentum` must be in [0, 1). Received: momentum={self.momentum}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"Argument `optimizer` must be one of {OPTIMIZERS}. "
                f"Received: optimizer={self.optimizer!r}"
            )
        if not isinstance(self.optimizer_args, dict):
            raise ValueError(
                "Argument `optimizer_args` must be a dict of keyword arguments. "
                f"Received: optimizer_args={self.optimizer_args!r}"
            )
        for name in ("train_examples", "test_examples"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(
                    f"Argument `{name}` must be a positive integer or None. "
                    f"Received: {name}={value!r}"
                )
        for name in ("evaluations", "distance_points"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Argument `{name}` must be an integer >= 1. "
                    f"Received: {name}={value!r}"
                )
        self.hidden_units = tuple(self.hidden_units)

    @classmethod
    def from_dict(cls, values):
        """Builds a config from a dict, naming any unknown key."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"Unknown training option(s) {unknown}; valid options are "
                f"{sorted(known)}."
            )
        return cls(**values)

    def to_dict(self):
        values = dataclasses.asdict(self)
        values["regime"] = self.regime.get_config()
        values["hidden_units"] = list(self.hidden_units)
        return values
