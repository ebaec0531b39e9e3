"""CI executes every notebook at smoke size (KERAS_BIGBATCH_SMOKE=1, on CPU) with nbclient.

A cell that raises fails the test. Each notebook runs in its own kernel with
pytest's tmp_path as working directory, so what it writes (results folders)
never lands in the repository. One test per notebook, so that pytest-xdist
spreads them over its workers.
"""

import json

import pytest

from tests.notebooks._notebooks import FOLDER
from tests.notebooks._notebooks import NAMES
from tests.notebooks._notebooks import execute
from tests.notebooks._notebooks import inject_parameters
from tests.notebooks._notebooks import outputs_text
from tests.notebooks._notebooks import parameters
from tests.notebooks._notebooks import parameters_index
from tests.notebooks._notebooks import read_ipynb


@pytest.fixture
def kernel_env(monkeypatch, tmp_path):
    """The kernel's environment: smoke settings, no ImageNet folder, Keras's
    home (keras.json, download cache) in tmp_path."""
    monkeypatch.setenv("KERAS_BIGBATCH_SMOKE", "1")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.delenv("KERAS_BIGBATCH_IMAGENET_DIR", raising=False)
    for name in ("KAGGLE_KERNEL_RUN_TYPE", "TPU_NAME", "COLAB_TPU_ADDR"):
        monkeypatch.delenv(name, raising=False)


def _repository_files():
    return sorted(str(path.relative_to(FOLDER)) for path in FOLDER.rglob("*"))


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_at_smoke_size(name, tmp_path, kernel_env):
    before = _repository_files()
    executed = execute(read_ipynb(name), tmp_path)
    assert "SMOKE=True" in outputs_text(executed), "the notebook prints its parameters"
    assert _repository_files() == before, "the notebook wrote into notebooks/"


def _wrong_value(default):
    return 1 if isinstance(default, str) else "wrong"


@pytest.mark.parametrize("name", NAMES)
def test_wrong_parameter_type_fails_with_the_checks_message(name, tmp_path, kernel_env):
    import nbclient

    notebook = read_ipynb(name)
    parameter, default = list(parameters(notebook).items())[-1]
    wrong = _wrong_value(default)
    notebook = inject_parameters(notebook, f"{parameter} = {wrong!r}")
    del notebook.cells[parameters_index(notebook) + 3:]  # through the check cell
    with pytest.raises(nbclient.exceptions.CellExecutionError) as info:
        execute(notebook, tmp_path)
    assert f"Notebook parameter {parameter} must be" in str(info.value)
    assert f"Received: {parameter}={wrong!r}" in str(info.value)


def test_resnet50_tpu_reads_a_tfrecord_folder(tmp_path, kernel_env):
    """DATA_DIR set: the recipe's smoke size on generated ImageNet files, with
    checkpoints, the results table and the plot; its global batch and learning
    rate, micro-batched."""
    from keras_bigbatch.data.imagenet_sample import write_tfrecord_sample
    from keras_bigbatch.training import load_recipe

    data_dir = tmp_path / "imagenet"
    write_tfrecord_sample(str(data_dir))
    notebook = inject_parameters(read_ipynb("resnet50_tpu"), f"DATA_DIR = {str(data_dir)!r}")
    (tmp_path / "work").mkdir()
    text = outputs_text(execute(notebook, tmp_path / "work"))
    assert "images/s" in text
    # the recipe's global batch and learning rate, in micro batches of MAX_MICRO_BATCH (smoke: 4)
    assert "global batch 8 = 1 x 8 per replica, in k = 8 / (1 x 4) = 2 passes of 4" in text
    output = tmp_path / "work" / "results" / "resnet50_imagenet_32k_lars-smoke"
    (result,) = json.loads((output / "results.json").read_text())["results"]
    # the recipe's smoke updates: 2 epochs x 32 examples // batch 8, and a last epoch of 2
    assert result["updates"] == 10 and result["epochs"] == 3
    assert result["config"]["micro_batch_size"] == 4
    recipe = load_recipe("resnet50_imagenet_32k_lars", "smoke")
    assert result["config"]["schedule"]["learning_rate"] == recipe["schedule"]["learning_rate"]
    assert (output / "results.png").stat().st_size > 10000
    assert any((output / "LARS-32K" / "checkpoints").iterdir())
