"""Pair files on disk: find them, split them, check them, read them. No TensorFlow.

The data scripts, ``colorize`` and the checks before training all use this module, so it
imports only numpy and Pillow and starts fast. The tf.data side is :mod:`.pipeline`.

A pair file is one RGB image of width = 2 x height: the colored illustration on one half and
its line-art sketch on the other (Kaggle "Anime Sketch Colorization Pair": color left, sketch
right, 1024x512).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
MAX_IMAGE_PIXELS = 8192 * 8192  # larger files are refused before decoding (a 2:1 pair of 8192x4096 passes)
VAL_FOLDER_NAMES = ("val", "validation")
CHECK_VERSION = 2  # part of each remembered verdict's key: a stricter check re-judges every file
_TF_READABLE_FORMATS = {"PNG", "JPEG", "MPO", "BMP"}  # MPO: JPEG written by some cameras


class DatasetError(ValueError):
    """A dataset folder or file that cannot be used, with a message naming it."""


@dataclasses.dataclass(frozen=True)
class BadFile:
    """A pair file that was rejected, and why."""

    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{printable(self.path)}: {self.problem}"


# --------------------------------------------------------------------------- discovery


OTHER_IMAGE_EXTENSIONS = (".webp", ".gif", ".tif", ".tiff", ".heic", ".avif")  # named when skipped


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (sorted, so runs are reproducible).

    Files of formats the pipeline cannot read (WebP, GIF, ...) and folders named like images are
    left out with one warning naming them, not silently.
    """
    entries = sorted(folder.iterdir())
    images = [p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    ignored = [
        p
        for p in entries
        if p.suffix.lower() in IMAGE_EXTENSIONS + OTHER_IMAGE_EXTENSIONS and p not in images
    ]
    if ignored:
        shown = ", ".join(p.name for p in ignored[:5]) + (
            f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
        )
        log.warning(
            "%s: left out %d entr%s that are not PNG/JPEG/BMP files (convert them to PNG): %s",
            folder,
            len(ignored),
            "y" if len(ignored) == 1 else "ies",
            shown,
        )
    return images


def iter_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files and folders (their images, sorted) into one list of image paths."""
    out: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            out.extend(list_images(entry))
        else:
            out.append(entry)
    return out


def printable(path: str | os.PathLike) -> str:
    """A path as text that prints anywhere: bytes that are not UTF-8 shown as ``\\xff``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_utf8(path: str | os.PathLike) -> bool:
    """Whether a path's name is valid UTF-8 (TensorFlow takes file names as UTF-8 strings)."""
    try:
        os.fsdecode(os.fsencode(path)).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def split_of(relative_name: str, val_fraction: float, seed: int = 0) -> str:
    """'train' or 'val' from a hash of the file's name: a file keeps its split when others are added."""
    digest = hashlib.sha1(os.fsencode(f"{seed}:{relative_name}")).digest()
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
    if not is_utf8(root.resolve()):
        raise DatasetError(
            f"{printable(root)}: folder name is not valid UTF-8 (TensorFlow reads names as UTF-8): rename it"
        )
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


# --------------------------------------------------------------------------- output names


def output_dir_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be (or become) an output folder, or None: checked before any work."""
    path = Path(path)
    if path.exists():
        return None if path.is_dir() else "exists and is not a folder"
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else f"{printable(parent)} is a file, not a folder"
    return None


def output_file_problem(path: str | os.PathLike) -> str | None:
    """Why a file cannot be written at ``path`` (a folder there, a file where a folder must be), or None."""
    path = Path(path)
    if path.is_dir():
        return "is a folder; give a file name"
    return output_dir_problem(path.parent)


def output_names(relative_paths: Sequence[str]) -> dict[str, str]:
    """Output file name (``<stem>.png``) for each relative path, unique within the run.

    Files in subfolders get the folder in the name (``a/b/x.jpg`` -> ``a__b__x.png``), and
    files that still clash (``x.png`` next to ``x.jpg``) keep their extension (``x_jpg.png``).
    """
    # Bytes that are not UTF-8 become "_": TensorFlow could not read an output named with them.
    base = {
        rel: printable("__".join(Path(rel).with_suffix("").parts)).replace("\\x", "_x")
        for rel in relative_paths
    }
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name.lower()] = counts.get(name.lower(), 0) + 1  # lower(): case-insensitive file systems
    names = {}
    for rel, name in base.items():
        if counts[name.lower()] > 1:
            name = f"{name}_{Path(rel).suffix.lower().lstrip('.')}"
        names[rel] = f"{name}.png"
    return names


def png_names(paths: Sequence[Path]) -> dict[Path, str]:
    """``<stem>.png`` for each input file; files whose stems clash get :func:`output_names` names.

    So ``colorize a.png a.jpg`` writes ``a_png.png`` and ``a_jpg.png``, and ``d1/x.png d2/x.png``
    writes ``d1__x.png`` and ``d2__x.png``, instead of one output overwriting the other.
    """
    stems = collections.Counter(path.stem.lower() for path in paths)  # lower(): case-insensitive file systems
    names = {path: f"{path.stem}.png" for path in paths}
    clashing = [path for path in paths if stems[path.stem.lower()] > 1]
    if clashing:
        resolved = [path.resolve() for path in clashing]
        common = Path(os.path.commonpath([path.parent for path in resolved]))
        relative = [path.relative_to(common).as_posix() for path in resolved]
        renamed = output_names(relative)
        names.update({path: renamed[rel] for path, rel in zip(clashing, relative)})
    return names


# --------------------------------------------------------------------------- checks


def check_image_file(
    path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS, for_tensorflow: bool = True
) -> tuple[str | None, tuple[int, int]]:
    """(problem or None, (width, height)) of an image file, judged by decoding all of it.

    Checksums first (Pillow's ``verify``), then a full decode: a file that passes the header scan
    but breaks mid-file (corrupt image data, a truncated JPEG) is caught here, named, and not
    hours later inside tf.data. Images above ``max_pixels`` are refused before decoding; with
    ``for_tensorflow``, so are BMPs that TensorFlow would decode without their colors (palette,
    1-bit: Pillow, which :func:`read_image_rgb` uses, decodes them right).
    """
    problem, dimensions, _ = _decode_checked(Path(path), max_pixels, for_tensorflow)
    return problem, dimensions


def _decode_checked(
    path: Path, max_pixels: int, for_tensorflow: bool
) -> tuple[str | None, tuple[int, int], Image.Image | None]:
    """(problem, (width, height), the decoded image when there is no problem): one decode for both uses."""
    try:
        size = path.stat().st_size
    except OSError as error:
        return f"cannot read file ({error.strerror or error})", (0, 0), None
    if not path.is_file():
        return "not a file", (0, 0), None
    if size == 0:
        return "zero-byte file", (0, 0), None
    if not is_utf8(path):
        return "file name is not valid UTF-8: rename the file", (0, 0), None
    image_format, dimensions, mode = None, (0, 0), ""
    try:
        with Image.open(path) as image:
            image_format, dimensions, mode = image.format, image.size, image.mode
            if dimensions[0] * dimensions[1] > max_pixels:
                return _too_large(dimensions, max_pixels), dimensions, None
            image.verify()
        with Image.open(path) as image:
            image.load()
    except UnidentifiedImageError:
        return "not an image (unrecognized file contents)", (0, 0), None
    except Image.DecompressionBombError as error:  # Pillow refuses it in open(), before we see its size
        pixels = re.search(r"\((\d+) pixels\)", str(error))
        return _too_large(dimensions, max_pixels, int(pixels.group(1)) if pixels else None), dimensions, None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        if image_format in ("JPEG", "MPO"):
            return f"truncated JPEG or corrupt JPEG data ({error})", dimensions, None
        return f"corrupt or truncated image ({error})", dimensions, None
    if image_format in ("JPEG", "MPO") and (problem := jpeg_truncation(path)):
        return problem, dimensions, None
    if for_tensorflow and image_format not in _TF_READABLE_FORMATS:
        return f"unsupported image format {image_format} (use PNG or JPEG)", dimensions, None
    if for_tensorflow and image_format == "BMP" and mode in ("P", "1"):
        kind = "palette" if mode == "P" else "1-bit"
        return f"{kind} BMP: TensorFlow decodes it without its colors; save it as PNG", dimensions, None
    return None, dimensions, image


def jpeg_truncation(path: Path) -> str | None:
    """'truncated JPEG ...' when libjpeg runs out of image data before the last scan line.

    Pillow and TensorFlow both fill the missing rest with gray and report success (a cut file
    with an end marker appended passes them); libjpeg only warns, and simplejpeg's ``strict``
    mode turns that warning into an error. Other libjpeg warnings (extraneous bytes before a
    marker, common in camera files) decode fine and are not refused.
    """
    try:
        simplejpeg.decode_jpeg(path.read_bytes(), strict=True)
    except ValueError as error:
        if "premature end" in str(error).lower():
            return f"truncated JPEG: image data ends early ({error}); the rest would decode as gray"
    return None


def _too_large(dimensions: tuple[int, int], max_pixels: int, pixels: int | None = None) -> str:
    width, height = dimensions
    size = f"{pixels:,} pixels" if pixels is not None else f"{width}x{height} pixels"
    limit = f"the limit of {max_pixels:,} (max_image_pixels / --max-image-pixels)"
    return f"image too large: {size}, more than {limit}"


def check_pair_file(path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS) -> str | None:
    """The problem with a pair file, or None when it is a decodable 2:1 image."""
    problem, (width, height) = check_image_file(path, max_pixels)
    if problem is None and width != 2 * height:
        problem = (
            f"not a pair image: {width}x{height}, expected width = 2 x height (color and sketch side by side)"
        )
    return problem


def scan_pair_files(
    paths: Sequence[Path],
    skip_bad: bool = False,
    max_pixels: int = MAX_IMAGE_PIXELS,
    verdicts: str | Path | None = None,
    progress: bool = True,
) -> tuple[list[Path], list[BadFile]]:
    """Check every file (in threads); raise naming the bad ones, or skip them if ``skip_bad``.

    ``verdicts``: a JSON file remembering each file's verdict by path, size and modification
    time, so a large folder is decoded once, not at every start.
    """
    remembered = _load_verdicts(verdicts)
    keys = {path: _verdict_key(path, max_pixels) for path in paths}
    todo = [path for path in paths if keys[path] is None or keys[path] not in remembered]
    workers = min(16, max(1, len(todo)))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        checked = pool.map(lambda path: check_pair_file(path, max_pixels), todo)
        found = dict(
            zip(
                todo,
                tqdm(
                    checked,
                    total=len(todo),
                    desc="checking pair files",
                    unit="file",
                    disable=not progress or len(todo) < 200,
                    file=sys.stderr,
                ),
            )
        )
    problems = {path: found[path] if path in found else remembered[keys[path]] for path in paths}
    if verdicts is not None and todo:
        remembered.update({keys[path]: found[path] for path in todo if keys[path] is not None})
        _save_verdicts(verdicts, remembered)
    good = [p for p in paths if problems[p] is None]
    bad = [BadFile(p, problems[p]) for p in paths if problems[p] is not None]
    if bad and not skip_bad:
        shown, more = bad_file_lines(bad[:10]), f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise DatasetError(
            f"{len(bad)} bad pair file(s) (pass skip_bad=True / --skip-bad to skip them):\n{shown}{more}"
        )
    return good, bad


def bad_file_lines(bad: Sequence[BadFile]) -> str:
    """One indented line per bad file, naming it and its problem."""
    return "\n".join(f"  {b}" for b in bad)


def _verdict_key(path: Path, max_pixels: int) -> str | None:
    """What a remembered verdict is valid for: the file's path, size, mtime and the pixel limit."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{max_pixels}|{CHECK_VERSION}"


def _load_verdicts(path: str | Path | None) -> dict[str, str | None]:
    if path is None:
        return {}
    try:
        loaded = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: check again
    return loaded if isinstance(loaded, dict) else {}


def _save_verdicts(path: str | Path, verdicts: dict[str, str | None]) -> None:
    """Write atomically, and never fail the run for a cache (a read-only cache folder is fine)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(verdicts))
        temporary.replace(path)
    except OSError:
        pass


# --------------------------------------------------------------------------- reading


def split_halves(pair: np.ndarray, sketch_side: str = "right") -> tuple[np.ndarray, np.ndarray]:
    """[H, 2H, C] pair array -> (sketch, color), each [H, H, C] (the tf.data twin is in .pipeline)."""
    half = pair.shape[1] // 2
    left, right = pair[:, :half], pair[:, half : 2 * half]
    return (right, left) if sketch_side == "right" else (left, right)


def open_image(path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """A decoded Pillow image with its EXIF orientation applied; DatasetError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    problem, _, image = _decode_checked(path, max_pixels, for_tensorflow=False)
    if problem:
        raise DatasetError(f"{path}: {problem}")
    return ImageOps.exif_transpose(image)


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
