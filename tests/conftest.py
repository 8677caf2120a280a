"""Shared fixtures: small real pair files on disk, and the shared real-sample folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests never download (pretrained weights, datasets): every proxy is the discard port, where
# nothing listens, so a download attempt in this process or a child fails at once, as offline.
# Loopback stays direct for the tests that serve a file themselves.
DEAD_PROXY = "http://127.0.0.1:9"
for _variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ[_variable] = DEAD_PROXY
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "localhost,127.0.0.1"

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_PAIRS = REPO_ROOT.parent / "shared" / "data" / "anime_pairs"


def smooth_color_image(rng: np.random.Generator, size: int) -> np.ndarray:
    """A structured color image (blocks and a gradient), so geometry changes are measurable."""
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    image = np.kron(coarse, np.ones((size // 8, size // 8, 1), dtype=np.uint8))
    ramp = np.linspace(0, 60, size, dtype=np.float32)[None, :, None]
    return np.clip(image.astype(np.float32) * 0.75 + ramp, 0, 255).astype(np.uint8)


def gray_of(color: np.ndarray) -> np.ndarray:
    """Luminance of an RGB image replicated to 3 channels (a 'sketch' derived from the color)."""
    gray = (color.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round()
    return np.repeat(gray[..., None], 3, axis=-1).astype(np.uint8)


def write_pair(path: Path, color: np.ndarray, sketch: np.ndarray) -> Path:
    """Save color | sketch side by side as one PNG/JPEG (by suffix)."""
    from PIL import Image

    Image.fromarray(np.concatenate([color, sketch], axis=1)).save(path)
    return path


@pytest.fixture
def pair_folder(tmp_path: Path) -> Path:
    """A flat folder of 12 derived pairs (sketch = gray of color) at 128x64."""
    rng = np.random.default_rng(0)
    for i in range(12):
        color = smooth_color_image(rng, 64)
        write_pair(tmp_path / f"pair_{i:02d}.png", color, gray_of(color))
    return tmp_path


@pytest.fixture
def real_pairs() -> Path:
    """The shared real sample pairs; the test is skipped where the folder is absent."""
    if not REAL_PAIRS.is_dir():
        pytest.skip(f"{REAL_PAIRS} not present")
    return REAL_PAIRS


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 384 MB tmpfs (root only; skipped where mounting is not allowed): room for a few small runs."""
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=384m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)
