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

from PIL import Image
from tqdm import tqdm

from sketch2color.data.files import (
    DatasetError,
    iter_files,
    output_dir_problem,
    png_names,
    printable,
    read_image_rgba,
)
from sketch2color.export import (
    ExportError,
    colorize_array,
    load_colorizer,
    palette_from_args,
    sketch_from_file,
)
from sketch2color.export.inference import DETAIL_MODES, conditioning_of, same_aspect


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sketch2color.colorize",
        description="Colorize sketches with an exported sketch2color model.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="sketch or pair image files, or folders of them"
    )
    parser.add_argument(
        "--model",
        required=True,
        help="export folder, SavedModel folder, run directory, or .keras generator file (safe mode)",
    )
    parser.add_argument(
        "--out", required=True, help="output folder (created); outputs keep the input file names as .png"
    )
    parser.add_argument(
        "--detail",
        choices=DETAIL_MODES,
        default="lines",
        help="'lines' (default): a sketch larger than the training size keeps its own lines at full "
        "resolution over the model's colors; 'none': the model's output scaled up as it is",
    )
    parser.add_argument(
        "--input-kind",
        choices=["auto", "sketch", "pair"],
        default="auto",
        help="'pair': take the sketch half of a pair file; 'auto': pair when width == 2 x height",
    )
    parser.add_argument(
        "--sketch-side", choices=["left", "right"], default="right", help="sketch half of pair files"
    )
    parser.add_argument(
        "--reference",
        metavar="IMAGE",
        help="palette models: take the 9-color K-means palette of this illustration",
    )
    parser.add_argument(
        "--palette",
        metavar="COLORS",
        help="palette models: explicit colors, e.g. '#f4c7a1,#2b2b6e,#ffffff' (repeated up to 9)",
    )
    parser.add_argument(
        "--hints",
        metavar="IMAGE",
        help="hint models: an image of color strokes (RGBA: opaque pixels are hints; "
        "RGB: non-white pixels), same aspect as the sketches",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        print(f"error: input not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = list(dict.fromkeys(iter_files(args.inputs)))  # a file named twice is colorized once
    if not files:
        print(f"error: no images in {', '.join(args.inputs)}", file=sys.stderr)
        return 2
    if problem := output_dir_problem(args.out):
        print(f"error: --out {printable(args.out)}: {problem}", file=sys.stderr)
        return 2
    try:
        colorizer = load_colorizer(args.model)
    except (FileNotFoundError, ExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    n_colors, uses_hints = conditioning_of(colorizer)
    if n_colors and not (args.reference or args.palette):
        print(
            "error: this model is conditioned on a color palette: pass --reference IMAGE or --palette COLORS",
            file=sys.stderr,
        )
        return 2
    ignored = {
        "--reference": (args.reference, n_colors, "palette"),
        "--palette": (args.palette, n_colors, "palette"),
        "--hints": (args.hints, uses_hints, "hints"),
    }
    for flag, (given, used, what) in ignored.items():
        if given and not used:
            print(f"warning: {flag} ignored: this model takes no {what}", file=sys.stderr)
    try:
        palette = palette_from_args(args.reference, args.palette, n_colors)
        hint_image = read_image_rgba(args.hints) if args.hints and uses_hints else None
    except DatasetError as error:  # names the file
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # a --palette the parser refused, or a reference K-means cannot use
        given = f"--palette {args.palette!r}" if args.palette else f"--reference {args.reference}"
        print(f"error: {given}: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = png_names(files)
    failures = []
    for path in tqdm(files, desc="colorizing", unit="image", disable=len(files) < 2):
        try:
            sketch = sketch_from_file(path, args.input_kind, args.sketch_side)
        except DatasetError as error:
            failures.append(str(error))
            continue
        if hint_image is not None and not same_aspect(hint_image.shape, sketch.shape):
            print(
                f"warning: {args.hints} is {hint_image.shape[1]}x{hint_image.shape[0]}, {path} is "
                f"{sketch.shape[1]}x{sketch.shape[0]}: the hints are stretched to the sketch",
                file=sys.stderr,
            )
        color = colorize_array(colorizer, sketch, palette, hint_image, args.detail)
        Image.fromarray(color).save(out / names[path])
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    print(f"colorized {len(files) - len(failures)} of {len(files)} image(s) into {out}")
    return 1 if failures else 0
