"""Validation metrics during training: PSNR/SSIM/L1 every epoch, FID/KID every N, and their pictures.

:class:`MetricsCallback` adds ``val_psnr``, ``val_ssim``, ``val_l1`` (and ``val_fid``,
``val_kid`` when it has an Inception feature extractor) to each epoch's logs, so a CSVLogger
and TensorBoard placed *after* it in the callback list record them. It also redraws::

    metrics.png                        the metric curves over epochs
    progression.png                    the same validation sketches colorized across epochs
    progression/samples.npz   those sketches and their ground truth (uint8 thumbnails)
    progression/epoch_NNNN.npz  the predictions of each epoch (survive a resume)

Metric definitions (0..255 scale, SSIM settings, PSNR cap, FID protocol): see
:mod:`sketch2color.metrics`.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from sketch2color import metrics

log = logging.getLogger(__name__)

PROGRESSION_DIR = Path("progression")
METRIC_KEYS = ("val_psnr", "val_ssim", "val_l1")
FID_KEYS = ("val_fid", "val_kid")
METRIC_TITLES = {
    "val_psnr": "PSNR (dB, higher is better)",
    "val_ssim": "SSIM (higher is better)",
    "val_l1": "L1 per pixel-channel, 0..255 (lower is better)",
    "val_fid": "FID (lower is better)",
    "val_kid": "KID (lower is better)",
}


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
    :class:`sketch2color.metrics.InceptionFeatureExtractor` (or any callable images ->
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
            plot_progression(self.run_dir, self.run_dir / "progression.png", max_columns=self.progression_columns)
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
        return tuple(thumbnails(x[:count], self.thumbnail_size) for x in (inputs[..., :3], predictions, targets))

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


# --------------------------------------------------------------------------- progression files


def save_progression_epoch(run_dir: str | Path, epoch: int, sketches, predictions, targets) -> Path:
    """Store one epoch's predictions (and, when new or changed, the fixed sketches and targets)."""
    folder = Path(run_dir) / PROGRESSION_DIR
    folder.mkdir(parents=True, exist_ok=True)
    samples = folder / "samples.npz"
    sketches, targets = np.asarray(sketches, np.uint8), np.asarray(targets, np.uint8)
    existing = _load_npz(samples)
    if existing is None or not np.array_equal(existing["sketches"], sketches):
        stale = sorted(folder.glob("epoch_*.npz"))
        if existing is not None and stale:
            # Other sketches than before (the validation set changed): old columns would mislead.
            log.warning("progression samples changed; removing %d older progression file(s)", len(stale))
            for old in stale:
                old.unlink()
        _save_npz(samples, sketches=sketches, targets=targets)
    path = folder / f"epoch_{epoch:04d}.npz"
    _save_npz(path, predictions=np.asarray(predictions, np.uint8))
    return path


def load_progression(run_dir: str | Path):
    """(sketches, targets, {epoch: predictions}) saved under progression, or None if empty."""
    folder = Path(run_dir) / PROGRESSION_DIR
    samples = _load_npz(folder / "samples.npz")
    if samples is None:
        return None
    by_epoch = {}
    for path in sorted(folder.glob("epoch_*.npz")):
        match = re.fullmatch(r"epoch_(\d+)\.npz", path.name)
        predictions = _load_npz(path)
        # Files of an older, differently sized setup cannot share the grid: leave them out.
        if match and predictions is not None and predictions["predictions"].shape == samples["targets"].shape:
            by_epoch[int(match.group(1))] = predictions["predictions"]
    return samples["sketches"], samples["targets"], by_epoch


def _save_npz(path: Path, **arrays) -> None:
    """np.savez_compressed, atomically (a kill leaves the previous file)."""
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def _load_npz(path: Path) -> dict | None:
    """The arrays of an .npz file, or None when it is missing or unreadable."""
    try:
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError):
        return None


