# ---
# jupyter:
#   accelerator: TPU
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # ResNet-50 at batch 32K with LARS on a TPU
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-bigbatch/keras_bigbatch/blob/main/notebooks/resnet50_tpu.ipynb)
# [![Open in Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/keras-bigbatch/keras_bigbatch/blob/main/notebooks/resnet50_tpu.ipynb)
#
# Runs the package's `resnet50_imagenet_32k_lars` recipe, Google's MLPerf
# Training v1.0 ResNet-50 submission: LARS (trust coefficient 0.001, momentum
# 0.929, weight decay 1e-4), global batch 32768, learning rate 29.0 with 18
# warm-up epochs and a polynomial decay, label smoothing 0.1, ghost batch
# normalization over 64 examples; 75.9% top-1 after about 60 epochs on a TPU
# v4-4096.
#
# - **Runtime**: a TPU. Colab: *Runtime > Change runtime type > TPU*; Kaggle:
#   *Settings > Accelerator > TPU VM*. The notebook finds the TPU, trains in
#   bfloat16 and runs several steps per compiled call (`steps_per_execution`).
#   Without a TPU it runs on the default device (that is how CI runs it).
# - **Data**: ImageNet as TFRecord shards (tensorflow/tpu's
#   `imagenet_to_gcs.py` layout: `train-00000-of-01024`, ...,
#   `validation-00127-of-00128`) in a folder or a `gs://` bucket that you name
#   in `DATA_DIR`. Without data the notebook trains on synthetic images and
#   reports throughput (images/s) only.
# - **Batch size**: the recipe's 32768 on any TPU, with the recipe's learning
#   rate, through micro-batching: each update is the mean gradient of
#   k = 32768 / (replicas x m) passes of m <= `MAX_MICRO_BATCH` images per
#   replica, one optimizer update, the same update as the whole batch (the
#   ghost batch 64 divides m) in the memory of m images. ResNet-50 at 224 px in
#   bfloat16 holds about 128 images per TPU v3 core and 256 per v4 chip (one
#   replica of two cores; estimates, not measured): k = 32768 / (8 x 128) = 32
#   on a v3-8, 32768 / (4 x 256) = 32 on a v4-8 (set `MAX_MICRO_BATCH = 256`),
#   1 from 256 v3 cores on. Ghost batches of 64 allow at most 512 replicas.
#   Micro-batching does not change the images a second: at ~700 per v3 core
#   (an estimate) 60 epochs take 60 x 1,281,167 / 5,600 s = 3.8 hours on a
#   v3-8.

# %% [markdown]
# ## Install
#
# On Colab and Kaggle the next cell installs `keras_bigbatch` from GitHub
# **without** its `cpu` or `tensorflow` extras. TensorFlow is deliberately not
# a hard dependency of the package, so pip keeps the TensorFlow build the TPU
# runtime ships with (`tensorflow-tpu` on Kaggle, for example) and its Keras
# (pip only upgrades Keras if it is older than 3.10; restart the runtime if it
# says it did). Anywhere else the cell does nothing: install the package
# yourself, e.g. `pip install -e ".[cpu]"` in a clone.

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
# Change them here (or inject them with papermill). A rerun with the same
# parameters resumes from the checkpoints in `OUTPUT` (with other parameters
# the trainer stops and lists what differs: give another `OUTPUT`).

# %% tags=["parameters"]
SMOKE = False  # tiny settings for CI (32x32 images, a few steps on a CPU); so does KERAS_BIGBATCH_SMOKE=1
DATA_DIR = ""  # TFRecord folder or gs:// bucket; "" = $KERAS_BIGBATCH_IMAGENET_DIR, else synthetic data
OUTPUT = "results/resnet50_imagenet_32k_lars"  # results and checkpoints (local or gs://)
STRATEGY = "auto"  # "auto": a TPU if the runtime has one, else the default device; "tpu": insist
PRECISION = "auto"  # "auto": mixed_bfloat16 on TPUs; or "float32", "mixed_bfloat16"
BATCH_SIZE = 0  # global batch; 0: the recipe's 32768 (another one gets the sqrt-scaled learning rate)
MAX_MICRO_BATCH = 128  # images per replica per pass (128 per TPU v3 core, 256 per v4 chip: estimates)
EPOCHS = 0  # 0: the recipe's 60; fewer for a shorter run (the warm-up shrinks in proportion)
STEPS_PER_EXECUTION = 32  # steps per compiled call (divides an epoch's steps; 1 when micro-batched)
SYNTHETIC_STEPS = 40  # without data: training steps to time (global batches of k passes each)

# %%
from keras_bigbatch import notebook

