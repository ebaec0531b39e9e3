"""Measure every recipe at its smoke size and write docs/recipes/smoke-figures.json.

For each registered recipe (`keras_bigbatch.training.recipe_names()`), one
after the other, this runs the command as a user would, in a fresh process:

    keras-bigbatch train RECIPE --size smoke --output TMP --quiet

with `KERAS_BIGBATCH_IMAGENET_DIR` pointing at small generated ImageNet-format
files (written once by `python -m keras_bigbatch.data.imagenet_sample DIR`,
the files CI's smoke tests use), reads TMP/results.json and records, per run,
the numeric results that say what the smoke size did:

    test_accuracy, train_accuracy, validation_accuracy   (those the run measured)
    final_train_loss        the last epoch's training loss (history["loss"][-1])
    updates, epochs, steps_per_epoch, global_batch_size
    wall_time_s             the run's own training time (results.json)

and per recipe `wall_s`, the whole command's wall time (process start,
imports, every run, results and plots). The file also records the date, the
commit (`git rev-parse --short HEAD`), the machine (CPU cores, TensorFlow
and Keras versions, CPU or GPU) and the command template; the recipe pages
(docs/_recipe_pages.py) render it. Smoke sizes train a few steps on tiny or
generated data: the figures show that each recipe runs end to end and how
long that takes, not its accuracy.

How long: about 5 minutes on 2 CPU cores (TensorFlow 2.21, Keras 3.15;
309 s measured): 26 s (generalization_gap) to 79 s
(resnet50_imagenet_batch_growth) a recipe, the ResNet-50 recipes the
slowest. A run that fails stops the script with its output, and the file is
not written.

    python scripts/recipe_smoke_figures.py [--output FILE]
"""

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "recipes" / "smoke-figures.json"
COMMAND = ("KERAS_BIGBATCH_IMAGENET_DIR=SAMPLE keras-bigbatch train {recipe} --size smoke "
           "--output TMP --quiet")
SAMPLE_COMMAND = "python -m keras_bigbatch.data.imagenet_sample SAMPLE"
# The numeric fields of a run in results.json worth a row on the recipe page.
FIELDS = ("test_accuracy", "train_accuracy", "validation_accuracy", "final_train_loss",
          "updates", "epochs", "steps_per_epoch", "global_batch_size", "wall_time_s")


def _python():
    """The interpreter that runs the package: this one (the repository's venv)."""
    return sys.executable


def _command_line():
    """`keras-bigbatch` beside this interpreter, or the module entry point."""
    script = pathlib.Path(_python()).with_name("keras-bigbatch")
    return [str(script)] if script.exists() else [_python(), "-m", "keras_bigbatch.cli"]


def run_figures(result_row):
    """The numeric fields of one run of results.json (floats rounded for the page)."""
    history = result_row.get("history") or {}
    losses = history.get("loss") or []
    values = dict(result_row, final_train_loss=losses[-1] if losses else None)
    figures = {}
    for field in FIELDS:
        value = values.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        figures[field] = round(value, 2 if field == "wall_time_s" else 4)
    return figures


def measure(recipe, sample):
    """Run one recipe's smoke size; (figures, command wall time in seconds)."""
    env = dict(os.environ, KERAS_BIGBATCH_IMAGENET_DIR=sample)
    with tempfile.TemporaryDirectory(prefix=f"smoke-{recipe}-") as output:
        command = _command_line() + ["train", recipe, "--size", "smoke", "--output", output,
                                     "--quiet"]
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"{recipe}: `{' '.join(command)}` exited with {done.returncode}")
        payload = json.loads((pathlib.Path(output) / "results.json").read_text())
    runs = {row["name"]: run_figures(row) for row in payload["results"]}
    return {"wall_s": round(wall, 1), "runs": runs}


def machine():
    """'N CPU cores, TensorFlow X.Y CPU|GPU, Keras X.Y', asked of a child process."""
    probe = ("import tensorflow as tf, keras; "
             "print(tf.__version__, keras.__version__, "
             "'GPU' if tf.config.list_physical_devices('GPU') else 'CPU')")
    done = subprocess.run([_python(), "-c", probe], capture_output=True, text=True, check=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    tensorflow, keras, kind = done.stdout.split()[-3:]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    def short(version):
        return ".".join(version.split(".")[:2])

    return f"{cores} CPU cores, TensorFlow {short(tensorflow)} {kind}, Keras {short(keras)}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(OUTPUT), help=f"default: {OUTPUT}")
    args = parser.parse_args(argv)

    from keras_bigbatch.training import recipe_names

    recipes = {}
    start = time.perf_counter()
    host = machine()
    with tempfile.TemporaryDirectory(prefix="imagenet-sample-") as sample:
        subprocess.run([_python(), "-m", "keras_bigbatch.data.imagenet_sample", sample],
                       check=True, capture_output=True)
        for name in recipe_names():
            recipes[name] = measure(name, sample)
            print(f"{name}: {recipes[name]['wall_s']:.0f} s, runs "
                  f"{', '.join(recipes[name]['runs'])}", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    figures = {
        "measured": datetime.date.today().isoformat(),
        "commit": commit,
        "machine": host,
        "command": f"{COMMAND} (SAMPLE written by {SAMPLE_COMMAND})",
        "recipes": recipes,
    }
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {output} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
