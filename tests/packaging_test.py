"""Installing the package must not pull a second TensorFlow build (Colab, Kaggle)."""

import os
import re
import subprocess
import sys
import tomllib

import keras_bigbatch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TF_BUILDS = {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-tpu",
             "tensorflow-intel", "tensorflow-macos", "tf-nightly"}


def names(requirements):
    return {re.split(r"[<>=!~\[ ;@]", r, maxsplit=1)[0].strip().lower() for r in requirements}


def test_no_tensorflow_build_in_core_requirements():
    project = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))["project"]
    core = names(project["dependencies"])
    assert not core & TF_BUILDS
    assert {"keras", "tensorflow-datasets", "importlib_resources", "keras-tuner",
            "tensorboard", "matplotlib"} <= core
    assert names(project["optional-dependencies"]["tensorflow"]) == {"tensorflow"}
    assert names(project["optional-dependencies"]["cpu"]) == {"tensorflow-cpu"}


def test_backend_agnostic_modules_do_not_import_tensorflow():
    for folder in ("layers", "schedules", "callbacks", "models"):
        for name in os.listdir(os.path.join(ROOT, "keras_bigbatch", folder)):
            if name.endswith(".py"):
                text = open(os.path.join(ROOT, "keras_bigbatch", folder, name)).read()
                lines = [l for l in text.splitlines() if "import tensorflow" in l]
                # Only inside functions, behind a backend check (the TF-only
                # graph assertions and replica count of GBN's checks); the
                # TF-free CI job runs these modules without TensorFlow.
                assert all(l.startswith("    ") for l in lines), (name, lines)
                assert "keras.src" not in text, name


def test_version():
    assert keras_bigbatch.__version__ == "0.1.0"


def test_every_name_in_all_loads_on_first_access():
    for name in keras_bigbatch.__all__:
        assert getattr(keras_bigbatch, name) is not None, name
    assert callable(keras_bigbatch.cli.main) and keras_bigbatch.durations.steps_per_epoch(10, 3) == 3


def test_subpackages_load_lazily_without_tensorflow_on_jax():
    code = (
        "import sys, keras_bigbatch as kb\n"
        "source = kb.data.get_source('digits', train_examples=100)\n"
        "assert source.num_examples('train') == 100 and source.num_classes == 10\n"
        "assert kb.distribute.per_replica_batch_size(64, 2) == 32\n"
        "assert callable(kb.training.build) and callable(kb.training.fit)\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\n"
        "print('LAZY OK')\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert "LAZY OK" in proc.stdout, proc.stderr[-3000:]


def test_setuptools_package_list_covers_every_subpackage():
    project = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))["tool"]["setuptools"]
    folders = {f"keras_bigbatch.{name}" for name in os.listdir(os.path.join(ROOT, "keras_bigbatch"))
               if os.path.isfile(os.path.join(ROOT, "keras_bigbatch", name, "__init__.py"))}
    assert set(project["packages"]) == folders | {"keras_bigbatch", "keras_bigbatch.recipes"}
    assert project["package-dir"] == {"keras_bigbatch.recipes": "recipes"}


def test_keras_registrations_exist_whatever_the_import_order():
    # `import keras_bigbatch` loads no subpackage (the command's --help needs
    # no Keras). The Keras-only ones load once Keras has: right after `import
    # keras`, or at the end of the package import that pulled Keras in; a
    # mere lookup of Keras (TensorFlow's import makes one) changes nothing.
    # So a saved model holding GBN, LARS or a Regime loads in any order.
    check = ("import keras; names = ['keras_bigbatch>GhostBatchNormalization', "
             "'keras_bigbatch>LARS', 'keras_bigbatch>Regime']; "
             "print([keras.saving.get_registered_object(n) is not None for n in names])")
    firsts = ["import sys, keras_bigbatch; assert 'keras' not in sys.modules",
              "from keras_bigbatch.layers import GhostBatchNormalization",
              "import keras_bigbatch, tensorflow",
              "from keras_bigbatch.schedules import Regime"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    procs = [subprocess.Popen([sys.executable, "-c", f"{first}\n{check}"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for first in firsts]
    for first, proc in zip(firsts, procs):
        out, err = proc.communicate(timeout=300)
        assert out.strip() == "[True, True, True]", (first, err[-2000:])