notebook.check_parameters(SMOKE=(SMOKE, bool), DATA_DIR=(DATA_DIR, str), OUTPUT=(OUTPUT, str),
                          STRATEGY=(STRATEGY, str), PRECISION=(PRECISION, str),
                          BATCH_SIZE=(BATCH_SIZE, int), MAX_MICRO_BATCH=(MAX_MICRO_BATCH, int),
                          EPOCHS=(EPOCHS, int),
                          STEPS_PER_EXECUTION=(STEPS_PER_EXECUTION, int),
                          SYNTHETIC_STEPS=(SYNTHETIC_STEPS, int))
SMOKE = notebook.smoke(SMOKE)
if SMOKE:  # CI: the recipe's smoke size (batch 8, ghost 4): 12 steps of 2 passes of 4
    STEPS_PER_EXECUTION, SYNTHETIC_STEPS, MAX_MICRO_BATCH = 4, 12, 4
    OUTPUT += "-smoke"
DATA_DIR = DATA_DIR or os.environ.get("KERAS_BIGBATCH_IMAGENET_DIR", "")
print(f"SMOKE={SMOKE} DATA_DIR={DATA_DIR or '(none: synthetic data)'} STRATEGY={STRATEGY} "
      f"PRECISION={PRECISION} BATCH_SIZE={BATCH_SIZE or 'recipe'} "
      f"MAX_MICRO_BATCH={MAX_MICRO_BATCH} EPOCHS={EPOCHS or 'recipe'}")

# %% [markdown]
# ## Find the TPU
#
# `get_strategy("auto")` returns a `TPUStrategy` when the runtime names a TPU
# (Colab's and Kaggle's environment variables, or `/dev/accel*` on TPU VMs up
# to v4), a `MirroredStrategy` over several GPUs, else the default strategy.
# TPU VMs of v5e and later show their chips only through VFIO: set
# `STRATEGY = "tpu"` there.

# %%
from keras_bigbatch.distribute import device_kind
from keras_bigbatch.distribute import get_strategy

strategy = get_strategy(STRATEGY)
replicas, kind = strategy.num_replicas_in_sync, device_kind(strategy)
print(f"{type(strategy).__name__}: {replicas} replica(s) on {kind.upper()}")
if kind != "tpu":
    print("No TPU: running on the default device. On a v5e or later TPU VM set STRATEGY = 'tpu'.")

# %% [markdown]
# ## The run config
#
# The recipe's config, then our changes: the micro batch, the number of
# epochs, the data, the precision and `steps_per_execution` (and, with
# `BATCH_SIZE`, another global batch with its square-root-scaled learning
# rate). The micro batch is the largest m <= `MAX_MICRO_BATCH` that divides
# the per-replica batch 32768 / replicas and is a multiple of the ghost batch
# 64 (`choose_micro_batch_size`; none when the per-replica batch fits). On a
# TPU every compiled call of `fit` runs `steps_per_execution` steps, so the
# host does not wait for the TPU at every step; it must divide the steps of
# an epoch (Keras would otherwise run past the epoch's end). With
# micro-batching it is 1: each step already runs k passes on the device.

# %%
from keras_bigbatch import data
from keras_bigbatch import training
from keras_bigbatch.distribute import resolve_precision
from keras_bigbatch.schedules import scale_learning_rate
from keras_bigbatch.training import config as config_lib
from keras_bigbatch.training.plan import choose_micro_batch_size

recipe = training.load_recipe("resnet50_imagenet_32k_lars", "smoke" if SMOKE else "default")
(config,) = training.run_configs(recipe)
schedule = config["schedule"]
batch = BATCH_SIZE or schedule["batch_size"]
changes = {"precision": PRECISION}
if batch != schedule["batch_size"]:  # the user's global batch: the square-root rule
    changes["schedule.batch_size"] = batch
    changes["schedule.learning_rate"] = scale_learning_rate(
        schedule["learning_rate"], schedule["batch_size"], batch, "sqrt")
if batch != schedule["batch_size"] or EPOCHS or not DATA_DIR:
    # The recipe's length in updates and MLPerf's rate rule are its run's, at its
    # batch on ImageNet; another batch, length or data counts whole epochs.
    changes.update({"schedule.updates": None, "schedule.convention": "whole_steps"})
if EPOCHS:
    changes["schedule.epochs"] = EPOCHS
    changes["schedule.warmup_epochs"] = schedule["warmup_epochs"] * EPOCHS / schedule["epochs"]
if DATA_DIR:
    changes["data.dir"] = DATA_DIR
else:  # one epoch of SYNTHETIC_STEPS steps; one evaluation batch
    eval_batch = config["evaluation"]["batch_size"] * replicas
    changes.update({
        "data": {"source": "synthetic", "image_size": config["data"]["image_size"],
                 "train_examples": batch * SYNTHETIC_STEPS, "test_examples": eval_batch},
        "schedule.epochs": 1, "schedule.warmup_epochs": 0, "evaluation.evaluations": 1})
