#!/usr/bin/env bash
# The test suite. Usage: bash scripts/test.sh [pytest arguments]
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
# Two pytest workers (pytest-xdist): the suite is mostly single-threaded
# Python and TensorFlow start-up, so 2 cores run it in about 60% of the time.
# KERAS_BIGBATCH_TEST_WORKERS=0 runs it in one process.
exec "$VENV/bin/python" -m pytest -q -n "${KERAS_BIGBATCH_TEST_WORKERS:-2}" --dist loadgroup "$@"
