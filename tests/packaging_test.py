"""Installing the package must not pull a second TensorFlow build (Colab, Kaggle)."""

import os
import re
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
                # The one exception: a TF-only graph assertion, imported lazily.
                assert all(l.startswith("        ") for l in lines), (name, lines)
                assert "keras.src" not in text, name


def test_version():
    assert keras_bigbatch.__version__ == "0.1.0"