config = training.resolve(config_lib.merge(config, changes))

source_arguments = dict(config["data"])
steps_per_epoch = data.get_source(source_arguments.pop("source"),
                                  **source_arguments).steps_per_epoch(batch)
micro = choose_micro_batch_size(config, replicas, MAX_MICRO_BATCH)  # None: the batch fits
# One step per compiled call with micro-batching: a step is already k passes, and without
# XLA TensorFlow's graph optimizer fails on their loop inside Keras's multi-step loop.
steps_per_execution = 1 if micro else max(
    d for d in range(1, min(STEPS_PER_EXECUTION, steps_per_epoch) + 1) if steps_per_epoch % d == 0)
config = training.resolve(config_lib.merge(config, {"steps_per_execution": steps_per_execution,
                                                    "micro_batch_size": micro}))
schedule = config["schedule"]
passes = batch // (replicas * micro) if micro else 1
print(f"data: {config['data']['source']} at {config['data']['image_size']} px; "
      f"{steps_per_epoch} steps per epoch")
print(f"global batch {batch} = {replicas} x {batch // replicas} per replica"
      + (f", in k = {batch} / ({replicas} x {micro}) = {passes} passes of {micro} per update"
         if micro else ", in one pass")
      + f"; learning rate {schedule['learning_rate']:.4g}; epochs {schedule['epochs']:g} "
      f"(warm-up {schedule['warmup_epochs']:g})")
print(f"precision {resolve_precision(config['precision'], strategy)}; "
      f"steps_per_execution {steps_per_execution}")

# %% [markdown]
# ## Train
#
# `training.train` builds the model inside `strategy.scope()`, runs each
# train step as its k micro-batch passes and one update (`micro_batch_size`),
# and runs Keras's `model.fit`. A small callback times every compiled call of
# `steps_per_execution` training steps but the first (which compiles).

# %%
import math
import time

import keras


class Throughput(keras.callbacks.Callback):
    """Training images per second, timed over every compiled call but the first (it compiles)."""

    def __init__(self, global_batch_size):
        super().__init__()
        self.global_batch_size = global_batch_size
        self.calls, self.steps, self.seconds = 0, 0, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = (batch, time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        if logs and "loss" in logs:
            float(logs["loss"])  # waits for the device: the call's steps have run
        self.calls += 1
        if self.calls > 1:
            first, start = self._begin
            self.steps += batch - first + 1
            self.seconds += time.perf_counter() - start

    def images_per_second(self):
        return self.steps * self.global_batch_size / self.seconds if self.seconds else math.nan


throughput = Throughput(batch)
checkpoint_dir = os.path.join(OUTPUT, config["name"], "checkpoints") if DATA_DIR else None
result = training.train(config, strategy, callbacks=[throughput], checkpoint_dir=checkpoint_dir)
del result["model"]  # the trained Keras model; not needed below

# %% [markdown]
# ## Results
#
# Throughput always; with real data also the accuracy table and the curves.

# %%
if throughput.steps:
    print(f"throughput: {throughput.images_per_second():,.0f} images/s "
          f"({throughput.images_per_second() / replicas:,.0f} per replica), "
          f"timed over {throughput.steps} steps")
else:  # one compiled call in all, or a finished run whose result came from its checkpoint
    print(f"throughput: not measured ({throughput.calls} compiled call(s); the first one, "
          "which compiles, is not timed)")

# %%
from keras_bigbatch.training import report

if DATA_DIR:
    print(report.format_table([result]))
    if not BATCH_SIZE and not EPOCHS:
        print(report.format_checks(report.check_expected([result], recipe["expected"])))
    report.write_json(os.path.join(OUTPUT, "results.json"),
                      {"recipe": recipe["name"], "smoke": SMOKE, "results": [result]})
    import tensorflow as tf
    from IPython.display import Image
    from IPython.display import display

    plot_path = os.path.join(OUTPUT, "results.png")  # OUTPUT may be a gs:// folder
    report.plot(plot_path, [result], recipe["report"]["panels"], recipe["description"])
    with tf.io.gfile.GFile(plot_path, "rb") as stream:
        display(Image(data=stream.read()))
else:
    print("synthetic data: throughput only (its accuracy means nothing)")

# %% [markdown]
# ## Next
#
# - From a shell on a TPU VM: `keras-bigbatch train resnet50_imagenet_32k_lars
#   --strategy tpu --max-micro-batch 128 --set data.dir=gs://BUCKET/imagenet`
#   (256 on a v4). A slice of 256 or more v3 cores needs no micro batch: add
#   `--set steps_per_execution=13` there (13 divides an epoch's
#   1,281,167 // 32768 = 39 steps).
# - `quickstart.ipynb`: the generalization gap on Fashion-MNIST, on a GPU.
