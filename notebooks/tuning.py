# ---
# jupyter:
#   accelerator: GPU
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # keras_bigbatch tuning: search the large-batch knobs with Keras Tuner
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-bigbatch/keras_bigbatch/blob/main/notebooks/tuning.ipynb)
# [![Open in Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/keras-bigbatch/keras_bigbatch/blob/main/notebooks/tuning.ipynb)
#
# Moving to a large batch means finding a new learning rate, warm-up,
# optimizer, trust coefficient and ghost batch size. `keras_bigbatch.tuner`
# turns a recipe run into a Keras Tuner `HyperModel` over exactly those knobs
# (You, Gitman & Ginsburg 2017; Hoffer, Hubara & Soudry 2017; Gao & Zhong).
# This notebook tunes the `LARS` run of the `layerwise_optimizers` recipe:
# an MLP 784-256-256-256-10 with batch normalization on Fashion-MNIST at a
# global batch of 4096, where small-batch SGD (batch 128) reaches about 90%.
#
# - Trials are judged on 10% of the **training** images held out as a
#   validation split (`val_accuracy`); the test images are used once, for
#   the best trial, after the search.
# - RandomSearch, BayesianOptimization or Hyperband (whose epoch budgets are
#   prefixes of the schedule).
#
# Runtime: a GPU (Colab: *Runtime > Change runtime type > T4 GPU*; Kaggle:
# *Settings > Accelerator > GPU*); it also runs on a CPU, about 20 s per
# trial on 2 cores. `SMOKE = True` runs a 3-trial search on 2,048 images.

# %% [markdown]
# ## Install
#
# On Colab and Kaggle the next cell installs `keras_bigbatch` from GitHub
# **without** its `cpu` or `tensorflow` extras. TensorFlow is deliberately not
# a hard dependency of the package, so pip keeps the TensorFlow and Keras the
# runtime ships with (it only upgrades Keras if it is older than 3.10; restart
# the runtime if it says it did). Keras Tuner is a dependency and comes along.
# Anywhere else the cell does nothing: install the package yourself, e.g.
# `pip install -e ".[cpu]"` in a clone.

# %%
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # the trainer runs on TensorFlow
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "keras-bigbatch @ git+https://github.com/keras-bigbatch/keras_bigbatch"],
                   check=True)

# %% [markdown]
# ## Parameters
#
# Change them here (or inject them with papermill). `OPTIMIZERS` narrows the
# optimizer knob; the other knobs keep their default ranges (see the
# repository README's table). Rerunning the search cell resumes the search in
# `OUTPUT` unless `OVERWRITE = True`.

# %% tags=["parameters"]
SMOKE = False  # a 3-trial search on 2,048 images (CI); so does KERAS_BIGBATCH_SMOKE=1
TUNER = "bayesian"  # "random", "bayesian" or "hyperband"
MAX_TRIALS = 12
OPTIMIZERS = "sgd,lars"  # comma-separated: sgd, lars, mclr, percent_delta
SEED = 0
STRATEGY = "auto"  # "auto": MirroredStrategy over several GPUs, else one device
DOWNLOAD = True  # download Fashion-MNIST if it is missing (never in smoke mode)
OVERWRITE = False  # True: start the search afresh instead of resuming it
OUTPUT = "results/tuning"  # Keras Tuner's trials and best_trials.json go here

# %%
from keras_bigbatch import notebook

notebook.check_parameters(SMOKE=(SMOKE, bool), TUNER=(TUNER, str), MAX_TRIALS=(MAX_TRIALS, int),
                          OPTIMIZERS=(OPTIMIZERS, str), SEED=(SEED, int),
                          STRATEGY=(STRATEGY, str), DOWNLOAD=(DOWNLOAD, bool),
                          OVERWRITE=(OVERWRITE, bool), OUTPUT=(OUTPUT, str))
SMOKE = notebook.smoke(SMOKE)
if SMOKE:  # CI: no internet, Debian's files, 3 trials
    DOWNLOAD, MAX_TRIALS = False, min(MAX_TRIALS, 3)
    OUTPUT += "-smoke"
