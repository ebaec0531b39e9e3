# Shared set-up for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Creates or reuses .venv, installs the package with its extras, and makes
# sure Debian's Fashion-MNIST files are present. Safe to run again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${KERAS_BIGBATCH_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
# Which TensorFlow build to install: "cpu" (tensorflow-cpu, default here),
# "tensorflow" (the full build, for GPUs), or "none" (keep whatever exists).
TF_EXTRA="${KERAS_BIGBATCH_TF:-cpu}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@";
  else return 1; fi
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating virtual environment $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    echo "== python3 -m venv failed; installing Debian's python3-venv"
    as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv >/dev/null || {
      echo "error: cannot create a virtual environment. Run as root or install it yourself:" >&2
      echo "  sudo apt-get install python3-venv" >&2
      exit 1
    }
    "$PYTHON" -m venv "$VENV"
  fi
fi

STAMP="$VENV/.keras_bigbatch-installed"
EXTRAS="test,docs"
[ "$TF_EXTRA" != none ] && EXTRAS="$TF_EXTRA,test,docs"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ "$(cat "$STAMP")" != "$EXTRAS" ]; then
  echo "== installing keras-bigbatch[$EXTRAS] into $VENV (first time: a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"
  echo "$EXTRAS" > "$STAMP"
fi

FMNIST_DIR="${KERAS_BIGBATCH_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
if [ ! -f "$FMNIST_DIR/train-images-idx3-ubyte.gz" ] && [ ! -f "$FMNIST_DIR/train-images-idx3-ubyte" ]; then
  echo "== Fashion-MNIST not found in $FMNIST_DIR; installing Debian's dataset-fashion-mnist"
  if ! { as_root apt-get update -qq && as_root apt-get install -y -qq dataset-fashion-mnist >/dev/null; }; then
    echo "error: Fashion-MNIST is missing and this user cannot install packages." >&2
    echo "  As root:   sudo apt-get update && sudo apt-get install dataset-fashion-mnist" >&2
    echo "  Or put the four IDX files in a folder and set KERAS_BIGBATCH_FASHION_MNIST_DIR=/that/folder" >&2
    exit 1
  fi
fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
