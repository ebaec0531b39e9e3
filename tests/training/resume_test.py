"""Exact resume: a run killed with SIGKILL (or stopped by SIGTERM) at a random
step and rerun with the same command equals the uninterrupted run, bit for bit.

Every run here is the real `keras-bigbatch train` command in its own process
with `--deterministic`, on scikit-learn's digits (63 updates in 3 epochs of
21, a checkpoint every 7: mid-epoch ones and ones at epoch ends). The kill
steps are random; the seed is printed with every failure
(KERAS_BIGBATCH_RESUME_SEED=N repeats it). What defines "right" is an uninterrupted run of the
same command: the saved `model.keras` (weights and optimizer state), its
`history.json` and its row of `results.json` must be identical.
"""

import fcntl
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tests.multi_process import free_ports

# One xdist worker runs the whole module: its references are made once.
pytestmark = pytest.mark.xdist_group("resume")

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = os.path.join(HERE, "digits_recipe.py")
REPO = os.path.dirname(os.path.dirname(HERE))
EVERY = 7
SCENARIOS = {
    "single": [],
    "mirrored": ["--strategy", "mirrored", "--cpu-devices", "2"],
    # a growing batch inside one fit: 32 -> 64 -> 128 (73 updates)
    "batch_growth": ["--set", "batch_growth.enabled=true", "--set", "schedule.boundaries=1,2",
                     "--set", "schedule.decay=0.5", "--set", "schedule.batch_size=32"],
}
SEED = int(os.environ.get("KERAS_BIGBATCH_RESUME_SEED", time.time_ns() % 1_000_000))
_RANDOM = random.Random(SEED)


def command(output, extra):
    return [sys.executable, "-m", "keras_bigbatch.training", "train", RECIPE, "--runs", "A",
            "--deterministic", "--set", f"checkpoint.every_steps={EVERY}",
            "--output", str(output), *extra]


