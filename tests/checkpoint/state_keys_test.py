"""The keys stateful callbacks' states are saved under: named keys, collisions,
and checkpoints that keyed them by position (`callback-{i}-{Type}`)."""

import keras
import numpy as np
import pytest

from keras_bigbatch.callbacks import BatchSizeScheduler
from keras_bigbatch.callbacks import GradientNoiseScale
from keras_bigbatch.callbacks import WeightDistance
from keras_bigbatch.checkpoint import CheckpointError
from keras_bigbatch.checkpoint import saved_states
from keras_bigbatch.checkpoint import state_key
from keras_bigbatch.checkpoint import stateful_callbacks


class Counter(keras.callbacks.Callback):
    """A stateful callback: its state is one number."""

    def __init__(self, count=0, state_key=None):
        super().__init__()
        self.count = count
        if state_key is not None:
            self.state_key = state_key

    def get_state(self):
        return {"count": self.count}

    def set_state(self, state):
        self.count = state["count"]


class Other(Counter):
    pass


def test_a_callback_is_keyed_by_its_state_key_or_its_class_name():
    assert state_key(Counter()) == "Counter"
    assert state_key(Counter(state_key="test_counter")) == "test_counter"
    with pytest.raises(ValueError, match="Attribute `state_key` of Counter must be a non-empty "
                       "string. Received: state_key=3"):
        state_key(Counter(state_key=3))


def test_stateful_callbacks_skips_stateless_ones_and_ignores_order():
    counter, other = Counter(), Other()
    stateless = keras.callbacks.TerminateOnNaN()
    assert stateful_callbacks([counter, stateless, other]) == {"Counter": counter, "Other": other}
    assert stateful_callbacks([other, counter]) == {"Counter": counter, "Other": other}
    assert stateful_callbacks([]) == {}


def test_two_callbacks_sharing_a_key_are_named():
    with pytest.raises(ValueError, match=r"callbacks\[0\] \(Counter\) and callbacks\[2\] "
                       r"\(Counter\) would both save their state under 'Counter': give one"):
        stateful_callbacks([Counter(), Other(), Counter()])
    with pytest.raises(ValueError, match=r"callbacks\[0\] \(Counter\) and callbacks\[1\] "
                       r"\(Other\) would both save their state under 'shared'"):
        stateful_callbacks([Counter(state_key="shared"), Other(state_key="shared")])
    pair = stateful_callbacks([Counter(state_key="a"), Counter(state_key="b")])
    assert sorted(pair) == ["a", "b"]
    with pytest.raises(ValueError, match=r"callbacks\[0\] \(Counter\) would save its state "
                       r"under 'accuracies', which the trainer's own 'accuracies' uses"):
        stateful_callbacks([Counter(state_key="accuracies")], reserved={"accuracies": None})


def test_saved_states_by_key_whatever_the_order():
    components = stateful_callbacks([Other(), Counter()])
    saved = {"Counter": {"count": 1}, "Other": {"count": 2}, "accuracies": {}}
    assert saved_states(saved, components, "p") == {"Counter": {"count": 1},
                                                    "Other": {"count": 2}}
    assert saved_states({"Counter": {"count": 1}}, components, "p") == {"Counter": {"count": 1}}


def test_positional_states_of_an_old_checkpoint_map_by_type():
    # written by a run with callbacks=[Counter(), Other()], keyed by position
    saved = {"accuracies": {"a": 1}, "callback-0-Counter": {"count": 1},
             "callback-1-Other": {"count": 2}, "callback-2-Gone": {"count": 3}}
    components = {"accuracies": object(), **stateful_callbacks([Other(), Counter()])}
    assert saved_states(saved, components, "p") == {
        "accuracies": {"a": 1}, "Counter": {"count": 1}, "Other": {"count": 2}}


def test_positional_states_that_share_a_type_are_refused_unless_keys_say_whose():
    saved = {"callback-0-Counter": {"count": 1}, "callback-3-Counter": {"count": 2}}
    components = stateful_callbacks([Counter(state_key="b"), Counter(state_key="a")])
    with pytest.raises(CheckpointError, match=(
            r"ckpt-00000009.json saved the state of 2 callback\(s\) of type Counter by their "
            r"place in `callbacks` \(callback-0-Counter, callback-3-Counter\), and this run "
            r"has 2 of that type without a saved state \('b', 'a'\): which state is whose is "
            r"ambiguous. Give each of them the `state_key` its state was saved under "
            r"\(state_key='callback-0-Counter' for the callback that was callbacks\[0\]")):
        saved_states(saved, components, "DIR/ckpt-00000009.json")
    with pytest.raises(CheckpointError, match="2 callback"):  # one of two left: whose?
        saved_states(saved, stateful_callbacks([Counter()]), "p")
    keyed = stateful_callbacks([Counter(state_key="callback-3-Counter"),
                                Counter(state_key="callback-0-Counter")])
    assert saved_states(saved, keyed, "p") == saved
    # the rest pair one to one once the others are keyed
    half = stateful_callbacks([Counter(state_key="callback-3-Counter"), Counter()])
    assert saved_states(saved, half, "p") == {"callback-3-Counter": {"count": 2},
                                              "Counter": {"count": 1}}


def test_callback_states_round_trip():
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = np.zeros(64, "int32")
    scheduler = BatchSizeScheduler({0: 8, 2: 16})
    noise = GradientNoiseScale(x, y, batch_size=16, scheduler=scheduler, max_batch_size=32)
    noise._rng.integers(10)  # advance the sampler
    noise._sums, noise._weight = np.array([1.5, 2.5]), 0.19
    scheduler.set_schedule({0: 8, 2: 16, 3: 32})
    state_n, state_s = noise.get_state(), scheduler.get_state()
    other_s = BatchSizeScheduler({0: 8})
    other_n = GradientNoiseScale(x, y, batch_size=16, scheduler=other_s, max_batch_size=32)
    other_n.set_state(state_n)
    other_s.set_state(state_s)
    assert other_s.schedule(3) == 32 and other_s.schedule(2) == 16
    assert other_n._weight == 0.19 and list(other_n._sums) == [1.5, 2.5]
    assert other_n._rng.integers(1 << 30) == noise._rng.integers(1 << 30)

    distance = WeightDistance(10)
    distance._initial = [np.ones(3)]
    distance.history = {"step": [0, 1], "distance": [0.0, 0.5]}
    restored = WeightDistance(10)
    restored.set_state(distance.get_state())
    assert restored.history == distance.history
    np.testing.assert_array_equal(restored._initial[0], np.ones(3))
