"""The backend-agnostic parts (layers, schedules, callbacks, optimizers) on JAX and torch.

Runs `python -m tests.backends._backend_checks` in a fresh process with
KERAS_BACKEND=jax, then torch (one process per backend: a backend is chosen
once per process); a backend whose package is not installed is skipped.
"""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_backend_checks(backend):
    pytest.importorskip(backend)
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.backends._backend_checks"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f"ALL OK on {backend}" in proc.stdout
