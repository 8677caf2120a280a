"""A disk that fills up under a training run: one line, nothing half-written left, and the same
command finishes the run once space is free (on a real small tmpfs; skipped without root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRAIN = [
    "-m", "sketch2color.train", "--embedded-train", "8", "--embedded-val", "4", "--image-size", "32",
    "--batch-size", "2", "--epochs", "2", "--steps-per-epoch", "3", "--metrics-images", "0",
    "--fid-every", "0", "--bn-recalibration-batches", "0", "--preview-samples", "1",
]  # fmt: skip


def train(run_dir: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, SKETCH2COLOR_CACHE=str(cwd / "cache"), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, *TRAIN, "--run-dir", str(run_dir)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_full_disk_stops_training_in_one_line_and_the_rerun_finishes(small_tmpfs, tmp_path):
    filler = small_tmpfs / "filler"
    left = 4 * 2**20  # room for the run folder, not for a checkpoint
    filler.write_bytes(bytes(shutil.disk_usage(small_tmpfs).free - left))
    run_dir = small_tmpfs / "run"
    full = train(run_dir, tmp_path)
    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr[-3000:]
    errors = [line for line in full.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "No space left on device" in errors[0], full.stderr[-3000:]
    assert str(run_dir) in errors[0] and "run the same command again" in errors[0]
    assert not [p.name for p in run_dir.rglob("*") if "_temp" in p.name or p.suffix == ".tmp"]
    filler.unlink()
    rerun = train(run_dir, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    rows = (run_dir / "history.csv").read_text().strip().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["0", "1"], rows
