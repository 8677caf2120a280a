"""Pair files on disk: find them, split them, check them, read them. No TensorFlow.

The data scripts, ``colorize`` and the checks before training all use this module, so it
imports only numpy and Pillow and starts fast. The tf.data side is :mod:`.pipeline`.

A pair file is one RGB image of width = 2 x height: the colored illustration on one half and
its line-art sketch on the other (Kaggle "Anime Sketch Colorization Pair": color left, sketch
right, 1024x512).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
VAL_FOLDER_NAMES = ("val", "validation")
_TF_READABLE_FORMATS = {"PNG", "JPEG", "MPO", "BMP"}  # MPO: JPEG written by some cameras


class DatasetError(ValueError):
    """A dataset folder or file that cannot be used, with a message naming it."""


@dataclasses.dataclass(frozen=True)
class BadFile:
    """A pair file that was rejected, and why."""

    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


# --------------------------------------------------------------------------- discovery


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (sorted, so runs are reproducible)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def iter_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files and folders (their images, sorted) into one list of image paths."""
    out: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            out.extend(list_images(entry))
        else:
            out.append(entry)
    return out


def split_of(relative_name: str, val_fraction: float, seed: int = 0) -> str:
    """'train' or 'val' from a hash of the file's name: a file keeps its split when others are added."""
    digest = hashlib.sha1(f"{seed}:{relative_name}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "val" if position < val_fraction else "train"


def _kaggle_root(root: Path) -> Path | None:
    """The folder holding train/ (root itself, or one level down as in ``<root>/data/train``)."""
    if (root / "train").is_dir():
        return root
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        if (child / "train").is_dir():
            return child
    return None


def find_pair_files(root: str | Path, val_fraction: float = 0.1, seed: int = 0) -> dict[str, list[Path]]:
    """Pair files by split: the Kaggle ``train/`` + ``val/`` layout, or a flat folder split by hash."""
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"{root}: dataset folder does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root}: expected a dataset folder, got a file")
    base = _kaggle_root(root)
    if base is not None:
        train = list_images(base / "train")
        val_dir = next((base / n for n in VAL_FOLDER_NAMES if (base / n).is_dir()), None)
        if val_dir is not None:
            splits = {"train": train, "val": list_images(val_dir)}
        else:
            splits = _hash_split(train, base / "train", val_fraction, seed)
        where = base / "train"
    else:
        splits = _hash_split(list_images(root), root, val_fraction, seed)
        where = root
    if not splits["train"] and not splits["val"]:
        raise DatasetError(
            f"{where}: no pair images found (looked for {', '.join(IMAGE_EXTENSIONS)} files; "
            "expected <root>/train/*.png and <root>/val/*.png, or a flat folder of pair images)"
        )
    return splits


def _hash_split(files: Sequence[Path], folder: Path, val_fraction: float, seed: int) -> dict[str, list[Path]]:
    """Deterministic train/val split of a flat list of files."""
    splits: dict[str, list[Path]] = {"train": [], "val": []}
    for path in files:
        splits[split_of(path.relative_to(folder).as_posix(), val_fraction, seed)].append(path)
    return splits


# --------------------------------------------------------------------------- checks


