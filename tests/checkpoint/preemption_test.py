"""PreemptionWatch: SIGTERM as a flag."""

import os
import signal

from keras_bigbatch.checkpoint import PreemptionWatch


def test_preemption_watch_turns_sigterm_into_a_flag():
    previous = signal.getsignal(signal.SIGTERM)
    with PreemptionWatch() as watch:
        assert not watch.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert watch.requested
    assert signal.getsignal(signal.SIGTERM) is previous
