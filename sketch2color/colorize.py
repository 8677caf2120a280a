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
    parser.add_argument("--reference", metavar="IMAGE", help="palette models: take the 9-color K-means palette of this illustration")
    parser.add_argument("--palette", metavar="COLORS", help="palette models: explicit colors, e.g. '#f4c7a1,#2b2b6e,#ffffff' (repeated up to 9)")
    parser.add_argument("--hints", metavar="IMAGE", help="hint models: an image of color strokes (RGBA: opaque pixels are hints; RGB: non-white pixels), same aspect as the sketches")
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


def colorize_array(colorizer, sketch: np.ndarray, palette: np.ndarray | None = None, hint_image: np.ndarray | None = None) -> np.ndarray:
    """One uint8 [H, W, 3] sketch (+ uint8 [n, 3] palette, + hint image) -> uint8 [H, W, 3] colors."""
    import tensorflow as tf

    inputs = [tf.constant(sketch[None])]
    if int(colorizer.palette_colors.numpy()):
        if palette is None:
            raise ValueError("this model is conditioned on a palette: pass --reference IMAGE or --palette COLORS")
        inputs.append(tf.constant(palette[None].astype(np.uint8)))
    if bool(colorizer.uses_hints.numpy()):
        from sketch2color.conditioning import hints_from_image

        # Hint cells must have the size they had in training: build them at the scale the
        # model runs at (longer side = training size); the model resizes them with the sketch.
        height, width = sketch.shape[:2]
        scale = int(colorizer.image_size.numpy()) / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        hints = np.zeros(size + (4,), np.float32) if hint_image is None else hints_from_image(hint_image, size)
        inputs.append(tf.constant(hints[None], tf.float32))
    return colorizer.serve(*inputs)["color"][0].numpy()


def palette_from_args(reference: str | None, colors: str | None, n_colors: int) -> np.ndarray | None:
    """uint8 [n_colors, 3] from --palette or from the K-means palette of --reference."""
    if not n_colors:
        return None
    from sketch2color.conditioning import extract_palette, parse_palette
    from sketch2color.data import read_image_rgb

    if colors:
        palette = parse_palette(colors, n_colors)
    elif reference:
        palette = extract_palette(read_image_rgb(reference), n_colors)
    else:
        return None
    return np.clip(np.round((np.asarray(palette) + 1.0) * 127.5), 0, 255).astype(np.uint8)


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
    n_colors = int(colorizer.palette_colors.numpy())
    if n_colors and not (args.reference or args.palette):
        print("error: this model is conditioned on a color palette: pass --reference IMAGE or --palette COLORS", file=sys.stderr)
        return 2
    try:
        palette = palette_from_args(args.reference, args.palette, n_colors)
        hint_image = None
        if args.hints:
            from sketch2color.data import read_image_rgba

            hint_image = read_image_rgba(args.hints)
    except (DatasetError, ValueError) as error:
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
        Image.fromarray(colorize_array(colorizer, sketch, palette, hint_image)).save(out / f"{path.stem}.png")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    print(f"colorized {len(files) - len(failures)} of {len(files)} image(s) into {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
