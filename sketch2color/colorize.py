"""Colorize sketches with an exported model.

    python -m sketch2color.colorize INPUT... --model PATH --out DIR

INPUT is image files or folders (their PNG/JPEG/BMP files). Plain sketches of any size work;
a pair file (width = 2 x height, as in the training data) has its sketch half taken, unless
``--input-kind sketch`` says the file is a sketch as it is. PATH is an export folder, a
SavedModel folder, or a run directory (its ``export/``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sketch2color.colorize",
        description="Colorize sketches with an exported sketch2color model.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="sketch or pair image files, or folders of them")
    parser.add_argument("--model", required=True, help="export folder, SavedModel folder, or run directory")
    parser.add_argument("--out", required=True, help="output folder (created); outputs keep the input file names as .png")
    parser.add_argument(
        "--input-kind",
        choices=["auto", "sketch", "pair"],
        default="auto",
        help="'pair': take the sketch half of a pair file; 'auto': pair when width == 2 x height",
    )
    parser.add_argument("--sketch-side", choices=["left", "right"], default="right", help="sketch half of pair files")
    return parser.parse_args(argv)


def sketch_from_file(path: Path, input_kind: str = "auto", sketch_side: str = "right") -> np.ndarray:
    """The uint8 RGB sketch to colorize from a file (the sketch half of a pair file)."""
    from sketch2color.data import read_image_rgb

    image = read_image_rgb(path)
    height, width = image.shape[:2]
    is_pair = input_kind == "pair" or (input_kind == "auto" and width == 2 * height)
    if not is_pair:
        return image
    if width != 2 * height:
        from sketch2color.data import DatasetError

        raise DatasetError(f"{path}: --input-kind pair needs width = 2 x height, got {width}x{height}")
    half = width // 2
    return image[:, half:] if sketch_side == "right" else image[:, :half]


def colorize_array(colorizer, sketch: np.ndarray) -> np.ndarray:
    """One uint8 [H, W, 3] sketch -> uint8 [H, W, 3] colors."""
    import tensorflow as tf

    return colorizer.serve(tf.constant(sketch[None]))["color"][0].numpy()


def main(argv=None) -> int:
    args = parse_args(argv)
    from PIL import Image
    from tqdm import tqdm

    from sketch2color.data import DatasetError, iter_files
    from sketch2color.export import load_colorizer

    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        print(f"error: input not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = iter_files(args.inputs)
    if not files:
        print(f"error: no images in {', '.join(args.inputs)}", file=sys.stderr)
        return 2
    try:
        colorizer = load_colorizer(args.model)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failures = []
    for path in tqdm(files, desc="colorizing", unit="image", disable=len(files) < 2):
        try:
            sketch = sketch_from_file(path, args.input_kind, args.sketch_side)
        except DatasetError as error:
            failures.append(str(error))
            continue
        Image.fromarray(colorize_array(colorizer, sketch)).save(out / f"{path.stem}.png")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    print(f"colorized {len(files) - len(failures)} of {len(files)} image(s) into {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