def check_image_file(path: str | Path) -> tuple[str | None, tuple[int, int]]:
    """(problem or None, (width, height)) for an image file TensorFlow should decode.

    Reads headers and checksums only (Pillow's ``verify``), so it is much cheaper than a decode.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        return f"cannot read file ({error.strerror or error})", (0, 0)
    if size == 0:
        return "zero-byte file", (0, 0)
    try:
        with Image.open(path) as image:
            image_format, dimensions = image.format, image.size
            image.verify()
    except UnidentifiedImageError:
        return "not an image (unrecognized file contents)", (0, 0)
    except (OSError, SyntaxError, ValueError) as error:
        return f"corrupt or truncated image ({error})", (0, 0)
    if image_format not in _TF_READABLE_FORMATS:
        return f"unsupported image format {image_format} (use PNG or JPEG)", dimensions
    if image_format in ("JPEG", "MPO") and not _has_jpeg_end_marker(path):
        return "truncated JPEG (no end-of-image marker)", dimensions
    return None, dimensions


def check_pair_file(path: str | Path) -> str | None:
    """The problem with a pair file, or None when it is a decodable 2:1 image."""
    problem, (width, height) = check_image_file(path)
    if problem is None and width != 2 * height:
        problem = (
            f"not a pair image: {width}x{height}, expected width = 2 x height (color and sketch side by side)"
        )
    return problem


def _has_jpeg_end_marker(path: Path) -> bool:
    """Whether a JPEG ends with its EOI marker (Pillow's verify does not notice truncation)."""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 64))
        return b"\xff\xd9" in handle.read()


def scan_pair_files(paths: Sequence[Path], skip_bad: bool = False) -> tuple[list[Path], list[BadFile]]:
    """Check every file (in threads); raise naming the bad ones, or skip them if ``skip_bad``."""
    workers = min(16, max(1, len(paths)))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        problems = list(pool.map(check_pair_file, paths))
    good = [p for p, problem in zip(paths, problems) if problem is None]
    bad = [BadFile(p, problem) for p, problem in zip(paths, problems) if problem is not None]
    if bad and not skip_bad:
        shown = "\n".join(f"  {b}" for b in bad[:10])
        more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise DatasetError(
            f"{len(bad)} bad pair file(s) (pass skip_bad=True / --skip-bad to skip them):\n{shown}{more}"
        )
    return good, bad


# --------------------------------------------------------------------------- reading


def split_halves(pair: np.ndarray, sketch_side: str = "right") -> tuple[np.ndarray, np.ndarray]:
    """[H, 2H, C] pair array -> (sketch, color), each [H, H, C] (the tf.data twin is in .pipeline)."""
    half = pair.shape[1] // 2
    left, right = pair[:, :half], pair[:, half : 2 * half]
    return (right, left) if sketch_side == "right" else (left, right)


def open_image(path: str | Path) -> Image.Image:
    """A decoded Pillow image with its EXIF orientation applied; DatasetError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    problem, _ = check_image_file(path)
    if problem:
        raise DatasetError(f"{path}: {problem}")
    try:
        with Image.open(path) as image:
            image.load()  # decode now, so a file damaged past its header fails here, named
            return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as error:
        raise DatasetError(f"{path}: image too large ({error})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise DatasetError(f"{path}: corrupt or truncated image ({error})") from None


def pil_to_rgb(image: Image.Image) -> np.ndarray:
    """A loaded Pillow image of any mode -> uint8 RGB [H, W, 3], as the tf.data decoder does it.

    Gray is replicated, 16-bit is scaled to 8 bits, and transparency is composited over white
    (transparent line art has a white page behind it, not a black one).
    """
    if image.mode.startswith("I"):
        # 16-bit gray PNGs load as I;16 or I (ints holding 0..65535): scale, do not clip.
        # (16-bit RGB/RGBA PNGs already load as 8-bit RGB/RGBA, keeping the high byte.)
        values = np.asarray(image, dtype=np.float64)
        gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[:, :, 3:4] / 255.0
        rgb = rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def read_image_rgb(path: str | Path) -> np.ndarray:
    """Any PNG/JPEG/BMP file -> uint8 RGB [H, W, 3], with a clear error naming the file."""
    return pil_to_rgb(open_image(path))


def read_image_rgba(path: str | Path) -> np.ndarray:
    """An image file with its alpha channel, uint8 [H, W, 4] (hint images mark hints by opacity)."""
    return np.asarray(open_image(path).convert("RGBA"))


def read_pair(path: str | Path, sketch_side: str = "right") -> tuple[np.ndarray, np.ndarray]:
    """A pair file -> (sketch, color) uint8 arrays at full resolution."""
    problem = check_pair_file(path)
    if problem:
        raise DatasetError(f"{path}: {problem}")
    return split_halves(read_image_rgb(path), sketch_side)
