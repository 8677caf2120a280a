#!/usr/bin/env python
"""Build a sketch/color pair dataset from any folder of color illustrations.

    python data_scripts/make_pairs.py SRC_DIR OUT_DIR [--method xdog|canny|gray] [--size 512]
                                      [--val-fraction 0.1] [--seed 0] [--skip-bad]

Every image under SRC_DIR (png, jpg, jpeg, webp, bmp; searched recursively) is read as RGB,
center-cropped to a square, resized to SIZE x SIZE, and written as one pair file of
SIZE x 2*SIZE: the color image on the left and its extracted sketch on the right, the layout
of the Kaggle "anime-sketch-colorization-pair" data. Output goes to OUT_DIR/train/ or
OUT_DIR/val/, so ``python -m sketch2color.train --data OUT_DIR`` can use it directly.

The train/val split of a file depends only on (seed, its path relative to SRC_DIR), so adding
files later never moves an existing file to the other split.

Exit codes: 0 done, 2 bad input (missing or empty SRC_DIR, an unreadable image without
--skip-bad, bad arguments).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from sketch2color.data.files import (
    jpeg_truncation,
    output_dir_problem,
    output_names,
    pil_to_rgb,
    printable,
    split_of,
)
from sketch2color.data.sketch import SKETCH_METHODS, extract_sketch

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
MIN_SIZE = 16


class BadImageError(Exception):
    """An input file that cannot be used as an image; the message says why."""


class UsageError(Exception):
    """A problem with the command line or the source folder; the message says what to do."""


@dataclasses.dataclass
class Report:
    """What a run did: how many pairs went to each split, and which files were skipped."""

    train: int = 0
    val: int = 0
    skipped: list[tuple[Path, str]] = dataclasses.field(default_factory=list)


# --------------------------------------------------------------------------- files and splits


def find_images(src: Path, exclude: Path | None = None) -> list[Path]:
    """Image files under ``src`` (recursive, sorted), leaving out anything under ``exclude``."""
    excluded = exclude.resolve() if exclude is not None else None
    found = []
    for path in src.rglob("*"):
        if path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
            continue
        # OUT_DIR may sit inside SRC_DIR; without this a second run would eat its own output.
        if excluded is not None and excluded in path.resolve().parents:
            continue
        found.append(path)
    return sorted(found)


# --------------------------------------------------------------------------- images


def read_rgb(path: Path) -> np.ndarray:
    """Any supported image file -> uint8 RGB [H, W, 3]; raises BadImageError saying what is wrong.

    Gray and palette images become RGB, 16-bit images are scaled to 8 bits, transparency is
    composited on white (line art on a transparent layer has a white page behind it), and the
    EXIF orientation of photos and scans is applied.
    """
    try:
        size = path.stat().st_size
    except OSError as error:
        raise BadImageError(f"cannot read file ({error.strerror or error})") from None
    if size == 0:
        raise BadImageError("zero-byte file")
    try:
        with Image.open(path) as image:
            image.load()  # decode now, so truncated files fail here and not later
            # Pillow gray-fills a JPEG cut short even with an end marker appended: ask libjpeg.
            if image.format in ("JPEG", "MPO") and (problem := jpeg_truncation(path)):
                raise BadImageError(problem)
            image = ImageOps.exif_transpose(image)
            return pil_to_rgb(image)
    except UnidentifiedImageError:
        raise BadImageError("not an image (unrecognized file contents)") from None
    except Image.DecompressionBombError as error:
        raise BadImageError(f"image too large ({error})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise BadImageError(f"corrupt or truncated image ({error})") from None


def center_square(rgb: np.ndarray) -> np.ndarray:
    """The largest centered square of an image."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return rgb[top : top + side, left : left + side]


