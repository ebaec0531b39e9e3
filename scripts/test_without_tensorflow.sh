#!/usr/bin/env bash
# The package without TensorFlow: JAX (and then PyTorch) only. CI runs it after
# scripts/test.sh. Usage: bash scripts/test_without_tensorflow.sh [pytest arguments]
#
# 1. A venv (.venv-notf) with the package, its dependencies and the test tools,
#    jax (CPU) as the Keras backend, and no TensorFlow (checked: the job stops
#    if `import tensorflow` works there).
# 2. KERAS_BACKEND=jax on 2 host CPU devices: the backend-agnostic tests
#    (optimizers, layers, schedules, callbacks, losses, numpy batches) and the
#    JAX trainer's tests, among them keras.distribution data parallelism
#    against one device (tests/training/trainer_jax_test.py).
# 3. One smoke recipe end to end: `keras-bigbatch train generalization_gap
#    --size smoke --strategy data-parallel`, its expected accuracies checked.
# 4. PyTorch: torch==2.13.0 (a CPU build) added to the same venv, the
#    backend-agnostic tests again with KERAS_BACKEND=torch, and the trainer
#    on one device (a digits recipe through the command).
set -euo pipefail
SETUP_START=$SECONDS
export KERAS_BIGBATCH_VENV="${KERAS_BIGBATCH_NOTF_VENV:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv-notf}"
export KERAS_BIGBATCH_TF=none
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
PY="$VENV/bin/python"
START=$SECONDS
echo "== set-up (venv, install) took $((START - SETUP_START)) s"

if "$PY" -c "import tensorflow" 2>/dev/null; then
  echo "error: $VENV has TensorFlow installed; this job must run without it." >&2
  exit 1
fi

check_expected() {  # results.json, replicas per run: every expected accuracy met
  "$PY" - "$1" "$2" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
checks = results["expected"]
failed = [c for c in checks if not c["ok"]]
replicas = {r["num_replicas"] for r in results["results"]}
assert checks and not failed, f"expected accuracies not met: {failed}"
assert replicas == {int(sys.argv[2])}, f"expected {sys.argv[2]} replica(s) per run: {replicas}"
print(f"{sys.argv[1]}: {len(checks)} expected checks ok, {sys.argv[2]} replica(s) per run")
PY
}

# tests/backends is left out: it re-runs the same parts in a subprocess per backend
# (about 2 minutes here), which the library tests below already cover on each backend.
AGNOSTIC=(tests/optimizers tests/layers tests/schedules tests/callbacks tests/losses
          tests/data/batches_test.py tests/micro_batching)
RUN_DIR="$(mktemp -d)"
trap 'rm -rf "$RUN_DIR"' EXIT

echo "== JAX backend, 2 CPU devices, no TensorFlow ($((SECONDS - START)) s)"
KERAS_BACKEND=jax JAX_PLATFORMS=cpu XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BIGBATCH_REQUIRE_DEVICES=1 \
  "$PY" -m pytest -q -p no:cacheprovider -n "${KERAS_BIGBATCH_TEST_WORKERS:-2}" \
  "${AGNOSTIC[@]}" tests/training/trainer_jax_test.py tests/checkpoint tests/distribute/runtime_test.py \
  tests/training/plan_test.py tests/training/result_test.py tests/training/own_model_test.py \
  tests/data/adapters_test.py "$@"

echo "== smoke recipe, data-parallel over 2 CPU devices ($((SECONDS - START)) s)"
KERAS_BACKEND=jax JAX_PLATFORMS=cpu "$VENV/bin/keras-bigbatch" train generalization_gap \
  --size smoke --strategy data-parallel --cpu-devices 2 --output "$RUN_DIR/smoke"
check_expected "$RUN_DIR/smoke/results.json" 2

echo "== PyTorch backend ($((SECONDS - START)) s)"
if ! "$PY" -c "import torch" 2>/dev/null; then
  # 2.13.0: the CPU build this machine's pip finds on disk (a newer one is a CUDA build of GBs)
  "$PY" -m pip install -q "torch==2.13.0"
fi
KERAS_BACKEND=torch "$PY" -m pytest -q -p no:cacheprovider -n "${KERAS_BIGBATCH_TEST_WORKERS:-2}" \
  "${AGNOSTIC[@]}" "$@"
echo "== the trainer on PyTorch, one device ($((SECONDS - START)) s)"
KERAS_BACKEND=torch "$VENV/bin/keras-bigbatch" train tests/training/digits_recipe.py --runs A \
  --output "$RUN_DIR/torch"
check_expected "$RUN_DIR/torch/results.json" 1
echo "== the trainer on PyTorch in micro-batches: the same updates and accuracy ($((SECONDS - START)) s)"
KERAS_BACKEND=torch "$VENV/bin/keras-bigbatch" train tests/training/digits_recipe.py --runs A \
  --set micro_batch_size=16 --output "$RUN_DIR/torch-micro"
check_expected "$RUN_DIR/torch-micro/results.json" 1
"$PY" - "$RUN_DIR/torch/results.json" "$RUN_DIR/torch-micro/results.json" <<'PY'
import json, sys
whole, micro = (json.load(open(p))["results"][0] for p in sys.argv[1:])
assert micro["updates"] == whole["updates"], (micro["updates"], whole["updates"])
assert abs(micro["test_accuracy"] - whole["test_accuracy"]) < 1e-6, (micro, whole)
print(f"torch micro-batches: {micro['updates']} updates, test accuracy {micro['test_accuracy']:.4f}"
      f" = {whole['test_accuracy']:.4f} in one pass")
PY
echo "== without TensorFlow: all passed in $((SECONDS - START)) s"
