"""`Progress`: a few lines per run, with the accuracies measured so far."""

import sys
import time

import keras


class Progress(keras.callbacks.Callback):
    """Prints about `lines` progress lines per run, with test accuracy."""

    def __init__(self, name, epochs, lines=5, stream=None):
        super().__init__()
        self.name, self.epochs = name, epochs
        self.every = max(1, epochs // lines)
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        parts = [f"[{self.name}] epoch {epoch + 1}/{self.epochs}"]
        for key in ("loss", "accuracy", "val_accuracy", "test_accuracy"):
            if key in logs:
                parts.append(f"{key} {logs[key]:.4f}")
        parts.append(f"{time.perf_counter() - self.start:.0f}s")
        print("  ".join(parts), file=self.stream, flush=True)


def run_callbacks(run, stop, *, verbose=True, log_dir=None):
    """The callbacks that show a run: progress lines (`verbose`), TensorBoard (`log_dir`)."""
    del log_dir  # TensorBoard: to come
    return [Progress(run.name, stop)] if verbose else []
