"""`RunLogs`: a run's TensorBoard scalars, read back with TensorBoard's own reader."""

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from keras_bigbatch.training import trainer
from keras_bigbatch.training.config import merge
from keras_bigbatch.training.plan import plan

# 1348 training examples in batches of 64: 21 updates an epoch, 42 in all;
# the rate decays x0.1 after epoch 1, so update t (1-based) uses 0.2 for t <= 21.
CONFIG = {
    "name": "digits", "seed": 1, "data": {"source": "digits"},
    "model": {"name": "mlp", "hidden_units": (32,)},
    "schedule": {"batch_size": 64, "epochs": 2, "learning_rate": 0.2, "boundaries": (1,),
                 "decay": 0.1},
    "evaluation": {"evaluations": 2},
}


def scalars(log_dir):
    """`{tag: [(step, value), ...]}` as TensorBoard shows them (restarts purged)."""
    events = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={event_accumulator.SCALARS: 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"]}


def test_a_run_logs_its_scalars_at_its_updates(tmp_path):
    result = trainer.train(CONFIG, verbose=False, log_dir=tmp_path / "logs")
    logged = scalars(tmp_path / "logs")
    assert {"batch/loss", "batch/accuracy", "batch/learning_rate", "batch/batch_size",
            "batch/examples_per_second", "epoch/loss", "epoch/accuracy",
            "epoch/test_accuracy", "epoch/learning_rate", "epoch/batch_size"} <= set(logged)
    steps = [step for step, _ in logged["batch/loss"]]
    if keras.backend.backend() == "tensorflow":  # hooks in the loop
        assert steps == list(range(1, 43))  # every update
    else:  # on Keras's thread pool: in step order, none lost at this pace
        assert steps == sorted(set(steps)) and len(steps) >= 40 and steps[-1] == 42
    schedule = plan(CONFIG).learning_rate_schedule()
    for step, rate in logged["batch/learning_rate"]:  # update t's rate: schedule(t - 1)
        assert rate == pytest.approx(float(keras.ops.convert_to_numpy(schedule(step - 1))))
    assert logged["batch/learning_rate"][20][1] == pytest.approx(0.2)  # update 21
    assert logged["batch/learning_rate"][21][1] == pytest.approx(0.02)  # update 22
    assert [step for step, _ in logged["epoch/loss"]] == [21, 42]
    assert [v for _, v in logged["epoch/loss"]] == pytest.approx(result.history["loss"])
    assert logged["epoch/test_accuracy"][-1][1] == pytest.approx(result.test_accuracy)
    assert {v for _, v in logged["batch/batch_size"]} == {64.0}


@pytest.mark.tensorflow  # batch growth feeds a tf.data pipeline
def test_batch_growth_logs_each_epoch_s_global_batch(tmp_path):
    config = merge(CONFIG, {"batch_growth.enabled": True, "schedule.batch_size": 32,
                            "schedule.decay": 0.5})
    trainer.train(config, verbose=False, log_dir=tmp_path)
    logged = scalars(tmp_path)
    assert [v for _, v in logged["epoch/batch_size"]] == [32.0, 64.0]
    run = plan(config)
    assert [s for s, _ in logged["epoch/batch_size"]] == list(run.updates_before[1:])
    sizes = dict(logged["batch/batch_size"])
    assert sizes[run.updates_before[1]] == 32 and sizes[run.updates_before[1] + 1] == 64


class _StopAt(keras.callbacks.Callback):
    """Ctrl-C after update `step` (a crash past the last checkpoint)."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) == self.step:
            raise KeyboardInterrupt


def test_a_resumed_run_s_logs_hold_each_update_once(tmp_path):
    config = merge(CONFIG, {"checkpoint.every_steps": 10})
    folders = {"checkpoint_dir": tmp_path / "checkpoints", "log_dir": tmp_path / "logs"}
    with pytest.raises(KeyboardInterrupt):  # checkpoints at 10, 20, 30; stopped after 35
        trainer.train(config, callbacks=[_StopAt(35)], verbose=False, **folders)
    # the stop came from a callback before the logs' at update 35: 1..34 logged
    assert [s for s, _ in scalars(tmp_path / "logs")["batch/loss"]] == list(range(1, 35))
    resumed = trainer.train(config, verbose=False, **folders)  # from update 30
    logged = scalars(tmp_path / "logs")
    assert len(list((tmp_path / "logs").iterdir())) == 2
    assert [s for s, _ in logged["batch/loss"]] == list(range(1, 43))  # 31..34 once, the rerun's
    assert [s for s, _ in logged["epoch/loss"]] == [21, 42]
    assert logged["epoch/loss"][-1][1] == pytest.approx(resumed.history["loss"][-1])
    uninterrupted = scalars_of_a_fresh_run(config, tmp_path / "fresh")
    np.testing.assert_allclose([v for _, v in logged["batch/learning_rate"]],
                               [v for _, v in uninterrupted["batch/learning_rate"]])


def scalars_of_a_fresh_run(config, folder):
    trainer.train(config, verbose=False, log_dir=folder)
    return scalars(folder)