def start(output, extra, env=None):
    env = dict(os.environ if env is None else env, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(command(output, extra), cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(proc, expect=0, timeout=240):
    try:
        text = proc.communicate(timeout=timeout)[0]
    finally:
        proc.kill()
    assert proc.returncode == expect, text[-4000:]
    return text


def checkpoint_steps(output):
    folder = os.path.join(output, "A", "checkpoints")
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted(int(n[5:13]) for n in names if n.startswith("ckpt-") and n.endswith(".json"))


def kill_after(proc, output, step, seconds):
    """SIGKILL `proc` `seconds` after a checkpoint at or past `step` exists."""
    while not checkpoint_steps(output) or checkpoint_steps(output)[-1] < step:
        assert proc.poll() is None, proc.communicate()[0][-4000:]
        time.sleep(0.002)
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def kill_at_random(launch, output, last=63):
    """Starts `launch(output)` (a list of processes) and SIGKILLs them at a random
    step; tries again (a new draw) if the run finished first: a digits step
    takes milliseconds. Returns the checkpoint steps left and what was drawn."""
    for attempt in range(4):
        step, delay = _RANDOM.randrange(EVERY, 50), _RANDOM.uniform(0, 0.05 / (attempt + 1))
        procs = launch(output)
        kill_after(procs[-1], output, step, delay)  # the last worker, if several
        for proc in procs[:-1]:  # they cannot go on alone: a scheduler restarts them all
            proc.kill()
            proc.communicate()
        saved = checkpoint_steps(output)
        where = (f"seed {SEED}: killed {delay:.3f} s after the checkpoint of step {step} "
                 f"(attempt {attempt + 1}); checkpoints left {saved}")
        if saved[-1] < last:
            return saved, where
        shutil.rmtree(output)
    raise AssertionError(f"{where}: every run finished before the kill")


def run_state(output):
    """Everything an uninterrupted run must reproduce."""
    model = keras.saving.load_model(os.path.join(output, "A", "model.keras"))
    arrays = [np.asarray(v) for v in model.weights + model.optimizer.variables]
    history = json.loads((output / "A" / "history.json").read_text())
    (row,) = json.loads((output / "results.json").read_text())["results"]
    row.pop("wall_time_s")
    row["config"].pop("checkpoint")  # how often it saved: free to change on resume
    return arrays, history, row


def assert_same_run(got, want):
    got_arrays, got_history, got_row = got
    want_arrays, want_history, want_row = want
    assert len(got_arrays) == len(want_arrays)
    for a, b in zip(got_arrays, want_arrays):
        assert a.dtype == b.dtype and np.array_equal(a, b)  # bit for bit
    assert got_history == want_history
    assert got_row == want_row


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run of each scenario, made once (all at once: they
    are bit-identical however busy the machine is)."""
    done = {}

    def get(name):
        if not done:
            outputs = {n: tmp_path_factory.mktemp(f"reference-{n}") for n in SCENARIOS}
            procs = {n: start(outputs[n], extra) for n, extra in SCENARIOS.items()}
            for n, proc in procs.items():
                finish(proc)
                done[n] = (outputs[n], run_state(outputs[n]))
        return done[name]
    return get


@pytest.mark.parametrize("scenario", ["single", "mirrored", "batch_growth"])
def test_sigkill_at_a_random_step_then_rerun_is_exact(tmp_path, reference, scenario):
    _, want = reference(scenario)
    output = tmp_path / "run"
    last = 73 if scenario == "batch_growth" else 63  # the final update
    saved, where = kill_at_random(lambda out: [start(out, SCENARIOS[scenario])], output, last)
    text = finish(start(output, SCENARIOS[scenario]))
    assert f"resumed from {output}/A/checkpoints/ckpt-{saved[-1]:08d}.json" in text, where
    print(f"{scenario}: {where}; resumed at {saved[-1]}")
    assert_same_run(run_state(output), want)


def test_sigkill_mid_write_and_a_truncated_checkpoint_fall_back_to_an_intact_one(
        tmp_path, reference):
    _, want = reference("single")
    # The arrays of step 35 (~25 KB) are written to `ckpt-00000035.npz.tmp-PID`,
    # then renamed. A FIFO at that name whose buffer holds one 4 KiB page, and
    # which nobody reads, stops the writer mid-file: it is killed there.
    folder = tmp_path / "A" / "checkpoints"
    folder.mkdir(parents=True)
    proc = start(tmp_path, [])
    fifo = folder / f"ckpt-{5 * EVERY:08d}.npz.tmp-{proc.pid}"
    os.mkfifo(fifo)
    handle = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a reader: the writer's open returns
    try:
        fcntl.fcntl(handle, fcntl.F_SETPIPE_SZ, 4096)
        while not select.select([handle], [], [], 0.01)[0]:  # until writing has begun
            assert proc.poll() is None, proc.communicate()[0][-4000:]
        time.sleep(0.2)
        assert proc.poll() is None  # blocked mid-file
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        os.close(handle)
    assert checkpoint_steps(tmp_path) == [14, 21, 28]  # the last 3 complete ones
    # ... and the newest complete one is damaged as well (a truncated copy).
    latest = folder / "ckpt-00000028.npz"
    latest.write_bytes(latest.read_bytes()[:100])
    text = finish(start(tmp_path, []))
    assert f"Skipping a damaged checkpoint: {latest} is damaged" in text, text
    # step 21 ends epoch 1: the rerun trains epochs 2 and 3 in one fit
    assert "ckpt-00000021.json: step 21 (epoch 2, 0 of 21 steps done)" in text, text
    assert not any(".tmp-" in name for name in os.listdir(folder))  # the stray file is gone
    assert_same_run(run_state(tmp_path), want)


def test_sigterm_saves_at_the_next_step_exits_143_and_resumes_exactly(tmp_path, reference):
    _, want = reference("single")
    proc = start(tmp_path, ["--set", "checkpoint.every_steps=1000"])  # SIGTERM's save only
    for line in proc.stdout:  # no periodic checkpoint to wait for: wait for an epoch
        if "epoch 1/3" in line:
            break
    proc.send_signal(signal.SIGTERM)
    text = finish(proc, expect=143)
    assert "preempted (SIGTERM): stopped on SIGTERM after saving step" in text, text
    steps = checkpoint_steps(tmp_path)
    assert len(steps) == 1 and 21 <= steps[0] < 63, steps
    text = finish(start(tmp_path, ["--set", "checkpoint.every_steps=1000"]))
    assert f"step {steps[0]} (" in text
    assert_same_run(run_state(tmp_path), want)


def launch_workers(output, extra=()):
    """The command on 2 worker processes on 127.0.0.1 (worker 0 is the chief)."""
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({
            "cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}))
        procs.append(start(output, ["--strategy", "multi-worker", *extra], env))
    return procs


@pytest.fixture(scope="module")
def two_worker_reference(tmp_path_factory):
    output = tmp_path_factory.mktemp("reference-two-workers")
    for proc in launch_workers(output):
        finish(proc)
    return run_state(output)


def test_two_workers_one_killed_then_both_rerun_is_exact(tmp_path, two_worker_reference):
    output = tmp_path / "run"
    saved, where = kill_at_random(launch_workers, output)  # worker 1 first, then the chief
    texts = [finish(proc) for proc in launch_workers(output)]
    for text in texts:  # every worker resumes from the same step
        assert f"ckpt-{saved[-1]:08d}.json: step {saved[-1]}" in text, f"{where}\n{text}"
    want = two_worker_reference
    assert_same_run(run_state(output), want)
    # worker 1 wrote its copy of the model into output/worker-1: the same run
    worker_model = keras.saving.load_model(output / "worker-1" / "A" / "model.keras")
    for a, b in zip(worker_model.weights, want[0]):
        assert np.array_equal(np.asarray(a), b)


def test_two_workers_sigterm_to_one_stops_both_at_the_same_step(tmp_path, two_worker_reference):
    rare = ["--set", "checkpoint.every_steps=1000"]  # SIGTERM's save only
    chief, worker = launch_workers(tmp_path, rare)
    for line in chief.stdout:  # wait for an epoch
        if "epoch 1/3" in line:
            break
    worker.send_signal(signal.SIGTERM)  # only worker 1 hears it
    texts = [finish(proc, expect=143) for proc in (chief, worker)]
    steps = checkpoint_steps(tmp_path)
    assert len(steps) == 1 and 21 <= steps[0] < 63, steps
    for text in texts:
        assert f"after saving step {steps[0]}" in text, text
    texts = [finish(proc) for proc in launch_workers(tmp_path, rare)]
    for text in texts:
        assert f"ckpt-{steps[0]:08d}.json: step {steps[0]} (" in text, text
    assert_same_run(run_state(tmp_path), two_worker_reference)
