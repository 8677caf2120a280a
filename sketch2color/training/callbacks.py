"""Keras callbacks of a training run: checkpoints, batch-norm statistics, previews, metrics, curves.

:class:`MetricsCallback` adds ``val_psnr``, ``val_ssim``, ``val_l1`` (and ``val_fid``,
``val_kid`` when it has an Inception feature extractor) to each epoch's logs, so a CSVLogger
and TensorBoard placed *after* it in the callback list record them, and redraws
``metrics.png`` and ``progression.png`` (see :mod:`.plots`). Metric definitions (0..255
scale, SSIM settings, PSNR cap, FID protocol): :mod:`sketch2color.evaluation.metrics`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sketch2color.evaluation import metrics
from sketch2color.evaluation.report import save_preview_grid
from sketch2color.models.blocks import all_layers, batch_norm_layers
from sketch2color.runs import CheckpointWriteError, checkpoint_prefixes, restore_newest_readable
from sketch2color.training.plots import (
    FID_KEYS,
    plot_loss_curves,
    plot_metric_curves,
    plot_progression,
    save_progression_epoch,
)

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Training produced NaN or infinite losses or weights; nothing from that point was checkpointed."""


class RunCheckpoint:
    """Generator, discriminator, both optimizers, the epoch counter and, with ``--ema-decay``, the
    generator's weight average, in one tf.train checkpoint.

    A checkpoint is written at most once per step: TensorFlow writes ``ckpt-N`` in place, so a
    second save of the same step (the epoch end right after a periodic save) could be killed
    half-way through the only copy of that step. On resume the newest checkpoint that reads back
    is used (:func:`sketch2color.runs.restore_newest_readable`), and weights that are not finite
    are never saved. Each write is synced to disk; a write that fails (disk full) removes its
    partial files and raises CheckpointWriteError, leaving the earlier checkpoints as they were.
    """

    def __init__(self, gan, directory: str | Path, keep: int = 3):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.gan = gan
        self.directory = Path(directory)
        parts = dict(generator=gan.generator, g_optimizer=gan.g_optimizer, epoch=self.epoch)
        if gan.ema_generator is not None:  # --ema-decay; runs.restore_generator reads it by this name
            parts.update(ema_generator=gan.ema_generator)
        if gan.discriminator is not None:  # no adversary in the reconstruction-only baseline
            parts.update(discriminator=gan.discriminator, d_optimizer=gan.d_optimizer)
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=keep)
        self.keep = keep
        self._saved_step: int | None = None

    @property
    def step(self) -> int:
        """Generator updates so far (the optimizer's own counter, restored with it)."""
        return int(self.gan.g_optimizer.iterations.numpy())

    def save(self) -> str:
        """Write a checkpoint numbered by the global step (once per step); returns its prefix.

        The callbacks never ask twice for one step with different contents (see CheckpointCallback);
        a second call for the same step (an interrupt right after a save) returns the first write.
        """
        step = self.step
        if step == self._saved_step:
            return str(self.directory / f"ckpt-{step}")
        networks = [self.gan.generator] + (
            [self.gan.discriminator] if self.gan.discriminator is not None else []
        )
        if not all(
            bool(tf.reduce_all(tf.math.is_finite(w))) for net in networks for w in net.trainable_weights
        ):
            raise NonFiniteLossError(
                f"step {step}: the weights are no longer finite (NaN or inf); not checkpointed"
            )
        try:
            path = self.manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as error:
            self._remove_partial(step)
            previous = checkpoint_prefixes(self.directory)
            kept = f"{Path(previous[0]).name} is intact" if previous else "no earlier checkpoint exists"
            # TensorFlow puts the op's name first and the cause ("No space left on device") last.
            reason = " ".join(re.sub(r"\{\{.*?\}\}", "", str(error)).split())[-200:] or type(error).__name__
            raise CheckpointWriteError(
                f"{self.directory}: could not write checkpoint ckpt-{step} ({reason}; disk full?). "
                f"Its partial files were removed and {kept}: free some space and run the same "
                "command again to resume"
            ) from None
        _flush_to_disk([*Path(path).parent.glob(Path(path).name + ".*"), self.directory / "checkpoint"])
        self._saved_step = step
        self._prune()
        return path

    def _prune(self) -> None:
        """Delete checkpoints beyond ``keep`` by their files (the manager only knows those its
        state file names, which a kill between a checkpoint and the state file leaves behind)."""
        for prefix in checkpoint_prefixes(self.directory)[self.keep :]:
            for part in Path(prefix).parent.glob(Path(prefix).name + ".*"):
                part.unlink(missing_ok=True)

    def _remove_partial(self, step: int) -> None:
        """Delete what a failed save of ``step`` left: TensorFlow's temporary shards and any part files."""
        for leftover in self.directory.glob(f"ckpt-{step}[._]*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def restore_latest(self) -> str | None:
        """Restore the newest readable checkpoint if there is one; returns its path.

        Temporary shards of a write that was killed are removed first: no writer runs now.
        """
        for leftover in self.directory.glob("ckpt-*_temp"):
            shutil.rmtree(leftover, ignore_errors=True)
        if not checkpoint_prefixes(self.directory):
            return None
        # Optimizer slots must exist before restoring into them.
        self.gan.g_optimizer.build(self.gan.generator.trainable_variables)
        if self.gan.discriminator is not None:
            self.gan.d_optimizer.build(self.gan.discriminator.trainable_variables)
        restored = restore_newest_readable(self.checkpoint, self.directory, partial=False)
        self._saved_step = self.step
        return restored


def _flush_to_disk(files: list[Path]) -> None:
    """fsync ``files`` and their folder: TensorFlow renames a checkpoint into place but never syncs,
    so after a power cut a checkpoint the state file names could still be empty."""
    for path in [*files, *{file.parent for file in files}]:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # not there (no state file yet): nothing to flush
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class CheckpointCallback(keras.callbacks.Callback):
    """Save every ``every_steps`` generator updates and at every epoch end; stop on non-finite losses.

    A step whose training losses are NaN or infinite ends the run at once (NonFiniteLossError):
    the checkpoints on disk are all from before it.
    """

    def __init__(self, run_checkpoint: RunCheckpoint, every_steps: int):
        super().__init__()
        self.run_checkpoint = run_checkpoint
        self.every_steps = max(0, int(every_steps))

    def on_train_batch_end(self, batch, logs=None):
        bad = {key: value for key, value in (logs or {}).items() if not np.isfinite(float(value))}
        if bad:
            raise NonFiniteLossError(
                f"step {self.run_checkpoint.step}: non-finite training loss "
                + ", ".join(f"{key}={float(value)}" for key, value in bad.items())
                + " (lower --lr, check the data); the last checkpoint is from before it"
            )
        # The epoch's last batch is saved by on_epoch_end instead, after the batch-norm
        # recalibration and the epoch counter: one write of that step, with its final state.
        last_of_epoch = batch + 1 == (self.params or {}).get("steps")
        if self.every_steps and self.run_checkpoint.step % self.every_steps == 0 and not last_of_epoch:
            self.run_checkpoint.save()

    def on_epoch_end(self, epoch, logs=None):
        self.run_checkpoint.epoch.assign(epoch + 1)
        self.run_checkpoint.save()


class ThroughputCallback(keras.callbacks.Callback):
    """Adds ``images_per_sec`` (training images per wall-clock second) to each epoch's logs."""

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size
        self._start = 0.0
        self._batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._batches = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._batches:
            logs["images_per_sec"] = self._batches * self.batch_size / (time.perf_counter() - self._start)


def recalibrate_batch_norm(model: keras.Model, batches) -> int:
    """Set each BatchNormalization's moving statistics to the mean batch statistics of ``batches``.

    Why: with momentum 0.9 the moving statistics trail the weights of a generator that is still
    changing fast, so ``training=False`` outputs (previews, validation, export) score worse and
    swing from epoch to epoch. Recomputing them under the current weights ("precise BN") fixes
    inference without touching training, which only uses batch statistics. Dropout is off
    meanwhile, as at inference. ``batches`` yields (model input, target); returns how many were used.
    """
    norms = batch_norm_layers(model)
    if not norms:
        return 0
    dropouts = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Dropout)]
    momenta, rates = [layer.momentum for layer in norms], [layer.rate for layer in dropouts]
    frozen = [not layer.trainable for layer in norms]
    for layer in dropouts:
        layer.rate = 0.0
    for layer in norms:  # a frozen Keras batch norm ignores training=True (the weight average is frozen)
        layer.trainable = True
    count = 0
    try:
        for count, (inputs, _) in enumerate(batches, start=1):
            for layer in norms:  # a running mean: batch k gets weight 1/k
                layer.momentum = (count - 1) / count
            model(inputs, training=True)  # eager, so the momentum set just above is the one used
    finally:
        for layer, momentum, was_frozen in zip(norms, momenta, frozen):
            layer.momentum = momentum
            layer.trainable = not was_frozen
        for layer, rate in zip(dropouts, rates):
            layer.rate = rate
    return count


