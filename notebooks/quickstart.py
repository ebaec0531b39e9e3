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
# # keras_bigbatch quickstart: the generalization gap on Fashion-MNIST
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-bigbatch/keras_bigbatch/blob/main/notebooks/quickstart.ipynb)
# [![Open in Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/keras-bigbatch/keras_bigbatch/blob/main/notebooks/quickstart.ipynb)
#
# Hoffer, Hubara & Soudry (2017), *Train longer, generalize better*: a large
# batch loses test accuracy because it makes fewer updates, and three changes
# close the gap. This notebook trains the five rows of their table on
# Fashion-MNIST with the package's `generalization_gap` recipe (an MLP
# 784-256-256-256-10 with batch normalization, SGD with momentum 0.9):
#
# | run | what changes |
# |---|---|
# | SB | small batch, 128 examples, 10 epochs, learning rate 0.1 |
# | LB | large batch, 4096 examples, same epochs and rate |
# | LB+LR | rate × sqrt(4096 / 128), with a 2-epoch warm-up |
# | LB+LR+GBN | Ghost Batch Normalization: BN statistics over ghost batches of 128 |
# | LB+LR+GBN+RA | regime adaptation: about as many updates as SB (334 whole epochs: 4676 against 4680) |
#
# Runtime: a GPU (Colab: *Runtime > Change runtime type > T4 GPU*; Kaggle:
# *Settings > Accelerator > GPU*); it also runs on a CPU. The whole table took
# about 5 minutes on 2 CPU cores (the repository README has the measured
# table); `SMOKE = True` runs a tiny version in under a minute.

# %% [markdown]
# ## Install
#
# On Colab and Kaggle the next cell installs `keras_bigbatch` from GitHub
# **without** its `cpu` or `tensorflow` extras. TensorFlow is deliberately not
# a hard dependency of the package, so pip keeps the TensorFlow and Keras the
# runtime ships with (it only upgrades Keras if it is older than 3.10; restart
# the runtime if it says it did). Anywhere else the cell does nothing: install
# the package yourself, e.g. `pip install -e ".[cpu]"` in a clone.

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
# Change them here (or inject them with papermill). Fashion-MNIST is read
# from Debian's `dataset-fashion-mnist` files or `$KERAS_BIGBATCH_FASHION_MNIST_DIR`
# when they are there; otherwise `DOWNLOAD = True` downloads it once into
# Keras's cache (`~/.keras/datasets/fashion-mnist`).

# %% tags=["parameters"]
SMOKE = False  # tiny settings for CI (2,048 examples, 2 epochs); so does KERAS_BIGBATCH_SMOKE=1
RUNS = ""  # comma-separated rows to train, e.g. "SB,LB"; "" trains all five
SEED = 0
STRATEGY = "auto"  # "auto": MirroredStrategy over several GPUs, else one device
DOWNLOAD = True  # download Fashion-MNIST if it is missing (never in smoke mode)
OUTPUT = "results/generalization_gap"  # results.json and results.png go here

# %%
from keras_bigbatch import notebook

notebook.check_parameters(SMOKE=(SMOKE, bool), RUNS=(RUNS, str), SEED=(SEED, int),
                          STRATEGY=(STRATEGY, str), DOWNLOAD=(DOWNLOAD, bool),
                          OUTPUT=(OUTPUT, str))
SMOKE = notebook.smoke(SMOKE)
if SMOKE:  # CI: no internet, Debian's files
    DOWNLOAD = False
    OUTPUT += "-smoke"
print(f"SMOKE={SMOKE} RUNS={RUNS or 'all'} SEED={SEED} STRATEGY={STRATEGY} "
      f"DOWNLOAD={DOWNLOAD} OUTPUT={OUTPUT}")

# %% [markdown]
# ## The runs
#
# `load_recipe` returns the recipe's sectioned config and `run_configs` one
# resolved config per row: the recipe's defaults, the row's changes, then our
# overrides (the same `(key, value)` pairs as `keras-bigbatch train --set`).

# %%
from keras_bigbatch import training
from keras_bigbatch.distribute import get_strategy

recipe = training.load_recipe("generalization_gap", "smoke" if SMOKE else "default")
overrides = [("seed", str(SEED))]
if DOWNLOAD:
    overrides.append(("data.download", "true"))
configs = training.run_configs(recipe, RUNS.split(",") if RUNS else None, overrides)
strategy = get_strategy(STRATEGY)
print(f"{recipe['description']}; {strategy.num_replicas_in_sync} replica(s)")
for config in configs:
    schedule = config["schedule"]
    print(f"  {config['name']:14s} global batch {schedule['batch_size']:5d}  "
          f"lr {schedule['learning_rate']:.3f}  epochs {schedule['epochs']:.1f}  "
          f"normalization {config['model']['normalization']}")

# %% [markdown]
# ## Train
#
# `training.train` is `build` (the compiled model, made inside
# `strategy.scope()`) then `fit` (Keras's `model.fit` on the global-batch
# pipeline, with test accuracy and ‖w − w0‖ recorded along the way).

# %%
from keras_bigbatch.training import report

results = []
for config in configs:
    result = training.train(config, strategy)
    result.pop("model")
    results.append(result)
    report.write_json(os.path.join(OUTPUT, "results.json"),
                      {"recipe": recipe["name"], "smoke": SMOKE, "results": results})

# %% [markdown]
# ## The table
#
# Each row's test accuracy, with the range the recipe expects (the smoke size
# only checks that training works).

# %%
print(report.format_table(results))
print()
print(report.format_checks(report.check_expected(results, recipe["expected"])))
print()
for result in results:
    print(f"  {result['name']}: d||w - w0|| / d ln(t) = {report.log_slope(result):.3f}")

# %% [markdown]
# ## The plots
#
# Left: test accuracy against updates. A large batch makes 32 times fewer
# updates per epoch; regime adaptation (RA) gives it SB's number back.
# Right: the distance from the initial weights against log(updates), the
# quantity Hoffer et al. argue grows like log(t) (see the README for what we
# measured).

# %%
from IPython.display import Image
from IPython.display import display

plot_path = os.path.join(OUTPUT, "results.png")
report.plot(plot_path, results, recipe["report"]["panels"], recipe["description"])
display(Image(filename=plot_path))

# %% [markdown]
# ## Next
#
# - The same table from a shell: `keras-bigbatch train generalization_gap`
#   (`--size smoke`, `--set seed=1`, `--runs SB,LB`); it also checkpoints each
#   run and resumes after an interruption.
# - `resnet50_tpu.ipynb`: ResNet-50 with LARS at batch 32K on a TPU.
