#!/usr/bin/env bash
# The test suite. Usage: bash scripts/test.sh [pytest arguments]
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
exec "$VENV/bin/python" -m pytest -q "$@"
