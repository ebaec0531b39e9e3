"""Atomic training checkpoints in a folder: arrays, a manifest, the last K kept.

```
DIR/ckpt-00000120.npz            every array (weights, optimizer slots, ...)
DIR/ckpt-00000120.worker-1.npz   worker 1's own arrays (multi-worker only)
DIR/ckpt-00000120.json           the manifest, written last: {"step", "state",
                                 "arrays": its file, "files": {name: {"bytes", "sha256"}}}
```

A checkpoint exists only once its manifest does. Each file is written to a
temporary name in the same folder and then renamed, so a process killed
while writing leaves a stray temporary file (removed by the next save), never
a half-written checkpoint that looks complete. The manifest records the size
and SHA-256 of the arrays file, so a truncated or damaged file is detected
when it is read, not when training produces nonsense.

`latest()` returns the newest checkpoint that reads back whole; when a newer
one is damaged it warns, names the file and falls back to the one before. If
checkpoints exist and none is usable, `CheckpointError` names every file.

`state` is a JSON-able dict whose values may include numpy arrays (at any
depth): `pack` moves them into the arrays file and `unpack` puts them back.
A local DIR is read and written with plain file calls (no TensorFlow); a URL
(`gs://`, or any file system TensorFlow reads, tested on `ram://`) goes
through `tf.io.gfile`, which needs TensorFlow installed.
"""

import hashlib
import io
import json
import os
import re
import warnings

import numpy as np

from keras_bigbatch.checkpoint import files

_NAME = re.compile(r"^ckpt-(\d{8,})\.json$")
_ARRAY_REF = "__array__"


class CheckpointError(ValueError):
    """No usable checkpoint, or one that does not fit the run (names the files)."""


def pack(state, arrays=None, prefix="state"):
    """`(json_state, arrays)`: `state` with each numpy array replaced by a reference."""
    arrays = {} if arrays is None else arrays

    def walk(value, path):
        if isinstance(value, np.ndarray):
            key = f"{prefix}/{path}"
            arrays[key] = value
            return {_ARRAY_REF: key}
        if isinstance(value, dict):
            return {str(k): walk(v, f"{path}/{k}") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(value)]
        if isinstance(value, np.generic):
            return value.item()
        return value

    return walk(state, ""), arrays


def unpack(json_state, arrays):
    """The inverse of `pack`."""
    if isinstance(json_state, dict):
        if set(json_state) == {_ARRAY_REF}:
            return arrays[json_state[_ARRAY_REF]]
        return {k: unpack(v, arrays) for k, v in json_state.items()}
    if isinstance(json_state, list):
        return [unpack(v, arrays) for v in json_state]
    return json_state


class Checkpoint:
    """One checkpoint read back: `step`, `state` (arrays restored), `arrays`, `path`."""

    def __init__(self, step, state, arrays, path):
        self.step, self.state, self.arrays, self.path = step, state, arrays, path

    def __repr__(self):
        return f"Checkpoint(step={self.step}, path={self.path!r})"


def _gfile(path):
    """The file system of `path` (see `checkpoint.files`), with a checkpoint's error."""
    try:
        return files.filesystem(path)
    except ValueError as error:
        raise CheckpointError(f"Checkpoint folder: {error}") from None


