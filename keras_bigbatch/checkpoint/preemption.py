"""SIGTERM as a request to save and stop at the next step boundary.

Cloud schedulers preempt a VM or a pod by sending SIGTERM and, after a grace
period (30 s on preemptible GPUs and TPU VMs), SIGKILL. `PreemptionWatch`
turns the signal into a flag that `RunCheckpointer` reads after every
training step: it then writes a checkpoint and raises `Preempted`, which the
`keras-bigbatch` command reports before exiting with status 143 (128 +
SIGTERM), so a scheduler restarts the job instead of counting it done.
"""

import signal
import threading


class Preempted(Exception):
    """Training stopped on SIGTERM after saving `step` to `path`."""

    def __init__(self, step, path):
        super().__init__(f"stopped on SIGTERM after saving step {step} to {path}")
        self.step, self.path = step, path


class PreemptionWatch:
    """A context manager: inside it SIGTERM sets `requested` instead of killing.

    Outside the main thread (where Python cannot install signal handlers)
    it watches nothing and `requested` stays False.

    Example:

        >>> import os, signal
        >>> with PreemptionWatch() as watch:
        ...     os.kill(os.getpid(), signal.SIGTERM)
        ...     watch.requested
        True
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
        return False
