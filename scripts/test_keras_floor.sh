#!/usr/bin/env bash
# The library's tests under the oldest Keras (and Keras Tuner) that pyproject.toml allows.
# Usage: bash scripts/test_keras_floor.sh [pytest arguments]
#
# Reads the floor from the `keras>=X` requirement in pyproject.toml, installs
# exactly keras==X into .keras-floor/ (plus any of its requirements the main
# venv does not satisfy), layers that folder over the main venv through
# PYTHONPATH, checks that `import keras` finds it there, and runs the tests.
# The main venv is not touched. CI runs it after scripts/test.sh.
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
FLOOR_DIR="${KERAS_BIGBATCH_FLOOR_DIR:-$ROOT/.keras-floor}"

FLOOR="$("$VENV/bin/python" - <<'PY'
import tomllib
from packaging.requirements import Requirement

with open("pyproject.toml", "rb") as f:
    dependencies = tomllib.load(f)["project"]["dependencies"]
keras = [Requirement(d) for d in dependencies if Requirement(d).name == "keras"]
floors = [s.version for r in keras for s in r.specifier if s.operator == ">="]
if len(floors) != 1:
    raise SystemExit(f"pyproject.toml must require keras>=FLOOR exactly once; found {dependencies}")
print(floors[0])
PY
)"

floor_keras_version() {  # the version `import keras` finds in $FLOOR_DIR, if it finds it there
  PYTHONPATH="$FLOOR_DIR" "$VENV/bin/python" -c '
import os, sys, keras
if os.path.realpath(keras.__file__).startswith(os.path.realpath(sys.argv[1]) + os.sep):
    print(keras.__version__)' "$FLOOR_DIR" 2>/dev/null
}

same_version() {
  "$VENV/bin/python" -c "import sys; from packaging.version import Version as V; sys.exit(V('$1') != V('$2'))"
}

CACHED="$(floor_keras_version || true)"
if ! same_version "${CACHED:-0}" "$FLOOR"; then
  echo "== installing keras==$FLOOR into $FLOOR_DIR"
  rm -rf "$FLOOR_DIR"
  "$VENV/bin/python" -m pip install -q --no-deps --target "$FLOOR_DIR" "keras==$FLOOR"
fi

# Requirements of that keras which neither the main venv nor $FLOOR_DIR satisfies.
MISSING="$(PYTHONPATH="$FLOOR_DIR" "$VENV/bin/python" - "$FLOOR_DIR" <<'PY'
import sys
from importlib import metadata
from packaging.requirements import Requirement

(keras,) = [d for d in metadata.distributions(path=[sys.argv[1]]) if d.metadata["Name"] == "keras"]
for line in keras.requires or []:
    requirement = Requirement(line)
    if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
        continue
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        installed = None
    if installed is None or not requirement.specifier.contains(installed, prereleases=True):
        print(f"{requirement.name}{requirement.specifier}")
PY
)"
if [ -n "$MISSING" ]; then
  echo "== keras==$FLOOR also needs:" $MISSING
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q --no-deps --upgrade --target "$FLOOR_DIR" $MISSING
fi

# keras-tuner's floor too (keras_bigbatch.tuner; 1.4.5 and older import keras_core).
TUNER_FLOOR="$("$VENV/bin/python" - <<'PY'
import tomllib
from packaging.requirements import Requirement

with open("pyproject.toml", "rb") as f:
    dependencies = tomllib.load(f)["project"]["dependencies"]
floors = [s.version for d in dependencies if Requirement(d).name == "keras-tuner"
          for s in Requirement(d).specifier if s.operator == ">="]
if len(floors) != 1:
    raise SystemExit(f"pyproject.toml must require keras-tuner>=FLOOR exactly once; found {dependencies}")
print(floors[0])
PY
)"
floor_tuner_version() {
  PYTHONPATH="$FLOOR_DIR" "$VENV/bin/python" -c '
import os, sys, keras_tuner
if os.path.realpath(keras_tuner.__file__).startswith(os.path.realpath(sys.argv[1]) + os.sep):
    print(keras_tuner.__version__)' "$FLOOR_DIR" 2>/dev/null
}
if ! same_version "$(floor_tuner_version || echo 0)" "$TUNER_FLOOR"; then
  echo "== installing keras-tuner==$TUNER_FLOOR into $FLOOR_DIR"
  "$VENV/bin/python" -m pip install -q --no-deps --upgrade --target "$FLOOR_DIR" "keras-tuner==$TUNER_FLOOR"
fi
if ! same_version "$(floor_tuner_version || echo 0)" "$TUNER_FLOOR"; then
  echo "error: import keras_tuner with $FLOOR_DIR first on PYTHONPATH does not give the floor $TUNER_FLOOR" >&2
  exit 1
fi

INSTALLED="$(floor_keras_version || true)"
if ! same_version "${INSTALLED:-0}" "$FLOOR"; then
  echo "error: import keras with $FLOOR_DIR first on PYTHONPATH gives ${INSTALLED:-no keras from there}, not the floor $FLOOR" >&2
  exit 1
fi
echo "== keras $INSTALLED and keras-tuner $TUNER_FLOOR from $FLOOR_DIR (the floors in pyproject.toml) over $VENV"

# Every package's tests, the trainer, the tuner and the command included, and
# the JAX run (tests/backends); not the studies (tests/studies_test.py), the
# notebooks' executions (tests/notebooks: they run the trainer's recipes), the
# recipes' smoke runs (tests/recipes: ~8 minutes of ResNet-50/AlexNet steps
# that exercise the same trainer calls as tests/training) or the packaging
# checks, which are not library code.
export PYTHONPATH="$FLOOR_DIR${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m pytest -q -n "${KERAS_BIGBATCH_TEST_WORKERS:-2}" --dist loadgroup \
  tests/optimizers tests/layers tests/schedules tests/callbacks tests/losses tests/models \
  tests/distribute tests/data tests/checkpoint tests/training tests/tuner tests/cli tests/backends \
  tests/micro_batching \
  tests/durations_test.py tests/registry_test.py \
  tests/arguments_test.py tests/notebook_test.py "$@"
