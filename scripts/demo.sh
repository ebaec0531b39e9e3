#!/usr/bin/env bash
# The main demo: Hoffer et al.'s generalization-gap table on Fashion-MNIST.
# Usage: bash scripts/demo.sh [extra arguments, e.g. --size smoke --strategy mirrored]
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
exec "$VENV/bin/keras-bigbatch" train generalization_gap "$@"
