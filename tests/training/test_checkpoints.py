"""Checkpoints that survive damage: one write per step, fallback to the newest readable one, no NaN saved."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import tensorflow as tf

from sketch2color.config import RunConfig
from sketch2color.runs import CheckpointError, CheckpointWriteError, checkpoint_prefixes, latest_checkpoint
from sketch2color.training import build_gan
from sketch2color.training.callbacks import CheckpointCallback, NonFiniteLossError, RunCheckpoint

SIZE = 32


def small_gan():
    config = RunConfig()
    config.data.image_size = SIZE
    config.model.generator_kwargs = {"base_filters": 8}
    config.model.discriminator_kwargs = {"base_filters": 8}
    return build_gan(config, steps_per_epoch=4)


def save_at(run_checkpoint: RunCheckpoint, step: int) -> str:
    """Save as if ``step`` generator updates had been made, with weights that tell the steps apart."""
    run_checkpoint.gan.g_optimizer.iterations.assign(step)
    run_checkpoint.gan.generator.trainable_weights[0].assign(
        tf.fill(run_checkpoint.gan.generator.trainable_weights[0].shape, float(step))
    )
    return run_checkpoint.save()


def first_weight(run_checkpoint: RunCheckpoint) -> float:
    return float(run_checkpoint.gan.generator.trainable_weights[0].numpy().ravel()[0])


@pytest.fixture
def saved_run(tmp_path):
    """A checkpoint folder holding steps 5, 10 and 15."""
    directory = tmp_path / "checkpoints"
    writer = RunCheckpoint(small_gan(), directory, keep=3)
    for step in (5, 10, 15):
        save_at(writer, step)
    assert [p.rsplit("-", 1)[1] for p in checkpoint_prefixes(directory)] == ["15", "10", "5"]
    return directory


def test_a_step_is_written_once(tmp_path):
    writer = RunCheckpoint(small_gan(), tmp_path / "checkpoints", keep=3)
    first = save_at(writer, 7)
    index = tmp_path / "checkpoints" / "ckpt-7.index"
    written = index.stat().st_mtime_ns
    again = writer.save()  # the epoch end right after a periodic save at the same step
    assert again == first and index.stat().st_mtime_ns == written
    assert len(writer.manager.checkpoints) == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_data", "empty_index"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(saved_run, caplog, damage):
    data = sorted(saved_run.glob("ckpt-15.data-*"))
    assert data
    if damage == "truncate":
        data[0].write_bytes(data[0].read_bytes()[: data[0].stat().st_size // 2])
    elif damage == "flip":
        raw = bytearray(data[0].read_bytes())
        for i in range(0, len(raw), 97):
            raw[i] ^= 0xFF
        data[0].write_bytes(bytes(raw))
    elif damage == "delete_data":
        data[0].unlink()
    else:
        (saved_run / "ckpt-15.index").write_bytes(b"")
    reader = RunCheckpoint(small_gan(), saved_run, keep=3)
    with caplog.at_level(logging.WARNING, logger="sketch2color.runs"):
        restored = reader.restore_latest()
    assert restored.endswith("ckpt-10"), restored
    assert reader.step == 10 and first_weight(reader) == 10.0
    assert any("ckpt-15: unreadable checkpoint, skipped" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("state", ["deleted", "garbled"])
def test_checkpoints_are_found_without_the_state_file(saved_run, state):
    state_file = saved_run / "checkpoint"
    if state == "deleted":
        state_file.unlink()
    else:
        state_file.write_text("this is { not a checkpoint state")
    assert tf.train.latest_checkpoint(str(saved_run)) is None  # TensorFlow alone would start from step 0
    assert latest_checkpoint(saved_run.parent).endswith("ckpt-15")
    reader = RunCheckpoint(small_gan(), saved_run, keep=3)
    assert reader.restore_latest().endswith("ckpt-15") and reader.step == 15


def test_no_readable_checkpoint_is_a_clear_error(saved_run):
    for index in saved_run.glob("ckpt-*.index"):
        index.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="none of its 3 checkpoint"):
        RunCheckpoint(small_gan(), saved_run, keep=3).restore_latest()


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    writer = RunCheckpoint(small_gan(), tmp_path / "checkpoints", keep=3)
    save_at(writer, 3)
    writer.gan.g_optimizer.iterations.assign(4)
    weight = writer.gan.generator.trainable_weights[0]
    weight.assign(tf.fill(weight.shape, np.nan))
    with pytest.raises(NonFiniteLossError, match="step 4"):
        writer.save()
    assert [p.rsplit("-", 1)[1] for p in checkpoint_prefixes(tmp_path / "checkpoints")] == ["3"]


def test_a_nan_loss_stops_fit_before_anything_is_saved(tmp_path):
    gan = small_gan()
    writer = RunCheckpoint(gan, tmp_path / "checkpoints", keep=3)
    sketch = tf.random.uniform((2, SIZE, SIZE, 3), -1, 1, seed=1)
    poisoned = tf.fill((2, SIZE, SIZE, 3), np.nan)  # a NaN target makes every loss NaN
    data = tf.data.Dataset.from_tensors((sketch, poisoned)).repeat()
    with pytest.raises(NonFiniteLossError, match="non-finite training loss"):
        gan.fit(data, steps_per_epoch=3, epochs=1, verbose=0, callbacks=[CheckpointCallback(writer, 1)])
    assert checkpoint_prefixes(tmp_path / "checkpoints") == []


def test_fit_writes_each_step_once_when_the_interval_divides_the_epoch(tmp_path):
    gan = small_gan()
    writer = RunCheckpoint(gan, tmp_path / "checkpoints", keep=10)
    written = []
    real_save = writer.manager.save
    writer.manager.save = lambda checkpoint_number: (
        written.append(checkpoint_number) or real_save(checkpoint_number)
    )
    batch = (
        tf.random.uniform((2, SIZE, SIZE, 3), -1, 1, seed=2),
        tf.random.uniform((2, SIZE, SIZE, 3), -1, 1, seed=3),
    )
    data = tf.data.Dataset.from_tensors(batch).repeat()
    gan.fit(
        data, steps_per_epoch=4, epochs=2, verbose=0, callbacks=[CheckpointCallback(writer, every_steps=2)]
    )
    assert written == [2, 4, 6, 8]  # 4 and 8 once each, by the epoch end


@pytest.mark.slow
def test_a_lost_epoch_end_checkpoint_is_redone_with_one_history_row_per_epoch(tmp_path, monkeypatch):
    """A kill after an epoch's history row but before its checkpoint: the rerun redoes that epoch."""
    import csv

    from sketch2color.training import train

    monkeypatch.setenv("SKETCH2COLOR_CACHE", str(tmp_path / "cache"))
    config = RunConfig(run_dir=str(tmp_path / "run"))
    config.data.image_size, config.data.batch_size = SIZE, 2
    config.data.embedded_train, config.data.embedded_val = 8, 2
    config.model.generator_kwargs = {"base_filters": 8}
    config.model.discriminator_kwargs = {"base_filters": 8}
    config.train.epochs, config.train.steps_per_epoch, config.train.checkpoint_every_steps = 2, 3, 0
    config.train.metrics_images, config.train.fid_every, config.train.export = 0, 0, False
    config.train.bn_recalibration_batches = 0
    train(config, verbose=0)
    checkpoints = tmp_path / "run" / "checkpoints"
    assert [p.rsplit("-", 1)[1] for p in checkpoint_prefixes(checkpoints)] == ["6", "3"]
    for part in checkpoints.glob("ckpt-6.*"):  # as if killed between the row and the checkpoint
        part.unlink()
    result = train(config, verbose=0)
    assert result.resumed_from.endswith("ckpt-3") and result.step == 6
    with open(tmp_path / "run" / "history.csv", newline="") as handle:
        epochs = [row["epoch"] for row in csv.DictReader(handle)]
    assert epochs == ["0", "1"]