def _npz_bytes(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _read_npz(data, path):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
            return {key: loaded[key] for key in loaded.files}
    except Exception as error:  # zipfile, ValueError, EOFError: all mean "damaged"
        raise CheckpointError(f"{path} is damaged: {error}") from None


class CheckpointStore:
    """The checkpoints of one run in `directory`, the newest `keep` kept.

    Args:
        directory: a folder (local, `gs://`, `ram://`, ...); created on the
            first save.
        keep: how many complete checkpoints to keep (>= 1). Default 3.

    Example:

        >>> store = CheckpointStore("ram://run/checkpoints", keep=2)
        >>> store.save(10, {"w": np.ones(3)}, {"epoch": 1})
        'ram://run/checkpoints/ckpt-00000010.json'
        >>> store.latest().state
        {'epoch': 1}
    """

    def __init__(self, directory, keep=3):
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
            raise ValueError(f"Argument `keep` must be an integer >= 1. Received: keep={keep!r}")
        self.directory = str(directory).rstrip("/")
        self.keep = keep

    def _path(self, step, suffix):
        return f"{self.directory}/ckpt-{step:08d}{suffix}"

    def manifest_path(self, step):
        return self._path(step, ".json")

    def steps(self):
        """Steps that have a manifest, oldest first."""
        gfile = _gfile(self.directory)
        if not gfile.isdir(self.directory):
            return []
        found = (_NAME.match(name) for name in gfile.listdir(self.directory))
        return sorted(int(match.group(1)) for match in found if match)

    def _write(self, path, data):
        _gfile(self.directory)  # a clear error for a URL without TensorFlow
        files.write_atomically(path, data)

    def save_arrays(self, step, arrays, suffix=".npz"):
        """Writes an arrays file of `step`; returns its `{"bytes", "sha256"}`."""
        _gfile(self.directory).makedirs(self.directory)
        data = _npz_bytes(arrays)
        self._write(self._path(step, suffix), data)
        return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def save(self, step, arrays, state, extra_files=None):
        """Writes checkpoint `step` (arrays, then the manifest) and prunes old ones.

        Saving a step that already has a checkpoint (a finished run's final
        save after its last epoch's) writes the arrays under a new name, so
        the old checkpoint stays whole until the new manifest replaces it.

        Args:
            step: the update count the checkpoint holds (>= 0).
            arrays: `{name: numpy array}`.
            state: a JSON-able dict; numpy arrays inside it are stored with
                `arrays` (see `pack`).
            extra_files: `{suffix: {"bytes", "sha256"} or None}` of files
                written with `save_arrays(step, ..., suffix)` that belong to
                this checkpoint (a multi-worker run's per-worker arrays; None
                when another process wrote it: reading then checks the zip's
                CRC-32s).

        Returns:
            The manifest's path.
        """
        json_state, arrays = pack(state, dict(arrays))
        suffix, again = ".npz", 0
        gfile = _gfile(self.directory)
        while gfile.exists(self._path(step, suffix)):
            again += 1
            suffix = f".r{again}.npz"
        name = f"ckpt-{step:08d}{suffix}"
        files = {name: self.save_arrays(step, arrays, suffix)}
        files.update({f"ckpt-{step:08d}{s}": v for s, v in (extra_files or {}).items()})
        manifest = {"format": 1, "step": int(step), "arrays": name, "state": json_state,
                    "files": files}
        path = self.manifest_path(step)
        self._write(path, json.dumps(manifest).encode())
        self.prune()
        return path

    def _step_files(self):
        """`{step: [file names]}` of every `ckpt-*` file but the manifests."""
        found = {}
        for name in _gfile(self.directory).listdir(self.directory):
            match = re.match(r"^ckpt-(\d{8,})\.", name)
            if match and not _NAME.match(name):
                found.setdefault(int(match.group(1)), []).append(name)
        return found

    def _drop(self, step):
        # The manifest goes first: a checkpoint without it no longer exists.
        _remove(self.manifest_path(step))
        for name in self._step_files().get(step, ()):
            _remove(f"{self.directory}/{name}")

    def prune(self):
        """Keeps the newest `keep` checkpoints and the files they list.

        Also removes what killed writers left: temporary files, and arrays
        files that no manifest lists (older than the newest checkpoint).
        """
        gfile = _gfile(self.directory)
        if not gfile.isdir(self.directory):
            return
        steps = self.steps()
        for step in steps[:-self.keep]:
            self._drop(step)
        kept = steps[-self.keep:]
        listed = set()
        for step in kept:
            try:
                listed.update(self.read_manifest(step)["files"])
            except CheckpointError:
                listed.update(self._step_files().get(step, ()))  # damaged: leave it be
        newest = max(kept, default=-1)
        for step, names in self._step_files().items():
            for name in names:
                stray = ".tmp-" in name and not name.endswith(f".tmp-{os.getpid()}")
                if stray or (name not in listed and ".tmp-" not in name and step <= newest):
                    _remove(f"{self.directory}/{name}")

    def discard_newer(self, step):
        """Removes every checkpoint after `step` (damaged ones a run fell back
        from), so that they never take the place of new ones."""
        for newer in [s for s in self.steps() if s > step]:
            self._drop(newer)

    def read_manifest(self, step):
        """The manifest of `step` as a dict; `CheckpointError` if unreadable."""
        path = self.manifest_path(step)
        try:
            with _gfile(self.directory).GFile(path, "rb") as stream:
                manifest = json.loads(stream.read().decode())
            if manifest.get("step") != step or manifest.get("arrays") not in manifest.get(
                    "files", {}):
                raise ValueError("not a keras_bigbatch checkpoint manifest")
            return manifest
        except Exception as error:
            raise CheckpointError(f"{path} is damaged: {error}") from None

    def _read_checked(self, name, expected):
        path = f"{self.directory}/{name}"
        gfile = _gfile(self.directory)
        if not gfile.exists(path):
            raise CheckpointError(f"{path} is missing")
        with gfile.GFile(path, "rb") as stream:
            data = stream.read()
        if expected is None:  # another process's file: the zip's CRC-32s check it
            return _read_npz(data, path)
        if len(data) != expected["bytes"] or hashlib.sha256(data).hexdigest() != expected["sha256"]:
            raise CheckpointError(
                f"{path} is damaged: {len(data)} bytes, expected {expected['bytes']} "
                "(or a different SHA-256)")
        return _read_npz(data, path)

    def load(self, step, suffixes=()):
        """Checkpoint `step`, every file checked; `CheckpointError` if damaged.

        `suffixes` names extra files to read too (e.g. `".worker-1.npz"`);
        their arrays are merged into `arrays`.
        """
        manifest = self.read_manifest(step)
        files = manifest["files"]
        arrays = self._read_checked(manifest["arrays"], files[manifest["arrays"]])
        for suffix in suffixes:
            name = f"ckpt-{step:08d}{suffix}"
            if name not in files:
                raise CheckpointError(
                    f"{self.manifest_path(step)} lists no {name} (written by a run "
                    "with another number of workers?)")
            arrays.update(self._read_checked(name, files[name]))
        return Checkpoint(step, unpack(manifest["state"], arrays), arrays,
                          self.manifest_path(step))

    def latest(self, suffixes=(), at_most=None):
        """The newest checkpoint (at step `at_most` or before) that reads back whole.

        Returns None if there is none; warns for every newer damaged one it
        skips.

        Raises:
            CheckpointError: checkpoints exist but none is usable; the
                message names every file and what is wrong with it.
        """
        steps = [s for s in reversed(self.steps()) if at_most is None or s <= at_most]
        problems = []
        for step in steps:
            try:
                checkpoint = self.load(step, suffixes)
            except CheckpointError as error:
                problems.append(str(error))
                warnings.warn(f"Skipping a damaged checkpoint: {error}. Falling back to "
                              "the one before.", stacklevel=2)
                continue
            return checkpoint
        if problems:
            raise CheckpointError(
                f"No usable checkpoint in {self.directory}: " + "; ".join(problems) +
                ". Remove the folder to start the run over.")
        return None


def _remove(path):
    gfile = _gfile(path)
    try:
        gfile.remove(path)
    except Exception:  # already gone (another process pruned it)
        pass
