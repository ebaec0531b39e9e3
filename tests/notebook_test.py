import pytest

from keras_bigbatch import notebook


@pytest.mark.parametrize("default,env,expected", [
    (False, None, False), (True, None, True), (False, "1", True), (False, "TRUE", True),
    (False, "0", False), (False, "", False), (True, "0", True),
])
def test_smoke_from_parameter_or_environment(monkeypatch, default, env, expected):
    if env is None:
        monkeypatch.delenv(notebook.SMOKE_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(notebook.SMOKE_ENV_VAR, env)
    assert notebook.smoke(default) is expected


def test_smoke_rejects_bad_values(monkeypatch):
    with pytest.raises(TypeError, match=r"Notebook parameter SMOKE must be a bool .*"
                                        r"Received: SMOKE='yes'"):
        notebook.smoke("yes")
    monkeypatch.setenv(notebook.SMOKE_ENV_VAR, "maybe")
    with pytest.raises(ValueError, match=r"KERAS_BIGBATCH_SMOKE must be 1 .* "
                                         r"Received: KERAS_BIGBATCH_SMOKE='maybe'"):
        notebook.smoke(False)


def test_check_parameters_returns_the_values():
    values = notebook.check_parameters(SMOKE=(False, bool), EPOCHS=(10, int), LR=(1, float),
                                       DATA_DIR=("", str), RUNS=(None, (str, type(None))))
    assert values == {"SMOKE": False, "EPOCHS": 10, "LR": 1, "DATA_DIR": "", "RUNS": None}


@pytest.mark.parametrize("name,value,types,message", [
    ("EPOCHS", "10", int, "Notebook parameter EPOCHS must be an int. Received: EPOCHS='10'"),
    ("EPOCHS", True, int, "Notebook parameter EPOCHS must be an int. Received: EPOCHS=True"),
    ("EPOCHS", 2.5, int, "Notebook parameter EPOCHS must be an int. Received: EPOCHS=2.5"),
    ("LR", False, float, "Notebook parameter LR must be a number. Received: LR=False"),
    ("SMOKE", 1, bool, "Notebook parameter SMOKE must be a bool (True or False). Received: SMOKE=1"),
    ("RUNS", 3, (str, type(None)), "Notebook parameter RUNS must be a string or None. "
                                   "Received: RUNS=3"),
])
def test_check_parameters_names_parameter_value_and_type(name, value, types, message):
    with pytest.raises(TypeError) as info:
        notebook.check_parameters(**{name: (value, types)})
    assert str(info.value) == message


def test_check_parameters_rejects_a_bad_specification():
    with pytest.raises(TypeError, match=r"takes a \(value, type\) pair"):
        notebook.check_parameters(EPOCHS=10)
    with pytest.raises(TypeError, match="must be a type or a tuple of types"):
        notebook.check_parameters(EPOCHS=(10, "int"))
