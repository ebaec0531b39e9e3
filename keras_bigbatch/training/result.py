"""`RunResult`: what `fit` measured, by attribute and as the dict results.json holds."""

# The fields results.json holds for a run, in order (all but `model`).
FIELDS = ("name", "test_accuracy", "validation_accuracy", "train_accuracy", "updates",
          "epochs", "steps_per_epoch", "wall_time_s", "global_batch_size",
          "per_replica_batch_size", "num_replicas", "curve", "distance", "history", "config")


class RunResult(dict):
    """A finished run's measurements: `result.test_accuracy` or `result["test_accuracy"]`.

    A dict, as `fit` has always returned (so `json.dumps`, `result.pop("model")`
    and the rest keep working), whose fields are also attributes:

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
        model: the trained model (`train` adds it; None otherwise; not part
            of `to_dict`).

    Raises:
        TypeError: a field is missing or unknown.
    """

    def __init__(self, **values):
        missing = [key for key in FIELDS if key not in values]
        unknown = sorted(set(values) - set(FIELDS) - {"model"})
        if missing or unknown:
            raise TypeError(f"RunResult takes the fields {list(FIELDS)} (and `model`); "
                            f"missing: {missing}, unknown: {unknown}")
        model = values.pop("model", None)
        super().__init__((key, values[key]) for key in FIELDS)
        if model is not None:
            self["model"] = model

    def __getattr__(self, name):
        if name in FIELDS or name == "model":
            return self.get(name)
        raise AttributeError(f"RunResult has no field {name!r}; fields: {list(FIELDS)}")

    @classmethod
    def from_dict(cls, values, model=None):
        """The result `to_dict` gave (e.g. a finished run's final checkpoint)."""
        return cls(**{key: values[key] for key in FIELDS}, model=model)

    def to_dict(self, config=True):
        """The JSON-able dict of results.json (`config=False`: without the config)."""
        return {key: self[key] for key in FIELDS if config or key != "config"}

    def with_model(self, model):
        """This result with the trained `model` (`train`'s result)."""
        return RunResult.from_dict(self, model=model)