def pick_columns(epochs: list[int], max_columns: int) -> list[int]:
    """At most ``max_columns`` epochs, evenly spread, always keeping the first and the last."""
    if len(epochs) <= max_columns:
        return list(epochs)
    positions = np.unique(np.round(np.linspace(0, len(epochs) - 1, max_columns)).astype(int))
    return [epochs[i] for i in positions]


# --------------------------------------------------------------------------- pictures


def _pyplot():
    """pyplot's ``subplots``/``close`` on standalone Figures (file-only, Agg canvas).

    Not ``matplotlib.use("Agg")``: that would switch the backend of the notebook or IPython
    session that is training, and its inline plots would stop showing.
    """
    from matplotlib.figure import Figure

    class _FilePlots:
        @staticmethod
        def subplots(*args, figsize=None, **kwargs):
            fig = Figure(figsize=figsize)
            return fig, fig.subplots(*args, **kwargs)

        @staticmethod
        def close(fig):
            """Nothing to close: the figure was never registered with pyplot."""

    return _FilePlots


def plot_progression(run_dir: str | Path, out: str | Path, max_columns: int = 8) -> Path | None:
    """Grid: rows = the fixed samples; columns = sketch, epochs (at most ``max_columns``), ground truth."""
    loaded = load_progression(run_dir)
    if loaded is None or not loaded[2]:
        return None
    sketches, targets, by_epoch = loaded
    epochs = pick_columns(sorted(by_epoch), max_columns)
    columns = [("sketch", sketches)] + [(f"epoch {e}", by_epoch[e]) for e in epochs] + [("ground truth", targets)]
    plt = _pyplot()
    rows = len(sketches)
    fig, axes = plt.subplots(rows, len(columns), figsize=(1.6 * len(columns), 1.6 * rows + 0.3), squeeze=False)
    for column, (title, images) in enumerate(columns):
        for row in range(rows):
            axes[row, column].imshow(images[row])
            axes[row, column].axis("off")
        axes[0, column].set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return Path(out)


def metric_history(history_csv: str | Path, current: tuple[int, dict] | None = None) -> dict[str, np.ndarray]:
    """Columns ``epoch`` (1-based) and the val metrics, one row per epoch (a resumed epoch's last row wins).

    ``current`` = (0-based epoch, logs): the epoch whose CSV row is not written yet.
    """
    from sketch2color.callbacks import read_history

    history = read_history(history_csv)
    rows: dict[int, dict[str, float]] = {}
    for index, epoch in enumerate(history.get("epoch", [])):
        if not math.isnan(epoch):
            rows[int(epoch)] = {key: values[index] for key, values in history.items()}
    if current is not None:
        epoch, logs = current
        rows.setdefault(int(epoch), {}).update({k: _as_float(v) for k, v in logs.items()})
    epochs = sorted(rows)
    keys = [k for k in METRIC_KEYS + FID_KEYS if any(k in rows[e] for e in epochs)]
    columns = {"epoch": np.asarray(epochs, np.float64) + 1}
    for key in keys:
        columns[key] = np.asarray([rows[e].get(key, np.nan) for e in epochs], np.float64)
    return columns


def _as_float(value) -> float:
    """A log value as a float (NaN when it is not a number)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def plot_metric_curves(history_csv: str | Path, out: str | Path, current: tuple[int, dict] | None = None) -> Path | None:
    """One panel per validation metric over epochs (history CSV plus the current epoch's logs)."""
    columns = metric_history(history_csv, current)
    names = [k for k in METRIC_KEYS + FID_KEYS if k in columns and np.isfinite(columns[k]).any()]
    if not names:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3), squeeze=False)
    for axis, name in zip(axes[0], names):
        finite = np.isfinite(columns[name])  # FID/KID exist only every N epochs
        axis.plot(columns["epoch"][finite], columns[name][finite], "o-", markersize=3)
        axis.set_title(METRIC_TITLES[name], fontsize=9)
        axis.set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return Path(out)
