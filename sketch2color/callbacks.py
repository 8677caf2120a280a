"""Keras callbacks of a training run: checkpoints, preview pictures, throughput, loss curves."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sketch2color.models.blocks import all_layers


def display(image) -> np.ndarray:
    """A [-1, 1] image as float [0, 1] for matplotlib (``x * 0.5 + 0.5``)."""
    return np.clip(np.asarray(image, dtype=np.float32) * 0.5 + 0.5, 0.0, 1.0)


class RunCheckpoint:
    """Generator, discriminator, both optimizers and the epoch counter, in one tf.train checkpoint.

    ``tf.train.CheckpointManager`` writes the data files first and only then atomically
    rewrites its index, so a kill during a save leaves the previous checkpoint loadable.
    """

    def __init__(self, gan, directory: str | Path, keep: int = 3):
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.gan = gan
        parts = dict(generator=gan.generator, g_optimizer=gan.g_optimizer, epoch=self.epoch)
        if gan.discriminator is not None:  # no adversary in the reconstruction-only baseline
            parts.update(discriminator=gan.discriminator, d_optimizer=gan.d_optimizer)
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=keep)

    @property
    def step(self) -> int:
        """Generator updates so far (the optimizer's own counter, restored with it)."""
        return int(self.gan.g_optimizer.iterations.numpy())

    def save(self) -> str:
        """Write a checkpoint numbered by the global step."""
        return self.manager.save(checkpoint_number=self.step)

    def restore_latest(self) -> str | None:
        """Restore the newest checkpoint if there is one; returns its path."""
        latest = self.manager.latest_checkpoint
        if latest:
            # Optimizer slots must exist before restoring into them.
            self.gan.g_optimizer.build(self.gan.generator.trainable_variables)
            if self.gan.discriminator is not None:
                self.gan.d_optimizer.build(self.gan.discriminator.trainable_variables)
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        return latest


class CheckpointCallback(keras.callbacks.Callback):
    """Save every ``every_steps`` generator updates and at every epoch end."""

    def __init__(self, run_checkpoint: RunCheckpoint, every_steps: int):
        super().__init__()
        self.run_checkpoint = run_checkpoint
        self.every_steps = max(0, int(every_steps))

    def on_train_batch_end(self, batch, logs=None):
        if self.every_steps and self.run_checkpoint.step % self.every_steps == 0:
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
    norms = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        return 0
    dropouts = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Dropout)]
    momenta, rates = [layer.momentum for layer in norms], [layer.rate for layer in dropouts]
    for layer in dropouts:
        layer.rate = 0.0
    count = 0
    try:
        for count, (inputs, _) in enumerate(batches, start=1):
            for layer in norms:  # a running mean: batch k gets weight 1/k
                layer.momentum = (count - 1) / count
            model(inputs, training=True)  # eager, so the momentum set just above is the one used
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
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


def save_preview_grid(sketches, predictions, targets, path: str | Path, title: str = "") -> Path:
    """One row per sample: sketch | prediction | ground truth (inputs in [-1, 1])."""
    # A standalone Figure, not pyplot: switching pyplot to Agg would turn off inline plots
    # in the notebook or IPython session that is training.
    from matplotlib.figure import Figure

    rows = len(sketches)
    fig = Figure(figsize=(7.5, 2.5 * rows))
    axes = fig.subplots(rows, 3, squeeze=False)
    for row in range(rows):
        for column, (image, label) in enumerate(
            ((sketches[row], "sketch"), (predictions[row], "prediction"), (targets[row], "ground truth"))
        ):
            axes[row, column].imshow(display(image))
            axes[row, column].axis("off")
            if row == 0:
                axes[row, column].set_title(label)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    return path


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
        save_preview_grid(sketches, np.asarray(predictions, np.float32), self.targets, path, f"epoch {epoch + 1}")


def read_history(path: str | Path) -> dict[str, list[float]]:
    """The history CSV as columns of floats (empty cells become NaN)."""
    path = Path(path)
    if not path.exists():
        return {}
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            try:
                columns.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                columns.setdefault(key, []).append(float("nan"))
    return columns


def plot_loss_curves(history_csv: str | Path, out: str | Path) -> Path | None:
    """Loss curves over epochs (train solid, validation dashed) from the history CSV."""
    from matplotlib.figure import Figure  # not pyplot: leaves the session's backend alone

    history = read_history(history_csv)
    if "epoch" not in history:
        return None
    epochs = np.asarray(history["epoch"]) + 1
    names = [k for k in history if k.endswith("loss") and not k.startswith("val_")]
    if not names:
        return None
    fig = Figure(figsize=(3.6 * len(names), 3))
    axes = fig.subplots(1, len(names), squeeze=False)
    for axis, name in zip(axes[0], names):
        axis.plot(epochs, history[name], "o-", label="train", markersize=3)
        if f"val_{name}" in history:
            axis.plot(epochs, history[f"val_{name}"], "s--", label="validation", markersize=3)
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    return Path(out)


class LossCurvesCallback(keras.callbacks.Callback):
    """Redraws ``losses.png`` from the history CSV after each epoch (runs after the CSV logger)."""

    def __init__(self, history_csv: str | Path, out: str | Path):
        super().__init__()
        self.history_csv, self.out = Path(history_csv), Path(out)

    def on_epoch_end(self, epoch, logs=None):
        plot_loss_curves(self.history_csv, self.out)
