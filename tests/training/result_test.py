"""`RunResult`: the dict `fit` has always returned, with its fields as attributes."""

import json

import pytest

from keras_bigbatch.training.result import RunResult


def _result(**changes):
    values = dict(name="a", test_accuracy=0.5, validation_accuracy=None, train_accuracy=None,
                  updates=3, epochs=1, steps_per_epoch=3, wall_time_s=1.0,
                  global_batch_size=8, per_replica_batch_size=8, num_replicas=1,
                  curve={"updates": [3], "test_accuracy": [0.5]},
                  distance={"updates": [], "distance": []}, history={"loss": [1.0]},
                  config={"name": "a"})
    values.update(changes)
    return RunResult(**values)


def test_a_result_has_its_fields_as_attributes_and_is_the_dict_results_json_holds():
    result = _result()
    assert result.test_accuracy == result["test_accuracy"] == 0.5
    assert "model" not in result and "config" in result
    assert RunResult.from_dict(result.to_dict()).to_dict() == result.to_dict()
    assert "config" not in result.to_dict(config=False)
    with_model = result.with_model("the model")
    assert with_model["model"] == "the model" and "model" not in with_model.to_dict()
    with pytest.raises(KeyError):
        result["nothing"]
    with pytest.raises(AttributeError, match="no field 'nothing'"):
        result.nothing
    assert json.loads(json.dumps(result)) == result.to_dict()  # as fit's dict always was
    with pytest.raises(TypeError, match=r"missing: \['config'\]"):
        RunResult(**{k: v for k, v in result.items() if k != "config"})