class BatchNormRecalibration(keras.callbacks.Callback):
    """Recalibrate the generator's batch norm on ``batches`` training batches once per epoch.

    Runs before validation (``on_test_begin``) or, without validation, at the epoch end; place
    it before the preview, metrics and checkpoint callbacks so they all see the new statistics.
    """

    def __init__(self, generator: keras.Model, dataset: tf.data.Dataset, batches: int = 20):
        super().__init__()
        self.generator, self.dataset, self.batches = generator, dataset, batches
        self._done = False

    def on_epoch_begin(self, epoch, logs=None):
        self._done = False

    def on_test_begin(self, logs=None):
        self._recalibrate()

    def on_epoch_end(self, epoch, logs=None):
        self._recalibrate()

    def _recalibrate(self):
        if not self._done and self.batches > 0:
            recalibrate_batch_norm(self.generator, self.dataset.take(self.batches))
        self._done = True


class PreviewCallback(keras.callbacks.Callback):
    """After each epoch, colorize fixed validation sketches and save ``previews/epoch_NNNN.png``.

    The generator runs with ``training=False``: no dropout, and batch-norm statistics are read,
    never updated, so previews do not change the model.
    """

    def __init__(self, generator, sketches, targets, folder: str | Path):
        super().__init__()
        self.generator = generator
        self.sketches = tf.convert_to_tensor(sketches)
        self.targets = np.asarray(targets)
        self.folder = Path(folder)

    def on_epoch_end(self, epoch, logs=None):
        predictions = self.generator(self.sketches, training=False)
        path = self.folder / f"epoch_{epoch + 1:04d}.png"
        # Conditioning planes (palette, hints) follow the first 3 channels: show the sketch.
        sketches = self.sketches.numpy()[..., :3]
        save_preview_grid(
            sketches, np.asarray(predictions, np.float32), self.targets, path, f"epoch {epoch + 1}"
        )


