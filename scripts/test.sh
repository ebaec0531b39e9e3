#!/usr/bin/env bash
# The test suite. Usage: bash scripts/test.sh [pytest arguments]
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
# The docs site's browser test renders pages in Debian's headless Chromium;
# without it (and without root to install it) that one test is skipped.
if [ -z "${KERAS_BIGBATCH_NO_BROWSER:-}" ] && ! command -v chromium >/dev/null; then
  echo "== installing Debian's chromium (the docs site's browser test)"
  { as_root apt-get update -qq && as_root apt-get install -y -qq chromium >/dev/null; } ||
    echo "warning: chromium is not installed; tests/docs/site_test.py's browser test is skipped" >&2
fi
# Two pytest workers (pytest-xdist): the suite is mostly single-threaded
# Python and TensorFlow start-up, so 2 cores run it in about 60% of the time.
# KERAS_BIGBATCH_TEST_WORKERS=0 runs it in one process.
exec "$VENV/bin/python" -m pytest -q -n "${KERAS_BIGBATCH_TEST_WORKERS:-2}" --dist loadgroup "$@"