def resize_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize a square image to size x size: area averaging down (no aliasing), bicubic up."""
    if rgb.shape[0] == size:
        return rgb
    interpolation = cv2.INTER_AREA if rgb.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(rgb, (size, size), interpolation=interpolation)


def make_pair(rgb: np.ndarray, size: int, method: str = "xdog") -> np.ndarray:
    """uint8 RGB image -> uint8 pair [size, 2 * size, 3]: color left, sketch right."""
    color = resize_square(center_square(rgb), size)
    # The sketch is drawn at the output size so its lines are as thin as the real pairs' lines.
    sketch = extract_sketch(color, method)
    return np.concatenate([color, sketch], axis=1)


def write_png(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB image as PNG atomically (an interrupted run leaves no half-written file)."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(encoded.tobytes())
    os.replace(temporary, path)


# --------------------------------------------------------------------------- the run


def build_pairs(
    src: Path,
    out: Path,
    method: str = "xdog",
    size: int = 512,
    val_fraction: float = 0.1,
    seed: int = 0,
    skip_bad: bool = False,
    progress: bool = True,
) -> Report:
    """Write the pair dataset of every image under ``src`` to ``out``/{train,val}.

    Raises UsageError for a missing or empty ``src`` and BadImageError (naming the file) for an
    unusable image unless ``skip_bad``, in which case it is listed in the report instead.
    """
    src, out = Path(src), Path(out)
    if method not in SKETCH_METHODS:
        raise UsageError(
            f"unknown sketch method {method!r}; valid methods: {', '.join(sorted(SKETCH_METHODS))}"
        )
    if size < MIN_SIZE:
        raise UsageError(f"--size must be at least {MIN_SIZE}, got {size}")
    if not 0.0 <= val_fraction < 1.0:
        raise UsageError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if problem := output_dir_problem(out):
        raise UsageError(f"{printable(out)}: OUT_DIR {problem}")
    if not src.exists():
        raise UsageError(f"{src}: source folder does not exist")
    if not src.is_dir():
        raise UsageError(f"{src}: expected a folder of images, got a file")
    if out.resolve() == src.resolve():
        raise UsageError(f"OUT_DIR must be a different folder from SRC_DIR ({src})")
    files = find_images(src, exclude=out)
    if not files:
        raise UsageError(
            f"{src}: no images found (looked recursively for {', '.join(IMAGE_EXTENSIONS)} files)"
        )
    relative = [path.relative_to(src).as_posix() for path in files]
    names = output_names(relative)
    for split in ("train", "val"):
        (out / split).mkdir(parents=True, exist_ok=True)
    report = Report()
    for path, rel in tqdm(list(zip(files, relative)), desc="pairs", unit="img", disable=not progress):
        try:
            rgb = read_rgb(path)
        except BadImageError as error:
            if not skip_bad:
                raise BadImageError(f"{path}: {error}") from None
            report.skipped.append((path, str(error)))
            continue
        split = split_of(rel, val_fraction, seed)
        name = names[rel]
        write_png(out / split / name, make_pair(rgb, size, method))
        # A re-run with another seed or fraction must not leave the file in both splits.
        other = out / ("val" if split == "train" else "train") / name
        if other.exists():
            other.unlink()
        setattr(report, split, getattr(report, split) + 1)
    return report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="make_pairs.py",
        description=(
            "Build a sketch/color pair dataset (color left, sketch right, SIZE x 2*SIZE PNGs in "
            "OUT_DIR/train and OUT_DIR/val) from a folder of color illustrations."
        ),
        epilog="Train on the result with: python -m sketch2color.train --data OUT_DIR",
    )
    parser.add_argument(
        "src",
        metavar="SRC_DIR",
        type=Path,
        help="folder of color images (searched recursively for png/jpg/jpeg/webp/bmp)",
    )
    parser.add_argument(
        "out", metavar="OUT_DIR", type=Path, help="output folder; pairs go to OUT_DIR/train/ and OUT_DIR/val/"
    )
    parser.add_argument(
        "--method",
        choices=sorted(SKETCH_METHODS),
        default="xdog",
        help="how to draw the sketch: xdog (clean line art, default), canny (1 px edges), gray (luminance)",
    )
    parser.add_argument(
        "--size", type=int, default=512, help="side of each half in pixels (default 512, as the Kaggle pairs)"
    )
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="fraction of files that go to val/, chosen by a hash of each file's relative path (default 0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/val hash (default 0)")
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip unreadable or corrupt images and list them at the end, "
        "instead of stopping with exit code 2",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = parse_args(argv)
    try:
        report = build_pairs(
            args.src,
            args.out,
            method=args.method,
            size=args.size,
            val_fraction=args.val_fraction,
            seed=args.seed,
            skip_bad=args.skip_bad,
            progress=not args.quiet,
        )
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BadImageError as error:
        print(f"error: bad image {error}", file=sys.stderr)
        print("(pass --skip-bad to skip unreadable files and list them at the end)", file=sys.stderr)
        return 2
    total = report.train + report.val
    print(f"wrote {total} pair(s) to {args.out}: {report.train} train, {report.val} val")
    if report.skipped:
        print(f"skipped {len(report.skipped)} bad file(s):")
        for path, problem in report.skipped:
            print(f"  {printable(path)}: {problem}")
    if total == 0:
        print(f"error: no usable images in {args.src}", file=sys.stderr)
        return 2
    print(f"train with: python -m sketch2color.train --data {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
