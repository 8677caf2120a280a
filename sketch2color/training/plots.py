"""Pictures of a training run: loss curves, validation-metric curves, and the progression grid.

All drawn on standalone matplotlib ``Figure`` objects with the Agg canvas, never through
pyplot: switching pyplot's backend would stop the inline plots of the notebook or IPython
session that is training.

    losses.png                    losses per epoch (train solid, validation dashed)
    metrics.png                   the validation metrics per epoch
    progression.png               the same validation sketches colorized across epochs
    progression/samples.npz       those sketches and their ground truth (uint8 thumbnails)
    progression/epoch_NNNN.npz    the predictions of each epoch (survive a resume)
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sketch2color.runs import read_history

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


def _subplots(rows: int, columns: int, figsize: tuple[float, float]):
    """(figure, 2-D array of axes) on a standalone Figure (file-only, never registered with pyplot)."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(rows, columns, squeeze=False)


def plot_progression(run_dir: str | Path, out: str | Path, max_columns: int = 8) -> Path | None:
    """Grid: rows = the fixed samples; columns = sketch, epochs (at most ``max_columns``), ground truth."""
    loaded = load_progression(run_dir)
    if loaded is None or not loaded[2]:
        return None
    sketches, targets, by_epoch = loaded
    epochs = pick_columns(sorted(by_epoch), max_columns)
    columns = (
        [("sketch", sketches)] + [(f"epoch {e}", by_epoch[e]) for e in epochs] + [("ground truth", targets)]
    )
    rows = len(sketches)
    fig, axes = _subplots(rows, len(columns), figsize=(1.6 * len(columns), 1.6 * rows + 0.3))
    for column, (title, images) in enumerate(columns):
        for row in range(rows):
            axes[row, column].imshow(images[row])
            axes[row, column].axis("off")
        axes[0, column].set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    return Path(out)


def metric_history(history_csv: str | Path, current: tuple[int, dict] | None = None) -> dict[str, np.ndarray]:
    """Columns ``epoch`` (1-based) and the val metrics, one row per epoch (a resumed epoch's last row wins).

    ``current`` = (0-based epoch, logs): the epoch whose CSV row is not written yet.
    """
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


def plot_metric_curves(
    history_csv: str | Path, out: str | Path, current: tuple[int, dict] | None = None
) -> Path | None:
    """One panel per validation metric over epochs (history CSV plus the current epoch's logs)."""
    columns = metric_history(history_csv, current)
    names = [k for k in METRIC_KEYS + FID_KEYS if k in columns and np.isfinite(columns[k]).any()]
    if not names:
        return None
    fig, axes = _subplots(1, len(names), figsize=(3.6 * len(names), 3))
    for axis, name in zip(axes[0], names):
        finite = np.isfinite(columns[name])  # FID/KID exist only every N epochs
        axis.plot(columns["epoch"][finite], columns[name][finite], "o-", markersize=3)
        axis.set_title(METRIC_TITLES[name], fontsize=9)
        axis.set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    return Path(out)


def plot_loss_curves(history_csv: str | Path, out: str | Path) -> Path | None:
    """Loss curves over epochs (train solid, validation dashed) from the history CSV."""
    history = read_history(history_csv)
    if "epoch" not in history:
        return None
    epochs = np.asarray(history["epoch"]) + 1
    names = [k for k in history if k.endswith("loss") and not k.startswith("val_")]
    if not names:
        return None
    fig, axes = _subplots(1, len(names), figsize=(3.6 * len(names), 3))
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
