"""`BigBatchHyperModel`: a Keras Tuner `HyperModel` made from a recipe run.

```
build(hp):  values = space.declare(hp); the trial's config; trainer.build(config)
fit(hp, model, epochs=E, initial_epoch=I):
            trainer.fit(config, model, epochs, initial_epoch) on the training
            split less a held-out validation split; returns the objective
            (val_accuracy by default) of the best epoch
test_accuracy(model):  accuracy on the test split, measured once, for the
            best trial after the search
```

Trials never see the test split: `evaluation.test_accuracy` is off and
`val_accuracy` (on `validation_examples` training examples held out, the
same for every trial and seed) is measured after every epoch, where Keras
Tuner's best-epoch checkpoint reads it. Hyperband's epoch budget maps onto
the schedule: with `max_epochs` = the run's epochs, a budget of E epochs
trains the first E epochs of the trial's whole schedule (E x F / the run's
epochs of them with regime adaptation's F epochs), and a continued trial
starts where the full schedule is at its initial epoch (`trainer.fit`'s
`initial_epoch`). Keras Tuner restores the weights of the earlier trial's
*best* epoch by the objective (usually its last); the optimizer's slots
start afresh.

Any backend the trainer runs on: TensorFlow (tf.distribute) and JAX
(keras.distribution; Keras Tuner gets no tf.distribute strategy there).
"""

import time

import keras
import keras_tuner

from keras_bigbatch.distribute.runtime import runtime_for
from keras_bigbatch.training import config as config_lib
from keras_bigbatch.training import trainer
from keras_bigbatch.tuner.space import SearchSpace

OBJECTIVES = {"val_accuracy": "max", "accuracy": "max", "loss": "min"}
VALIDATION_FRACTION = 0.1


def check_objective(objective):
    """The `keras_tuner.Objective` for a name the trainer reports; else ValueError."""
    if objective not in OBJECTIVES:
        raise ValueError(
            f"Argument `objective` must be a metric the trainer reports, one of "
            f"{sorted(OBJECTIVES)} (val_accuracy: the held-out validation split). "
            f"Received: objective={objective!r}")
    return keras_tuner.Objective(objective, OBJECTIVES[objective])


class BigBatchHyperModel(keras_tuner.HyperModel):
    """A recipe run as a Keras Tuner `HyperModel` over the large-batch knobs.

    Args:
        config: the run config (e.g. one of `training.run_configs(recipe)`).
        knobs: `SearchSpace` knobs (`{"optimizer": "lars", "batch_size": 4096,
            "base_learning_rate": (0.1, 2.0)}`); the others take their
            defaults.
        strategy: the `tf.distribute.Strategy` trials train under (pass the
            tuner's `distribution_strategy`); default: the current one.
        reference_batch_size: the batch the base learning rate is given for.
        validation_examples: training examples held out for `val_accuracy`;
            default: the config's `evaluation.validation_examples`, else
            10% of the training split.
        verbose: print one line per trial.

    Example:

    ```python
    hypermodel = BigBatchHyperModel(config, {"optimizer": ["sgd", "lars"]})
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy",
                                     max_trials=8, directory="search")
    tuner.search()
    best = tuner.get_best_models(1)[0]
    print(hypermodel.test_accuracy(best))
    ```
    """

    def __init__(self, config, knobs=None, strategy=None, reference_batch_size=256,
                 validation_examples=None, verbose=True):
        config = config_lib.resolve(config)
        super().__init__(name=config["name"])
        self.strategy = strategy
        if validation_examples is None:
            validation_examples = config["evaluation"]["validation_examples"] or max(
                1, round(VALIDATION_FRACTION * trainer.source(config).num_examples("train")))
        self.validation_examples = validation_examples
        config["evaluation"].update(validation_examples=validation_examples, test_accuracy=False,
                                    train_accuracy=False, distance_points=0)
        self.config = config_lib.resolve(config)  # checks validation_examples
        self.dataset_size = trainer.source(self.config).num_examples("train")
        self.space = SearchSpace(self.config, self._strategy().num_replicas_in_sync,
                                 reference_batch_size, **(knobs or {}))
        self.verbose = verbose
        self.schedule_epochs = self.config["schedule"]["epochs"]

    def _strategy(self, model=None):
        if self.strategy is not None:
            return self.strategy
        if model is not None and keras.backend.backend() == "tensorflow":
            return model.distribute_strategy
        return trainer.default_strategy()

    def trial_config(self, hp):
        """The run config of the trial `hp` describes (declares the knobs)."""
        config = self.space.trial_config(self.space.declare(hp), self.dataset_size)
        config["evaluation"]["evaluations"] = max(1, round(config["schedule"]["epochs"]))
        return config_lib.resolve(config)

    def build(self, hp):
        return trainer.build(self.trial_config(hp), self._strategy())

    def fit(self, hp, model, *args, epochs=None, initial_epoch=0, callbacks=(), verbose=None,
            **kwargs):
        """Trains the trial; `epochs`/`initial_epoch` are Hyperband's budget.

        Raises:
            ValueError: data or other `fit` arguments were passed (through
                `tuner.search(...)`): the run config sets them.

        Returns:
            `{objective: best over the epochs}` for `val_accuracy`,
            `accuracy` (max) and `loss` (min).
        """
        del verbose  # one line per trial (self.verbose)
        if args or kwargs:
            given = [f"{len(args)} positional argument(s)"] * bool(args) + sorted(kwargs)
            raise ValueError(
                "BigBatchHyperModel trains on its run config's data for its schedule's epochs: "
                f"pass nothing to `tuner.search()` but callbacks. Received: {given}")
        config = self.trial_config(hp)
        stop, start = None, 0
        if epochs is not None:  # Hyperband: a share of the run's epochs -> of this schedule's
            full = trainer.plan(config, self._strategy(model)).epochs
            scale = full / self.schedule_epochs
            stop = max(1, min(full, round(epochs * scale)))
            start = min(stop - 1, round(initial_epoch * scale))
        began = time.perf_counter()
        result = trainer.fit(config, model, self._strategy(model), callbacks=list(callbacks),
                             verbose=False, epochs=stop, initial_epoch=start)
        history = result["history"]
        metrics = {"val_accuracy": max(result["curve"]["val_accuracy"]),
                   "accuracy": max(history["accuracy"]), "loss": min(history["loss"])}
        if self.verbose:
            shown = {k: v for k, v in hp.values.items() if not k.startswith("tuner/")}
            print(f"[trial] {_describe(shown)} -> val_accuracy {metrics['val_accuracy']:.4f} "
                  f"({result['epochs']} epochs, {time.perf_counter() - began:.0f}s)", flush=True)
        return metrics

    def test_accuracy(self, model):
        """Accuracy of `model` on the test split (all of it), measured once."""
        runtime = runtime_for(self._strategy(model))  # not plan: the knobs set the model
        batch = self.config["evaluation"]["batch_size"] * runtime.num_replicas
        data = runtime.evaluation_data(trainer.source(self.config), "test", batch)
        return runtime.evaluator(model, batch)(data)


def _describe(values):
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in values.items())