print(f"SMOKE={SMOKE} TUNER={TUNER} MAX_TRIALS={MAX_TRIALS} OPTIMIZERS={OPTIMIZERS} "
      f"SEED={SEED} STRATEGY={STRATEGY} DOWNLOAD={DOWNLOAD} OUTPUT={OUTPUT}")

# %% [markdown]
# ## The run to tune and its search space
#
# `BigBatchHyperModel(config, knobs)`: a value fixes a knob, a list narrows
# it to choices, a `(low, high)` tuple to a range. A knob with no valid
# value (say a ghost batch that divides no per-replica batch) is refused
# here, before any trial.

# %%
from keras_bigbatch import training
from keras_bigbatch import tuner as kbt
from keras_bigbatch.distribute import get_strategy

recipe = training.load_recipe("layerwise_optimizers", "smoke" if SMOKE else "default")
overrides = [("seed", str(SEED))] + ([("data.download", "true")] if DOWNLOAD else [])
config = training.run_configs(recipe, ["LARS"], overrides)[0]
strategy = get_strategy(STRATEGY)
hypermodel = kbt.BigBatchHyperModel(config, {"optimizer": OPTIMIZERS.split(",")}, strategy)
print(f"global batch {config['schedule']['batch_size']}, {config['schedule']['epochs']} epochs, "
      f"{strategy.num_replicas_in_sync} replica(s); val_accuracy on "
      f"{hypermodel.validation_examples} held-out training images")
for knob, value in hypermodel.space.get_config().items():
    print(f"  {knob:20s} {value}")

# %% [markdown]
# ## Search
#
# `make_tuner` builds the Keras Tuner tuner (`tuner.search()` is plain Keras
# Tuner underneath); `search` runs it, then measures the best trial's model
# once on the test images.

# %%
tuner = kbt.make_tuner(TUNER, hypermodel, os.path.join(OUTPUT, "tuner"), MAX_TRIALS, seed=SEED,
                       overwrite=OVERWRITE)
summary = kbt.search(tuner, hypermodel)
print(kbt.format_table(summary))

# %% [markdown]
# ## Every trial
#
# Validation accuracy against the trial's peak learning rate, one colour per
# optimizer: LARS and SGD want rates an order of magnitude apart.

# %%
import matplotlib.pyplot as plt

figure, axis = plt.subplots(figsize=(6, 4))
trials = [t for t in tuner.oracle.trials.values() if t.score is not None]
for optimizer in OPTIMIZERS.split(","):
    chosen = [t for t in trials if t.hyperparameters.values["optimizer"] == optimizer]
    key = (f"base_learning_rate_{optimizer}" if "," in OPTIMIZERS else "base_learning_rate")
    rates = [t.hyperparameters.values[key] * config["schedule"]["batch_size"] / 256
             for t in chosen]
    axis.scatter(rates, [100 * t.score for t in chosen], label=optimizer)
axis.set_xscale("log")
axis.set_xlabel("peak learning rate (linear rule from 256)")
axis.set_ylabel("val_accuracy (%)")
axis.legend()
axis.set_title(f"{TUNER}: {len(trials)} trials at global batch {config['schedule']['batch_size']}")
plt.show()

# %% [markdown]
# ## The best trial
#
# Its settings as a run config (train it with `training.train`, or as a row of
# a recipe) and its test accuracy, measured once.

# %%
from keras_bigbatch.training import report

best_config = hypermodel.trial_config(tuner.get_best_hyperparameters(1)[0])
print({k: best_config[k] for k in ("optimizer", "schedule")})
print(f"best trial: val_accuracy {summary['trials'][0]['score']:.4f}, "
      f"test accuracy {summary['best_test_accuracy']:.4f}")
report.write_json(os.path.join(OUTPUT, "best_trials.json"), summary)
print(f"wrote {OUTPUT}/best_trials.json")

# %% [markdown]
# ## Next
#
# - The same search from a shell: `keras-bigbatch tune layerwise_optimizers
#   --run LARS --tuner bayesian --max-trials 12 --knob optimizer=sgd,lars`
#   (rerun it to resume).
# - The repository README's study compares a tuned LARS and a tuned SGD at
#   batch 4096 with small-batch SGD, over two seeds.
