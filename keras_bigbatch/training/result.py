"""`RunResult`: what `fit` measured, as a dataclass and as the dict results.json holds."""

import collections.abc
import dataclasses

# The fields results.json holds for a run, in order (all but `model`).
FIELDS = ("name", "test_accuracy", "validation_accuracy", "train_accuracy", "updates",
          "epochs", "steps_per_epoch", "wall_time_s", "global_batch_size",
          "per_replica_batch_size", "num_replicas", "curve", "distance", "history", "config")


@dataclasses.dataclass(frozen=True, eq=False)
class RunResult(collections.abc.Mapping):
    """A finished run's measurements; also a read-only mapping of them.

    Attributes:
        name: the run's name.
        test_accuracy: the last measured test accuracy (None when
            `evaluation.test_accuracy` is off).
        validation_accuracy: the last validation accuracy (None without
            `evaluation.validation_examples`).
        train_accuracy: accuracy on the training split (None when
            `evaluation.train_accuracy` is off).
        updates: optimizer updates (`optimizer.iterations`).
        epochs: epochs trained (all sessions of a resumed run).
        steps_per_epoch: steps of every epoch (None under batch growth).
        wall_time_s: training time, all sessions.
        global_batch_size, per_replica_batch_size, num_replicas: the batch.
        curve: `{"updates": [...], "test_accuracy": [...], "val_accuracy": [...]}`
            at every measurement.
        distance: `{"updates": [...], "distance": [...]}`, ||w_t - w_0||
            (empty unless `evaluation.distance_points`).
        history: Keras's History dict, floats.
        config: the resolved run config.
        model: the trained model (`train` sets it; not part of `to_dict`).
    """

    name: str
    test_accuracy: object
    validation_accuracy: object
    train_accuracy: object
    updates: int
    epochs: int
    steps_per_epoch: object
    wall_time_s: float
    global_batch_size: int
    per_replica_batch_size: int
    num_replicas: int
    curve: dict
    distance: dict
    history: dict
    config: dict
    model: object = None

    @classmethod
    def from_dict(cls, values, model=None):
        """The result `to_dict` gave (e.g. a finished run's final checkpoint)."""
        return cls(**{key: values[key] for key in FIELDS}, model=model)

    def to_dict(self, config=True):
        """The JSON-able dict of results.json (`config=False`: without the config)."""
        return {key: getattr(self, key) for key in FIELDS if config or key != "config"}

    def with_model(self, model):
        return dataclasses.replace(self, model=model)

    # Mapping: result["test_accuracy"], as the dict `fit` has always returned.
    def _keys(self):
        return FIELDS + (("model",) if self.model is not None else ())

    def __getitem__(self, key):
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())