def failing_save(directory, step):
    """A CheckpointManager.save that dies as a full disk does, after writing part of its files."""

    def save(checkpoint_number=None):
        partial = directory / f"ckpt-{step}_temp" / "part-00000-of-00001.data-00000-of-00001"
        partial.parent.mkdir(parents=True)
        partial.write_bytes(bytes(1000))
        (directory / f"ckpt-{step}.index").write_bytes(b"half an index")
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    return save


def test_a_failed_write_leaves_nothing_of_itself_and_the_previous_checkpoint_usable(saved_run, monkeypatch):
    writer = RunCheckpoint(small_gan(), saved_run, keep=3)
    monkeypatch.setattr(writer.manager, "save", failing_save(saved_run, 20))
    with pytest.raises(CheckpointWriteError) as caught:
        save_at(writer, 20)
    message = str(caught.value)
    assert "ckpt-20" in message and "No space left on device" in message and "ckpt-15 is intact" in message
    assert not list(saved_run.glob("ckpt-20*")), "partial files of the failed write remain"
    reader = RunCheckpoint(small_gan(), saved_run, keep=3)
    assert reader.restore_latest().endswith("ckpt-15") and first_weight(reader) == 15.0


def test_a_full_disk_stops_the_save_cleanly_and_the_next_save_works_once_space_is_free(small_tmpfs):
    directory = small_tmpfs / "checkpoints"
    writer = RunCheckpoint(small_gan(), directory, keep=1)
    save_at(writer, 5)
    one_checkpoint = sum(path.stat().st_size for path in directory.glob("ckpt-5*"))
    filler = small_tmpfs / "filler"
    free = shutil.disk_usage(small_tmpfs).free
    filler.write_bytes(bytes(max(0, free - one_checkpoint // 2)))  # room for half a checkpoint
    with pytest.raises(CheckpointWriteError, match="ckpt-10") as caught:
        save_at(writer, 10)
    assert "ckpt-5 is intact" in str(caught.value) and "No space left on device" in str(caught.value)
    assert not list(directory.glob("ckpt-10*")), "the partial write keeps the disk full"
    reader = RunCheckpoint(small_gan(), directory, keep=1)
    assert reader.restore_latest().endswith("ckpt-5") and first_weight(reader) == 5.0
    filler.unlink()
    assert save_at(writer, 10).endswith("ckpt-10")  # space freed: the same run goes on
