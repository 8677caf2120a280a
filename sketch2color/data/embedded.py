"""The embedded default dataset: procedural pairs written once into a cache folder and reused.

Without a dataset folder, training uses pairs drawn by ``sketch2color.data.synthetic``. They
are rendered once into ``$SKETCH2COLOR_CACHE`` (default ``~/.cache/sketch2color``), one folder
per setting, e.g. ``embedded-v1-s0-h512-n800-v80/`` with ``train/000000.png ...``, ``val/...``
and a ``DATASET.json`` marker that records the settings. A folder counts as the dataset only
when its marker matches and the file counts agree.

Writing is atomic: the files are generated in a temporary sibling folder (named after the
process and host) that is renamed into place at the end, so an interrupted run never leaves
something that looks complete, and two processes filling the same cache agree on the result.
Temporary folders of dead processes on this host are removed on the next run.

Typical use::

    root = ensure_embedded_dataset(n_train=800)      # cached <root>/train/*.png, <root>/val/*.png
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import socket
import uuid
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from sketch2color.data.synthetic import PAIR_FORMAT_VERSION, render_pair

MARKER_NAME = "DATASET.json"
# Recorded in the marker and named in errors; it labels the generator (its historical module
# name, before the package was split), it is not an import path: keep it so existing caches stay valid.
GENERATOR_NAME = "sketch2color.synthetic"
SPLITS = ("train", "val")
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # large fast files beat small slow ones here


def item_seed(seed: int, split: str, index: int) -> int:
    """The render seed of one dataset item; train seeds are even and val seeds odd, so they never overlap."""
    split_code = int.from_bytes(split.encode(), "little")
    state = int(np.random.SeedSequence([int(seed), split_code, int(index)]).generate_state(1, np.uint64)[0])
    return (state & ~1) | SPLITS.index(split)


def dataset_spec(n_train: int, n_val: int, seed: int, height: int) -> dict[str, int]:
    """The marker content that identifies a generated dataset."""
    return {
        "format_version": PAIR_FORMAT_VERSION,
        "n_train": int(n_train),
        "n_val": int(n_val),
        "seed": int(seed),
        "height": int(height),
    }


def is_complete_dataset(root: str | Path, spec: dict[str, int]) -> bool:
    """True when root holds a finished dataset matching spec (marker and file counts agree)."""
    root = Path(root)
    try:
        marker = json.loads((root / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or any(marker.get(key) != value for key, value in spec.items()):
        return False
    return all(_count_pngs(root / split) == spec[f"n_{split}"] for split in SPLITS)


def _count_pngs(folder: Path) -> int:
    """Number of .png files in a folder (0 if it does not exist)."""
    try:
        return sum(1 for name in os.listdir(folder) if name.endswith(".png"))
    except OSError:
        return 0


def write_dataset(
    root: str | Path, n_train: int, n_val: int, seed: int = 0, height: int = 512, progress: bool = True
) -> Path:
    """Write root/train/000000.png ... and root/val/... plus root/DATASET.json, atomically.

    Files are generated in a temporary sibling folder that is renamed into place at the end,
    so an interrupted run never leaves something that looks complete. Does nothing if root
    already holds this dataset; replaces an older dataset written by this function.
    """
    if n_train < 0 or n_val < 0 or seed < 0:
        raise ValueError(f"n_train, n_val and seed must be >= 0, got {n_train}, {n_val}, {seed}")
    root = Path(root).expanduser()
    spec = dataset_spec(n_train, n_val, seed, height)
    if is_complete_dataset(root, spec):
        return root
    _check_replaceable(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_tmp_dirs(root)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{socket.gethostname()}"
    try:
        _write_split_files(tmp, spec, progress, desc=f"generating {root.name}")
        (tmp / MARKER_NAME).write_text(json.dumps({**spec, "generator": GENERATOR_NAME}, indent=2) + "\n")
        _move_into_place(tmp, root, spec)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _write_split_files(folder: Path, spec: dict[str, int], progress: bool, desc: str) -> None:
    """Render and save every pair of both splits into folder/train and folder/val."""
    jobs = [(split, index) for split in SPLITS for index in range(spec[f"n_{split}"])]
    for split in SPLITS:
        (folder / split).mkdir(parents=True)
    # Threads overlap one pair's PNG encoding (which releases the GIL) with the next one's
    # drawing; each file depends only on its own seed, so the output is the same either way.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))
    try:
        futures = [pool.submit(_write_pair_file, folder, spec, split, index) for split, index in jobs]
        with tqdm(total=len(jobs), desc=desc, unit="pair", disable=not progress) as bar:
            for future in concurrent.futures.as_completed(futures):
                future.result()
                bar.update(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on errors or Ctrl-C: stop, do not finish the rest


def _write_pair_file(folder: Path, spec: dict[str, int], split: str, index: int) -> None:
    """Render one pair and write it as folder/<split>/<index>.png."""
    pair = render_pair(item_seed(spec["seed"], split, index), spec["height"])
    path = folder / split / f"{index:06d}.png"
    if not cv2.imwrite(str(path), cv2.cvtColor(pair, cv2.COLOR_RGB2BGR), PNG_PARAMS):
        raise OSError(f"{path}: could not write PNG")


def _check_replaceable(root: Path) -> None:
    """Refuse to replace a folder that is neither empty nor a dataset written by write_dataset."""
    if not root.exists():
        return
    if root.is_dir() and ((root / MARKER_NAME).exists() or not any(root.iterdir())):
        return
    raise FileExistsError(
        f"{root}: exists and is not a dataset written by {GENERATOR_NAME}; remove it or pick another folder"
    )


def _move_into_place(tmp: Path, root: Path, spec: dict[str, int]) -> None:
    """Rename the finished tmp folder to root, setting aside whatever was there."""
    old = None
    if root.exists() and any(root.iterdir()):
        old = root.parent / f".{root.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.replace(root, old)
    try:
        os.replace(tmp, root)
    except OSError:
        if not is_complete_dataset(root, spec):  # otherwise another process just finished the same dataset
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _remove_abandoned_tmp_dirs(root: Path) -> None:
    """Delete tmp folders next to root that were left by killed runs on this machine."""
    prefix = f".{root.name}.tmp-"
    for path in root.parent.glob(prefix + "*"):
        pid, _, rest = path.name[len(prefix) :].partition("-")  # "<pid>-<random>-<host>"
        host = rest.partition("-")[2]
        # A shared cache folder may be in use by another machine: only judge our own processes.
        if pid.isdigit() and host == socket.gethostname() and not _process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    """Whether a process with this id exists (assume yes where that cannot be checked)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_cache_dir() -> Path:
    """$SKETCH2COLOR_CACHE, or ~/.cache/sketch2color."""
    return Path(os.environ.get("SKETCH2COLOR_CACHE") or Path.home() / ".cache" / "sketch2color").expanduser()


def embedded_dataset_dir(
    cache_dir: str | Path | None = None, n_train: int = 800, n_val: int = 80, seed: int = 0, height: int = 512
) -> Path:
    """Where the embedded dataset with these settings lives, e.g. <cache>/embedded-v1-s0-h512-n800-v80."""
    base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return base / f"embedded-v{PAIR_FORMAT_VERSION}-s{seed}-h{height}-n{n_train}-v{n_val}"


def ensure_embedded_dataset(
    cache_dir: str | Path | None = None,
    n_train: int = 800,
    n_val: int = 80,
    seed: int = 0,
    height: int = 512,
    progress: bool = True,
) -> Path:
    """The embedded dataset root (with train/ and val/), generated on first use and reused afterwards."""
    root = embedded_dataset_dir(cache_dir, n_train, n_val, seed, height)
    spec = dataset_spec(n_train, n_val, seed, height)
    if is_complete_dataset(root, spec):
        return root
    if root.exists():  # a folder with our naming scheme that is not complete: ours to rebuild
        shutil.rmtree(root)
    return write_dataset(root, n_train, n_val, seed, height, progress)