class LossCurvesCallback(keras.callbacks.Callback):
    """Redraws ``losses.png`` from the history CSV after each epoch (runs after the CSV logger)."""

    def __init__(self, history_csv: str | Path, out: str | Path):
        super().__init__()
        self.history_csv, self.out = Path(history_csv), Path(out)

    def on_epoch_end(self, epoch, logs=None):
        plot_loss_curves(self.history_csv, self.out)


def thumbnails(images, size: int) -> np.ndarray:
    """uint8 copies of [-1, 1] or uint8 images, shrunk (antialiased) so the longer side is <= size."""
    images = metrics.to_255(images)
    height, width = int(images.shape[1]), int(images.shape[2])
    if max(height, width) > size:
        scale = size / max(height, width)
        new_size = (max(1, round(height * scale)), max(1, round(width * scale)))
        images = tf.image.resize(images, new_size, method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(images), 0, 255), tf.uint8).numpy()


class MetricsCallback(keras.callbacks.Callback):
    """Per-epoch validation PSNR/SSIM/L1 (+ FID/KID every ``every_fid`` epochs) into the logs.

    ``val_dataset`` yields (model input, color) batches in [-1, 1], unshuffled (its first
    ``progression_samples`` images are the progression rows). ``max_images`` limits the images
    evaluated per epoch (None: all). ``fid_extractor`` is a
    :class:`sketch2color.evaluation.metrics.InceptionFeatureExtractor` (or any callable images ->
    [N, D] features); without one, FID/KID are skipped. Place it before CSVLogger/TensorBoard.
    """

    def __init__(
        self,
        generator: keras.Model,
        val_dataset: tf.data.Dataset,
        run_dir: str | Path,
        every_fid: int = 5,
        fid_extractor=None,
        max_images: int | None = None,
        progression_samples: int = 4,
        progression_columns: int = 8,
        thumbnail_size: int = 128,
        history_file: str = "history.csv",
    ):
        super().__init__()
        self.generator = generator
        self.val_dataset = val_dataset
        self.run_dir = Path(run_dir)
        self.every_fid = max(0, int(every_fid))
        self.fid_extractor = fid_extractor
        self.max_images = max_images
        self.progression_samples = progression_samples
        self.progression_columns = progression_columns
        self.thumbnail_size = thumbnail_size
        self.history_csv = self.run_dir / history_file
        self._real_features = None  # the validation targets never change: extract them once
        self._told_no_fid = False
        self._warned_sample_size = False

    # ----------------------------------------------------------------- keras hook

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        with_fid = self._fid_due(epoch)
        values, progression = self.evaluate(with_fid)
        logs.update(values)
        if self.fid_extractor is not None and not with_fid:
            # Same keys every epoch: CSVLogger fixes its columns at the first epoch.
            logs.update({key: float("nan") for key in FID_KEYS})
        if progression is not None:
            save_progression_epoch(self.run_dir, epoch + 1, *progression)
            plot_progression(
                self.run_dir, self.run_dir / "progression.png", max_columns=self.progression_columns
            )
        plot_metric_curves(self.history_csv, self.run_dir / "metrics.png", current=(epoch, logs))

    def _fid_due(self, epoch: int) -> bool:
        """Whether this epoch computes FID/KID (every ``every_fid`` epochs, with an extractor)."""
        if not self.every_fid or (epoch + 1) % self.every_fid:
            return False
        if self.fid_extractor is None:
            if not self._told_no_fid:
                log.info("MetricsCallback: FID/KID skipped (no Inception feature extractor given)")
                self._told_no_fid = True
            return False
        return True

    # ----------------------------------------------------------------- evaluation

    def evaluate(self, with_fid: bool = False):
        """({val_psnr, val_ssim, val_l1[, val_fid, val_kid]}, (sketches, predictions, targets) thumbnails)."""
        totals = metrics.MetricTotals()
        fake_features, real_features = [], []
        progression = None
        for sketches, targets in self._batches():
            predictions = self.generator(sketches, training=False)
            # float32: mixed precision outputs bfloat16; clip: any output range, as the saved images.
            predictions = tf.clip_by_value(tf.cast(predictions, tf.float32), -1.0, 1.0)
            totals.update(predictions, targets)
            if progression is None and self.progression_samples:
                progression = self._progression_rows(sketches, predictions, targets)
            if with_fid:
                fake_features.append(self.fid_extractor(predictions))
                if self._real_features is None:
                    real_features.append(self.fid_extractor(targets))
        summary = totals.summary()
        values = {"val_psnr": summary["psnr"], "val_ssim": summary["ssim"], "val_l1": summary["l1"]}
        if with_fid:
            values.update(self._fid_values(fake_features, real_features))
        return values, progression

    def _batches(self):
        """Validation batches, cut so that at most ``max_images`` images are seen."""
        seen = 0
        for sketches, targets in self.val_dataset:
            if self.max_images is not None:
                room = self.max_images - seen
                if room <= 0:
                    return
                sketches, targets = sketches[:room], targets[:room]
            seen += int(sketches.shape[0])
            yield sketches, targets

    def _progression_rows(self, inputs, predictions, targets):
        """Thumbnails of the first ``progression_samples`` images of the first batch.

        The sketch column shows the model input's first 3 channels: the sketch (or edges / gray)
        without the palette and hint planes conditioned models also get.
        """
        count = self.progression_samples
        return tuple(
            thumbnails(x[:count], self.thumbnail_size) for x in (inputs[..., :3], predictions, targets)
        )

    def _fid_values(self, fake_features, real_features) -> dict[str, float]:
        """val_fid and val_kid from this epoch's features (real features cached after the first time)."""
        if self._real_features is None:
            self._real_features = np.concatenate(real_features)
        fake = np.concatenate(fake_features)
        if len(fake) < 2:
            return {"val_fid": float("nan"), "val_kid": float("nan")}
        kid, _ = metrics.kid_from_features(fake, self._real_features)
        with warnings.catch_warnings():
            if self._warned_sample_size:  # the small-sample warning once per run, not every N epochs
                warnings.simplefilter("ignore", metrics.FIDSampleSizeWarning)
            self._warned_sample_size = True
            fid = metrics.fid_from_features(fake, self._real_features)
        return {"val_fid": fid, "val_kid": kid}
