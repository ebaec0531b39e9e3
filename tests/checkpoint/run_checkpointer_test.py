"""RunCheckpointer in-process: a strategy or its runtime, and each stateful
callback's state back under its own key (reordered callbacks, checkpoints
that keyed them by position).

Whole runs killed at random steps and resumed are in tests/training/resume_test.py.
"""

import keras
import pytest

from keras_bigbatch.checkpoint import CheckpointError
from keras_bigbatch.checkpoint import RunCheckpointer
from keras_bigbatch.checkpoint import stateful_callbacks
from keras_bigbatch.distribute.runtime import runtime_for
from tests.checkpoint.state_keys_test import Counter
from tests.checkpoint.state_keys_test import Other


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _checkpointer(folder, components, strategy=None):
    config = {"name": "A", "seed": 0,  # what a resolved run config holds, in short
              "checkpoint": {"every_steps": None, "every_seconds": 300, "keep": 3}}
    checkpointer = RunCheckpointer(str(folder), config, strategy, components,
                                   epoch_steps=lambda epoch: 10, verbose=False)
    checkpointer.set_model(_model())
    return checkpointer


def _save(folder, components, strategy=None):
    checkpointer = _checkpointer(folder, components, strategy)
    checkpointer.epoch, checkpointer.batches_done = 1, 0
    return checkpointer.save(10)


def test_a_strategy_or_its_runtime_resumes_the_same(tmp_path):
    strategy = runtime_for(None).strategy
    _save(tmp_path, {}, strategy)
    for given in (strategy, runtime_for(strategy)):
        checkpointer = _checkpointer(tmp_path, {}, given)
        assert checkpointer.runtime.strategy is strategy and not checkpointer.multi_worker
        assert checkpointer.restore()["epoch"] == 1


def test_reordered_callbacks_get_their_own_state_back(tmp_path):
    _save(tmp_path, stateful_callbacks([Counter(1), Other(2), Counter(3, state_key="third")]))
    counter, other, third = Counter(), Other(), Counter(state_key="third")
    _checkpointer(tmp_path, stateful_callbacks([third, other, counter])).restore()
    assert (counter.count, other.count, third.count) == (1, 2, 3)


def test_a_callback_new_to_the_run_starts_afresh_with_a_warning(tmp_path):
    _save(tmp_path, stateful_callbacks([Counter(1)]))
    counter, other = Counter(), Other(5)
    with pytest.warns(UserWarning, match="holds no state for callback Other: it starts afresh"):
        _checkpointer(tmp_path, stateful_callbacks([other, counter])).restore()
    assert (counter.count, other.count) == (1, 5)


def test_a_checkpoint_that_keyed_callbacks_by_position_resumes(tmp_path):
    # what the trainer saved before keys were named: callbacks=[Counter(1), Other(2)]
    _save(tmp_path, {"callback-0-Counter": Counter(1), "callback-1-Other": Other(2)})
    counter, other = Counter(), Other()
    _checkpointer(tmp_path, stateful_callbacks([other, counter])).restore()
    assert (counter.count, other.count) == (1, 2)


def test_positional_states_of_one_type_are_refused_not_guessed(tmp_path):
    _save(tmp_path, {"callback-0-Counter": Counter(1), "callback-1-Counter": Counter(2)})
    first, second = Counter(state_key="first"), Counter(state_key="second")
    with pytest.raises(CheckpointError, match="which state is whose is ambiguous"):
        _checkpointer(tmp_path, stateful_callbacks([first, second])).restore()
    first.state_key, second.state_key = "callback-1-Counter", "callback-0-Counter"
    _checkpointer(tmp_path, stateful_callbacks([first, second])).restore()
    assert (first.count, second.count) == (2, 1)
