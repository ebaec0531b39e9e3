"""Running a search: `make_tuner(name, hypermodel, ...)` and `search(...)`.

```
tuners:  random -> keras_tuner.RandomSearch, bayesian -> BayesianOptimization,
         hyperband -> Hyperband with max_epochs = the run's epochs (factor 3)
search:  tuner.search() (resumes the project in `directory` unless overwrite;
         Keras Tuner's JSON files are written atomically, and a trial file
         an older interruption cut off is dropped: `drop_cut_off_trials`),
         then the best trial's model (its best epoch, by the objective) is
         measured once on the test split
```
"""

import json
import os
import shutil
import time

import keras_tuner

from keras_bigbatch.distribute.runtime import runtime_for
from keras_bigbatch.tuner.hypermodel import check_objective

TUNERS = ("random", "bayesian", "hyperband")


def _write_json_atomically():
    """Makes Keras Tuner write its JSON files (trial.json, oracle.json) to a
    temporary name and rename it, so that a kill mid-write leaves the old
    file whole rather than a truncated one. Local folders only; other
    paths (gs://) keep Keras Tuner's own writer. Idempotent."""
    from keras_tuner.src import utils

    if getattr(utils.save_json, "_keras_bigbatch_atomic", False):
        return
    original = utils.save_json

    def save_json(path, obj):
        if "://" in str(path):
            return original(path, obj)
        text = json.dumps(obj)
        temporary = f"{path}.tmp"
        with open(temporary, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
        return text

    save_json._keras_bigbatch_atomic = True
    utils.save_json = save_json


def drop_cut_off_trials(project_dir):
    """Removes the trials whose `trial.json` an interruption cut off mid-write.

    Keras Tuner writes a trial's file in place, so a kill at that moment
    leaves it empty or truncated, and resuming would fail on it. Such a
    trial was being created or updated, not finished: its folder goes, and
    every mention of it in `oracle.json` (ongoing, retry queue, order, run
    times, values hash), so the oracle makes a new trial in its place.
    Finished trials are kept as they are. Returns the removed trial ids.

    Raises:
        ValueError: `oracle.json` itself is unreadable (naming it; the
            finished trials stay in their folders): `--overwrite` starts the
            search afresh.
    """
    dropped = []
    for name in sorted(os.listdir(project_dir)) if os.path.isdir(project_dir) else ():
        path = os.path.join(project_dir, name, "trial.json")
        if not (name.startswith("trial_") and os.path.isfile(path)):
            continue
        try:
            with open(path) as stream:
                json.load(stream)
        except ValueError:
            shutil.rmtree(os.path.join(project_dir, name))
            dropped.append(name[len("trial_"):])
    oracle = os.path.join(project_dir, "oracle.json")
    if not os.path.isfile(oracle):
        return dropped
    try:
        with open(oracle) as stream:
            state = json.load(stream)
    except ValueError:
        raise ValueError(
            f"The search's {oracle} was cut off by an interruption, so the search cannot "
            "resume; its finished trials are in the trial_* folders beside it. Start afresh "
            "with --overwrite (overwrite=True).") from None
    if dropped:
        state["ongoing_trials"] = {k: v for k, v in state.get("ongoing_trials", {}).items()
                                   if v not in dropped}
        for key in ("retry_queue", "start_order", "end_order"):
            state[key] = [t for t in state.get(key, []) if t not in dropped]
        for key in ("run_times", "id_to_hash"):
            state[key] = {k: v for k, v in state.get(key, {}).items() if k not in dropped}
        display = state.get("display", {})
        for key in ("trial_start", "trial_number"):
            display[key] = {k: v for k, v in display.get(key, {}).items() if k not in dropped}
        temporary = oracle + ".tmp"
        with open(temporary, "w") as stream:
            json.dump(state, stream)
        os.replace(temporary, oracle)
    return dropped
PROJECT = "search"


def make_tuner(name, hypermodel, directory, max_trials=10, objective="val_accuracy", seed=None,
               overwrite=False, distribution_strategy=None, **kwargs):
    """A Keras Tuner tuner over `hypermodel` (a `BigBatchHyperModel`).

    Args:
        name: "random", "bayesian" or "hyperband".
        hypermodel: the `BigBatchHyperModel`.
        directory: where the tuner keeps its trials; a search started there
            again resumes (Keras Tuner reruns the trial it was in).
        max_trials: trials at most (Hyperband: a cap on its brackets' trials).
        objective: a metric the trainer reports (`hypermodel.OBJECTIVES`).
        seed: the tuner's random seed.
        overwrite: start afresh instead of resuming.
        distribution_strategy: the `tf.distribute.Strategy` of the trials:
            the hypermodel's own (the default); another one is refused.
        **kwargs: further tuner arguments (e.g. Hyperband's `factor`).

    Raises:
        ValueError: an unknown tuner name, objective or a bad `max_trials`.
    """
    if name not in TUNERS:
        raise ValueError(
            f"Argument `tuner` must be one of {list(TUNERS)}. Received: tuner={name!r}")
    if distribution_strategy is not None and distribution_strategy is not hypermodel.strategy:
        raise ValueError(
            "Argument `distribution_strategy` must be the strategy the hypermodel was made "
            "with (`BigBatchHyperModel(..., strategy=...)`): its knobs were checked against "
            f"{'that' if hypermodel.strategy else 'the current'} strategy's replicas. Received: "
            f"distribution_strategy={distribution_strategy!r}, hypermodel.strategy="
            f"{hypermodel.strategy!r}")
    if isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1:
        raise ValueError(
            f"Argument `max_trials` must be an int >= 1. Received: max_trials={max_trials!r}")
    _write_json_atomically()
    if not overwrite:
        for trial_id in drop_cut_off_trials(os.path.join(str(directory), PROJECT)):
            print(f"trial {trial_id}: its trial.json was cut off by an interruption; a new "
                  "trial takes its place", flush=True)
    strategy = distribution_strategy or hypermodel.strategy
    if strategy is not None:  # Keras Tuner knows tf.distribute only; trainer.build enters
        strategy = runtime_for(strategy).tf_distribute_strategy  # keras.distribution's scope
    common = dict(objective=check_objective(objective), seed=seed, directory=str(directory),
                  project_name=PROJECT, overwrite=overwrite, distribution_strategy=strategy,
                  **kwargs)
    if name == "hyperband":
        common.setdefault("factor", 3)
        tuner = keras_tuner.Hyperband(hypermodel, max_epochs=hypermodel.schedule_epochs, **common)
        tuner.oracle.max_trials = max_trials  # Oracle.create_trial stops there
        return tuner
    tuner_class = {"random": keras_tuner.RandomSearch,
                   "bayesian": keras_tuner.BayesianOptimization}[name]
    return tuner_class(hypermodel, max_trials=max_trials, **common)


def search(tuner, hypermodel, top=5):
    """Runs (or resumes) the search; returns the best trials and the test accuracy.

    Returns:
        A dict: `objective`, `trials` (the `top` best: `trial_id`, `score`,
        `values` (hyperparameters), `metrics`), `completed` (trials done),
        `best_test_accuracy` (the best trial's model, measured once on the
        test split) and `wall_time_s` (this call).
    """
    began = time.perf_counter()
    tuner.search(verbose=0)
    oracle = tuner.oracle
    best = oracle.get_best_trials(top)
    rows = []
    for trial in best:
        metrics = {name: trial.metrics.get_best_value(name) for name in trial.metrics.metrics}
        metrics = {name: value for name, value in metrics.items() if value is not None}
        rows.append({"trial_id": trial.trial_id, "score": trial.score,
                     "values": dict(trial.hyperparameters.values), "metrics": metrics})
    test_accuracy = None
    if best:
        test_accuracy = hypermodel.test_accuracy(best_model(tuner))
    completed = sum(t.status == "COMPLETED" for t in oracle.trials.values())
    return {"objective": oracle.objective.name, "trials": rows, "completed": completed,
            "best_test_accuracy": test_accuracy, "wall_time_s": time.perf_counter() - began}


def best_model(tuner):
    """The best trial's model, its weights from the trial's best epoch."""
    import warnings

    with warnings.catch_warnings():  # the checkpoint's optimizer slots are not restored
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        return tuner.get_best_models(1)[0]


def format_table(summary):
    """The best trials as a text table: one row per trial, one column per
    hyperparameter whose value differs between the rows (all if none does)."""
    rows = summary["trials"]
    if not rows:
        return "(no completed trial)"
    keys = []
    for row in rows:
        keys += [k for k in row["values"] if k not in keys and not k.startswith("tuner/")]
    varying = [k for k in keys if len({repr(r["values"].get(k)) for r in rows}) > 1] or keys
    header = ["rank", "trial", summary["objective"]] + varying
    lines = [header]
    for rank, row in enumerate(rows, 1):
        cells = [str(rank), row["trial_id"], f"{row['score']:.4f}"]
        for key in varying:
            value = row["values"].get(key, "")
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in lines]
    if summary.get("best_test_accuracy") is not None:
        text.append(f"best trial {rows[0]['trial_id']}: test accuracy "
                    f"{summary['best_test_accuracy']:.4f} (measured once, after the search)")
    return "\n".join(text)
